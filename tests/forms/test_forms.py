"""Published forms: immutable versions, and the cache that spares the database on every visit."""

import time

import sqlalchemy as sa

from listserver.models import Form
from tests.conftest import publish, stamp


def test_a_published_change_shows_after_the_cache_ttl(make_app, app):
    cached = make_app(form_cache_seconds=0.5)
    client = cached.test_client()
    assert "Get the list-building checklist" in client.get("/f/demo").text
    publish(app, {"slug": "demo", "name": "Demo", "title": "Winter letter", "lists": ["newsletter"]})
    assert "Get the list-building checklist" in client.get("/f/demo").text  # still the cached version
    time.sleep(0.6)
    assert "Winter letter" in client.get("/f/demo").text


def test_submissions_record_the_version_the_visitor_saw(app, client, session):
    token = stamp(client)
    publish(app, {"slug": "demo", "name": "Demo", "title": "Version two", "lists": ["newsletter"]})
    client.post("/f/demo", data={"email": "v2@example-shop.net", "_ts": token})
    form = session.scalar(sa.select(Form).where(Form.slug == "demo"))
    assert form.current_version.number == 2
    from listserver.models import ConsentRecord

    assert session.scalar(sa.select(ConsentRecord.form_version_id)) == form.current_version_id
