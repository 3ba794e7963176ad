"""The sunset: one "still want our letters?" email after 180 quiet days; no answer in 30 makes a person
inactive (out of exports, not suppressed); the button or a new double opt-in brings them back."""

import csv
import io

import sqlalchemy as sa
from flask.cli import ScriptInfo

from listserver.cli import main
from listserver.extensions import db
from listserver.models import (
    ConsentMethod, ConsentRecord, Contact, ContactStatus, EmailKind, Event, EventKind, OutboxMessage, OutboxStatus,
    Suppression,
)
from listserver.models._types import utcnow
from tests.conftest import SUBSCRIBER, contact_of
from tests.hygiene.people import (
    add_people, ago, changed, emails_of, events_of, run_hygiene, set_columns, status_of, statuses,
)


def contact(session, contact_id: int) -> Contact:
    session.expire_all()
    return session.get(Contact, contact_id)


def exported(app, runner) -> list[str]:
    result = runner.invoke(main, ["contacts", "export"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    return [row["email"] for row in csv.DictReader(io.StringIO(result.output))]


def make_inactive(app, contact_id: int, deliver) -> None:
    """Quiet for 200 days, asked (the email goes out), and no answer in 31."""
    set_columns(app, [contact_id], last_engaged_at=ago(200))
    assert changed(run_hygiene(app))["sunset_ask"] == 1
    deliver(app)
    set_columns(app, [contact_id], repermission_asked_at=ago(31))
    assert changed(run_hygiene(app))["sunset_inactive"] == 1


def test_no_engagement_for_180_days_brings_one_repermission_email(app, client, deliver, inbox, session):
    quiet, never_engaged, recent, paused = add_people(app, 4, engaged_days_ago=200)
    set_columns(app, [never_engaged], last_engaged_at=None)  # confirmed a year ago, never clicked since
    set_columns(app, [recent], last_engaged_at=ago(100))
    set_columns(app, [paused], paused_until=ago(-20))  # asked for a break: no email while it lasts
    people = [quiet, never_engaged, recent, paused]

    assert changed(run_hygiene(app))["sunset_ask"] == 2
    assert changed(run_hygiene(app))["sunset_ask"] == 0  # asked once, not every day
    assert emails_of(session, people, EmailKind.REPERMISSION) == {quiet: 1, never_engaged: 1, recent: 0, paused: 0}
    assert events_of(session, people, EventKind.REPERMISSION_ASKED) == {quiet: 1, never_engaged: 1, recent: 0,
                                                                         paused: 0}
    assert statuses(session, people) == ["subscribed"] * 4

    deliver(app)
    [email] = inbox.to(contact(session, quiet).email)
    assert email["Subject"] == "Still want our letters?"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = email.get_body(preferencelist=("html",)).get_content()
    assert "Keep me subscribed" in html and "/keep/" in html
    keep = inbox.link(email, "keep")

    page = client.get(keep)  # what a mail scanner does: nothing changes
    assert page.status_code == 200 and "<form method=\"post\">" in page.text and "Keep me subscribed" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert contact(session, quiet).repermission_asked_at is not None

    kept = client.post(keep)
    assert kept.status_code == 200 and "You stay subscribed" in kept.text
    person = contact(session, quiet)
    assert person.repermission_asked_at is None and person.last_engaged_at > ago(1 / 24)
    assert client.post(keep).status_code == 200  # pressed twice: one answer on the timeline
    assert events_of(session, [quiet], EventKind.KEPT_SUBSCRIBED) == {quiet: 1}
    renewed = session.scalars(sa.select(ConsentRecord).where(ConsentRecord.contact_id == quiet,
                                                             ConsentRecord.method == ConsentMethod.REPERMISSION_LINK))
    assert [(r.action.value, r.ip) for r in renewed] == [("confirmed", "127.0.0.1")]

    # A month later: who answered stays, who did not is inactive, and nobody is asked again.
    set_columns(app, [quiet, never_engaged], repermission_asked_at=ago(31))
    set_columns(app, [quiet], repermission_asked_at=None)
    run = run_hygiene(app)
    assert changed(run)["sunset_inactive"] == 1 and changed(run)["sunset_ask"] == 0
    assert statuses(session, people) == ["subscribed", "inactive", "subscribed", "subscribed"]
    [event] = session.scalars(sa.select(Event).where(Event.contact_id == never_engaged,
                                                     Event.kind == EventKind.STATUS_CHANGED))
    assert event.data == {"old": "subscribed", "new": "inactive",
                          "reason": "no answer and no engagement 30 days after the re-permission email"}


def test_engaging_after_the_question_is_an_answer_too(app, session):
    clicked = add_people(app, 1, engaged_days_ago=200)[0]
    run_hygiene(app)
    set_columns(app, [clicked], repermission_asked_at=ago(40), last_engaged_at=ago(35))  # clicked in a campaign
    assert changed(run_hygiene(app))["sunset_inactive"] == 0
    assert status_of(session, clicked) == ContactStatus.SUBSCRIBED


def test_nobody_is_made_inactive_for_not_answering_a_question_that_never_reached_them(app, deliver, session):
    waiting, refused, reached = add_people(app, 3, engaged_days_ago=200)
    assert changed(run_hygiene(app))["sunset_ask"] == 3
    with app.app_context(), db.session() as s:  # what the outbox records of a relay's answers
        s.execute(sa.update(OutboxMessage).where(OutboxMessage.contact_id == waiting)  # 451: tried again later
                  .values(attempts=5, next_attempt_at=ago(-1), last_error="451 4.3.0 try again later"))
        s.execute(sa.update(OutboxMessage).where(OutboxMessage.contact_id == refused)  # refused for good: a block
                  .values(status=OutboxStatus.FAILED, attempts=1, last_error="554 5.7.1 blocked"))
        s.commit()
    deliver(app)
    set_columns(app, [waiting, refused, reached], repermission_asked_at=ago(31))
    assert changed(run_hygiene(app))["sunset_inactive"] == 1
    assert statuses(session, [waiting, refused, reached]) == ["subscribed", "subscribed", "inactive"]


def test_inactive_people_leave_exports_unsuppressed_and_the_button_brings_them_back(app, client, runner, deliver,
                                                                                   inbox, subscriber, session):
    person = contact_of(session, SUBSCRIBER)
    paused, active = add_people(app, 2)
    set_columns(app, [paused], paused_until=ago(-20))
    paused_email, active_email = (contact(session, i).email for i in (paused, active))
    assert sorted(exported(app, runner)) == sorted([SUBSCRIBER, active_email])

    make_inactive(app, person.id, deliver)
    assert status_of(session, person.id) == ContactStatus.INACTIVE
    assert exported(app, runner) == [active_email]  # out of exports; paused ones stay out, the rest stay in
    assert session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0  # not suppressed

    [email] = [m for m in inbox.to(SUBSCRIBER) if m["X-Listserver-Kind"] == "repermission"]
    assert client.post(inbox.link(email, "keep")).status_code == 200
    assert status_of(session, person.id) == ContactStatus.SUBSCRIBED
    assert sorted(exported(app, runner)) == sorted([SUBSCRIBER, active_email])
    assert paused_email not in exported(app, runner)
    back = session.scalars(sa.select(Event).where(Event.contact_id == person.id, Event.kind == EventKind.STATUS_CHANGED)
                           .order_by(Event.id)).all()[-1]
    assert back.data == {"old": "inactive", "new": "subscribed", "reason": "repermission_link"}


def test_an_inactive_person_comes_back_by_a_new_double_opt_in(app, client, deliver, inbox, submit, subscriber,
                                                            session):
    person = contact_of(session, SUBSCRIBER)
    make_inactive(app, person.id, deliver)
    inbox.messages.clear()

    assert submit(SUBSCRIBER).status_code == 200
    assert status_of(session, person.id) == ContactStatus.INACTIVE  # signing up alone proves nothing
    deliver(app)
    [confirmation] = inbox.to(SUBSCRIBER)
    assert confirmation["X-Listserver-Kind"] == "confirmation"  # not "you are already subscribed"
    assert client.post(inbox.link(confirmation, "confirm")).status_code == 200
    back = contact_of(session, SUBSCRIBER)
    assert back.status == ContactStatus.SUBSCRIBED and back.last_engaged_at > ago(1 / 24)
    assert sorted(s.status.value for s in back.subscriptions) == ["active", "active"]
    assert changed(run_hygiene(app)) == {"soft_bounces": 0, "sunset_inactive": 0, "sunset_ask": 0, "purge": 0}


def test_a_dead_keep_link_gets_the_friendly_page_and_changes_nothing(app, make_app, client, deliver, inbox, session):
    quiet = add_people(app, 1, engaged_days_ago=200)[0]
    run_hygiene(app)
    deliver(app)
    keep = inbox.link(inbox.to(contact(session, quiet).email)[0], "keep")
    preferences = inbox.link(inbox.to(contact(session, quiet).email)[0], "preferences")
    tampered = keep[:-3] + ("aaa" if not keep.endswith("aaa") else "bbb")
    as_keep = "/keep/" + preferences.rsplit("/", 1)[1]  # a genuine token of another purpose
    for url in (tampered, as_keep, "/keep/" + "x" * 5000, "/keep/%C3%A9t%C3%A9"):
        for method in (client.get, client.post):
            answer = method(url)
            assert answer.status_code == 404 and "This link does not work" in answer.text, url
            assert 'name="email"' in answer.text  # offers a fresh link
    expired = make_app(preferences_token_days=-1).test_client()
    for method in (expired.get, expired.post):
        answer = method(keep)
        assert answer.status_code == 410 and "This link has expired" in answer.text
    assert contact(session, quiet).repermission_asked_at is not None
    assert events_of(session, [quiet], EventKind.KEPT_SUBSCRIBED) == {quiet: 0}


def test_the_button_does_not_bring_back_someone_who_left(app, client, deliver, inbox, session):
    left = add_people(app, 1, engaged_days_ago=200)[0]
    run_hygiene(app)
    deliver(app)
    [email] = inbox.to(contact(session, left).email)
    keep = inbox.link(email, "keep")
    client.post(email["List-Unsubscribe"].strip("<>"), data={"List-Unsubscribe": "One-Click"})
    answer = client.post(keep)
    assert answer.status_code == 409 and "You are not subscribed" in answer.text
    assert client.post(keep, json={}).json["error"] == "not_subscribed"
    assert status_of(session, left) == ContactStatus.UNSUBSCRIBED


def test_the_repermission_email_is_not_sent_to_someone_who_left_before_it_went_out(app, client, deliver, inbox,
                                                                                    session):
    left = add_people(app, 1, engaged_days_ago=200)[0]
    run_hygiene(app)
    set_columns(app, [left], status=ContactStatus.UNSUBSCRIBED, updated_at=utcnow())
    deliver(app)
    assert inbox.to(contact(session, left).email) == []
