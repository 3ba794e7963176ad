"""Junk at the submit endpoint: field errors or 4xx, never a 500, and nothing stored half-way."""

import json

import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from listserver.models import Contact
from tests.conftest import stamp

FIELD_NAMES = st.sampled_from(["email", "first_name", "_ts", "_hp", "_email_checked", "_use_suggestion",
                               "phone", "extra", "ümlaut", ""])
VALUES = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=12000),
    st.sampled_from(["<script>alert(1)</script>", "\x00", "a@b", "x" * 10_000 + "@example-shop.net",
                     "anna@gmial.com", "\u202eevil", "🙂@🙂.com", "O'Brien", "-"]),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | VALUES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
OK = {200, 400, 413, 422}
SLOW = hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])


@SLOW
@given(st.dictionaries(FIELD_NAMES, st.one_of(VALUES, st.lists(VALUES, max_size=3)), max_size=8))
def test_any_form_post_is_answered_politely(client, answers):
    answer = client.post("/f/demo", data={"_ts": stamp(client), **answers})
    assert answer.status_code in OK, answer.text[:500]


@SLOW
@given(st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=8) | JSON_VALUES)
def test_any_json_post_is_answered_with_json(client, body):
    if isinstance(body, dict) and "_ts" not in body:
        body = {**body, "_ts": stamp(client)}
    answer = client.post("/f/demo", data=json.dumps(body), content_type="application/json")
    assert answer.status_code in OK, answer.text[:500]
    assert answer.is_json


def test_ten_thousand_character_name_is_a_field_error(client, session):
    page = client.post("/f/demo", data={"email": "long@example-shop.net", "first_name": "A" * 10_000,
                                        "_ts": stamp(client)})
    assert page.status_code == 422 and "At most 30 characters." in page.text
    assert session.scalar(sa.select(sa.func.count(Contact.id))) == 0


def test_html_in_every_field_is_escaped_not_executed(client):
    evil = '"><script>alert(1)</script>'
    page = client.post("/f/demo", data={"email": evil, "first_name": evil, "_ts": stamp(client)})
    assert page.status_code == 422
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text or "&#34;&gt;&lt;script&gt;" in page.text


def test_oversized_body_is_refused_with_413(client):
    answer = client.post("/f/demo", data={"email": "big@example-shop.net", "first_name": "x" * 200_000})
    assert answer.status_code == 413 and "too large" in answer.text
    answer = client.post("/f/demo", json={"email": "x" * 200_000})
    assert answer.status_code == 413 and answer.json["error"] == "request_entity_too_large"


def test_invalid_utf8_is_a_field_error(client, session):
    body = b"email=caf%C3%A9%FF%FE@example-shop.net&first_name=%FF%FE%FD&_ts=" + stamp(client).encode()
    page = client.post("/f/demo", data=body, content_type="application/x-www-form-urlencoded")
    assert page.status_code == 422
    assert session.scalar(sa.select(sa.func.count(Contact.id))) == 0


def test_invalid_json_is_a_400_with_a_reason(client):
    answer = client.post("/f/demo", data=b'{"email": "\xff', content_type="application/json")
    assert answer.status_code == 400 and answer.json["error"] == "invalid_json"
    answer = client.post("/f/demo", data=b"[1, 2]", content_type="application/json")
    assert answer.status_code == 400 and answer.json["error"] == "invalid_json"


def test_missing_and_extra_fields(client):
    assert client.post("/f/demo", data={"_ts": stamp(client)}).status_code == 422
    answer = client.post("/f/demo", json={"_ts": stamp(client), "email": "extra@example-shop.net",
                                          "is_admin": True, "status": "subscribed"})
    assert answer.status_code == 200 and answer.json["status"] == "check_inbox"
