"""Stored vocabularies: whatever today's flows write is a member of its enum, so the enums can be
published (webhooks, OpenAPI) as the whole list of what a reader may meet."""

import datetime as dt

import sqlalchemy as sa
from flask.cli import ScriptInfo

from listserver import create_app
from listserver.cli import main
from listserver.hygiene import jobs as hygiene_jobs
from listserver.models import (
    AuditAction,
    AuditEntry,
    ConsentMethod,
    ConsentRecord,
    Contact,
    EmailKind,
    Event,
    EventKind,
    OutboxMessage,
    Role,
    User,
)
from listserver.models._types import utcnow
from tests.conftest import SUBSCRIBER, contact_of, stamp

OTHER = "second@example-shop.net"


def run(app, runner, *args):
    result = runner.invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    return result.output


def live_a_little(app, client, runner, submit, deliver, inbox, subscriber, session):
    """The subscriber does what a subscriber can; a second person signs up by script and is erased."""
    token = subscriber["preferences"].rsplit("/", 1)[1]
    person = contact_of(session, SUBSCRIBER)
    lists = [str(s.list_id) for s in person.subscriptions]
    submit(SUBSCRIBER)  # again, with nothing left to confirm
    client.post(f"/preferences/{token}/topics", data={"topic": lists[:1], "frequency": "monthly"})
    client.post(f"/preferences/{token}/topics", data={"topic": lists, "frequency": "monthly"})
    client.post(f"/preferences/{token}/pause", data={"months": "1"})
    client.post(f"/preferences/{token}/resume")
    client.post(f"/preferences/{token}/profile", data={"first_name": "Pia-Maria"})
    client.post(f"/preferences/{token}/data")
    client.post(f"/preferences/{token}/erase")  # asked for, not followed: the erasure's email stays
    client.post("/preferences/new-link", data={"email": SUBSCRIBER})
    quiet_for_long_with_old_answers(app, client, session, person.id)
    deliver(app)
    [still_want] = [m for m in inbox.to(SUBSCRIBER) if m["X-Listserver-Kind"] == "repermission"]
    assert client.post(inbox.link(still_want, "keep")).status_code == 200
    [data_mail] = [m for m in inbox.to(SUBSCRIBER) if m["X-Listserver-Kind"] == "data_export"]
    assert client.post(inbox.link(data_mail, "data")).status_code == 200
    client.post(subscriber["unsubscribe"])  # the page's button
    client.post(subscriber["unsubscribe"], data={"List-Unsubscribe": "One-Click"})
    run(app, runner, "contacts", "export")
    run(app, runner, "contacts", "revoke-links", SUBSCRIBER)

    answer = client.post("/f/demo", json={"email": OTHER, "_ts": stamp(client)})
    assert answer.status_code == 200, answer.text
    client.post("/preferences/new-link", data={"email": OTHER})
    deliver(app)
    [link_mail] = [m for m in inbox.to(OTHER) if m["X-Listserver-Kind"] == "preferences_link"]
    client.post(inbox.link(link_mail, "preferences") + "/erase")
    deliver(app)
    [erase_mail] = [m for m in inbox.to(OTHER) if m["X-Listserver-Kind"] == "erase_request"]
    assert client.post(inbox.link(erase_mail, "erase")).status_code == 200

    for role in ("marketer", "viewer"):
        run(app, runner, "users", "create", f"{role}@example-shop.net", "--role", role,
            "--password", "a long enough password")


def quiet_for_long_with_old_answers(app, client, session, contact_id: int) -> None:
    """The hygiene run (with the data check on) finds the subscriber quiet for 200 days, their answers two years
    old, and a stranger's sign-up never confirmed: it asks both questions and purges the sign-up."""
    long_ago = utcnow() - dt.timedelta(days=730)
    session.execute(sa.update(Contact).where(Contact.id == contact_id).values(
        last_engaged_at=utcnow() - dt.timedelta(days=200),
        attribute_sources={"first_name": {"source": "preference_center", "at": long_ago.isoformat()}}))
    stale = client.post("/f/demo", json={"email": "never-confirmed@example-shop.net", "_ts": stamp(client)})
    assert stale.status_code == 200
    session.execute(sa.update(Contact).where(Contact.email_key == "never-confirmed@example-shop.net")
                    .values(updated_at=long_ago))
    tidy = create_app(app.config["SETTINGS"].replace(hygiene_data_check_months=12))
    try:
        with tidy.app_context():
            assert hygiene_jobs.run_rules().summary["purge"]["changed"] == 1
    finally:
        tidy.extensions["listserver.db"].engine.dispose()


def test_every_stored_event_kind_is_an_event_kind(app, client, runner, submit, deliver, inbox, subscriber, session):
    live_a_little(app, client, runner, submit, deliver, inbox, subscriber, session)
    kinds = set(session.scalars(sa.select(Event.kind)))
    assert kinds <= set(EventKind), kinds - set(EventKind)
    assert {EventKind.SUBMITTED, EventKind.CONFIRMED, EventKind.STATUS_CHANGED, EventKind.UNSUBSCRIBED,
            EventKind.SUBSCRIBED, EventKind.FREQUENCY_CHANGED, EventKind.PAUSED, EventKind.RESUMED,
            EventKind.PROFILE_UPDATED, EventKind.LINK_REQUESTED, EventKind.DATA_EXPORTED,
            EventKind.LINKS_REVOKED, EventKind.REPERMISSION_ASKED, EventKind.KEPT_SUBSCRIBED,
            EventKind.DATA_CHECK_ASKED, EventKind.PURGED} <= kinds


def test_every_stored_consent_method_is_a_consent_method(app, client, runner, submit, deliver, inbox, subscriber,
                                                          session):
    live_a_little(app, client, runner, submit, deliver, inbox, subscriber, session)
    methods = set(session.scalars(sa.select(ConsentRecord.method)))
    assert methods <= set(ConsentMethod), methods - set(ConsentMethod)
    assert {ConsentMethod.FORM, ConsentMethod.API, ConsentMethod.CONFIRMATION_LINK, ConsentMethod.PREFERENCE_CENTER,
            ConsentMethod.UNSUBSCRIBE_PAGE, ConsentMethod.REPERMISSION_LINK} <= methods
    # The timeline names the same methods as the consent records.
    in_events = {e.data["method"] for e in session.scalars(sa.select(Event)) if "method" in e.data}
    assert in_events <= set(ConsentMethod), in_events - set(ConsentMethod)


def test_every_stored_email_kind_is_an_email_kind(app, client, runner, submit, deliver, inbox, subscriber, session):
    live_a_little(app, client, runner, submit, deliver, inbox, subscriber, session)
    kinds = set(session.scalars(sa.select(OutboxMessage.kind)))
    assert kinds <= set(EmailKind), kinds - set(EmailKind)
    assert set(EmailKind) <= kinds  # every kind of email was sent once at least
    assert set(session.scalars(sa.select(OutboxMessage.template))) <= set(EmailKind)


def test_every_stored_role_is_a_role(app, client, runner, submit, deliver, inbox, subscriber, session):
    live_a_little(app, client, runner, submit, deliver, inbox, subscriber, session)
    run(app, runner, "users", "create", "admin@example-shop.net", "--password", "a long enough password")
    roles = set(session.scalars(sa.select(User.role)))
    assert roles == set(Role)


def test_every_audit_entry_is_an_audit_action_with_a_known_actor(app, client, runner, submit, deliver, inbox,
                                                                  subscriber, session):
    live_a_little(app, client, runner, submit, deliver, inbox, subscriber, session)
    entries = session.execute(sa.select(AuditEntry.actor, AuditEntry.action)).all()
    assert {action for _, action in entries} == set(AuditAction)
    assert {actor for actor, _ in entries} == {"cli", "subscriber"}
