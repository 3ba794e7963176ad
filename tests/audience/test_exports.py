"""Every export is on the audit trail from the moment it starts: once, even if it is cut short."""

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.cli import ScriptInfo

from listserver.cli import main
from listserver.extensions import db
from listserver.models import AuditEntry, Contact, ContactStatus, MailingList, Subscription, SubscriptionStatus
from listserver.web.api.views import PAGE_SIZE


def mailable_people(app, count: int) -> None:
    """`count` subscribers of the newsletter, written straight into the tables (exports only read them)."""
    addresses = [f"reader-{n}@example-shop.net" for n in range(count)]
    with app.app_context(), db.session() as session:
        newsletter = session.scalar(sa.select(MailingList.id).where(MailingList.key == "newsletter"))
        session.execute(sa.insert(Contact), [{"email": a, "email_key": a, "status": ContactStatus.SUBSCRIBED}
                                             for a in addresses])
        ids = session.scalars(sa.select(Contact.id).where(Contact.email_key.in_(addresses))).all()
        session.execute(sa.insert(Subscription), [{"contact_id": i, "list_id": newsletter,
                                                   "status": SubscriptionStatus.ACTIVE} for i in ids])
        session.commit()


def exports_on_record(session) -> list[tuple[str, dict]]:
    entries = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "export").order_by(AuditEntry.id))
    return [(entry.actor, entry.detail) for entry in entries]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs a device that is always full")
def test_an_export_cut_short_after_its_first_rows_is_on_record(app, runner, session):
    mailable_people(app, 300)  # far more rows than one write buffer holds
    result = runner.invoke(main, ["contacts", "export", "--output", "/dev/full"],
                           obj=ScriptInfo(create_app=lambda: app))
    # The disk is full: the first rows filled the buffer and could not be written, the rest never were.
    assert isinstance(result.exception, OSError), result.output
    assert exports_on_record(session) == [("cli", {"list": None, "rows": 300})]


def test_paging_through_the_api_is_one_export_on_record_from_its_first_page(app, client, runner, session):
    mailable_people(app, PAGE_SIZE + 1)
    made = runner.invoke(main, ["tokens", "create", "crm"], obj=ScriptInfo(create_app=lambda: app))
    token = made.output.strip()
    auth = {"Authorization": f"Bearer {token}"}
    first = client.get("/api/v1/contacts?list=newsletter", headers=auth).json
    assert len(first["contacts"]) == PAGE_SIZE
    walk = (f"api:{token[:10]}", {"list": "newsletter", "rows": PAGE_SIZE + 1})
    assert exports_on_record(session) == [walk]  # on record from the first page, before the rest is read
    second = client.get(f"/api/v1/contacts?list=newsletter&after={first['next_after']}", headers=auth).json
    assert len(second["contacts"]) == 1 and second["next_after"] is None
    assert exports_on_record(session) == [walk]
    client.get("/api/v1/contacts", headers=auth)  # a new walk from the first page is a new export
    assert exports_on_record(session) == [walk, (walk[0], {"list": None, "rows": PAGE_SIZE + 1})]


def test_a_walk_begun_past_the_first_page_is_on_record_too(app, client, runner, session):
    mailable_people(app, 3)
    made = runner.invoke(main, ["tokens", "create", "crm"], obj=ScriptInfo(create_app=lambda: app))
    token = made.output.strip()
    auth = {"Authorization": f"Bearer {token}"}
    first = min(session.scalars(sa.select(Contact.id)))
    # A script that skips the first page (any cursor will do) still leaves a trace of what it took.
    page = client.get(f"/api/v1/contacts?list=newsletter&after={first}", headers=auth).json
    assert len(page["contacts"]) == 2
    walk = (f"api:{token[:10]}", {"list": "newsletter", "rows": 2})
    assert exports_on_record(session) == [walk]
    client.get(f"/api/v1/contacts?list=newsletter&after={first + 1}", headers=auth)  # reading on: the same walk
    assert exports_on_record(session) == [walk]
    client.get(f"/api/v1/contacts?after={first}", headers=auth)  # everyone, not the newsletter: another export
    assert exports_on_record(session) == [walk, (walk[0], {"list": None, "rows": 2})]
