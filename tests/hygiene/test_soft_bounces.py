"""Soft bounces clean an address only when they keep coming; blocks and policy bounces never clean anyone."""

import sqlalchemy as sa

from listserver.contacts import lifecycle
from listserver.models import Contact, ContactStatus, Event, EventKind, ReportKind, Suppression
from tests.hygiene.people import add_email, add_people, add_reports, ago, changed, run_hygiene, set_columns, statuses


def test_five_soft_bounces_over_two_weeks_clean_the_address(app, session):
    full, too_quick, too_few = add_people(app, 3, engaged_days_ago=100)
    add_reports(app, full, ReportKind.SOFT, [20, 15, 10, 5, 1])  # a mailbox full for three weeks
    add_reports(app, too_quick, ReportKind.SOFT, [9, 7, 5, 3, 1])  # five, but within 8 days
    add_reports(app, too_few, ReportKind.SOFT, [60, 40, 20, 1])  # over two months, but four
    run = run_hygiene(app)
    assert changed(run)["soft_bounces"] == 1
    assert statuses(session, [full, too_quick, too_few]) == ["cleaned", "subscribed", "subscribed"]
    [event] = session.scalars(sa.select(Event).where(Event.contact_id == full, Event.kind == EventKind.STATUS_CHANGED))
    assert event.data["old"] == "subscribed" and event.data["new"] == "cleaned"
    assert event.data["reason"] == "5 soft bounces over 14 days or more, with no delivery or engagement since the first"
    key = session.scalar(sa.select(Contact.email_key).where(Contact.id == full))
    assert session.scalar(sa.select(Suppression.reason).where(
        Suppression.email_hash == lifecycle.suppression_hash(key))) == "cleaned"


def test_retries_of_one_email_count_as_one_soft_bounce(app, session):
    """A provider reports each retry of a deferred email (Mailgun: a temporary failure per attempt):
    two emails that met a full mailbox are two soft bounces, however many attempts each took."""
    retried, five_emails = add_people(app, 2, engaged_days_ago=100)
    first, second = add_email(app, retried), add_email(app, retried)
    add_reports(app, retried, ReportKind.SOFT, [20, 19.9, 19.8], outbox_message_id=first)
    add_reports(app, retried, ReportKind.SOFT, [5, 4.9], outbox_message_id=second)
    for days in (20, 15, 10, 5, 1):
        add_reports(app, five_emails, ReportKind.SOFT, [days], outbox_message_id=add_email(app, five_emails))
    run_hygiene(app)
    assert statuses(session, [retried, five_emails]) == ["subscribed", "cleaned"]


def test_a_delivery_or_an_engagement_between_soft_bounces_starts_the_count_again(app, session):
    delivered, engaged, unrelated = add_people(app, 3, engaged_days_ago=100)
    for person in (delivered, engaged, unrelated):
        add_reports(app, person, ReportKind.SOFT, [30, 25, 20, 15, 10, 5, 1])
    set_columns(app, [delivered], last_delivered_at=ago(12))  # the mailbox took an email in between
    set_columns(app, [engaged], last_engaged_at=ago(12))  # they clicked in between
    run_hygiene(app)
    # After the delivery or the click: three soft bounces over nine days, not enough.
    assert statuses(session, [delivered, engaged, unrelated]) == ["subscribed", "subscribed", "cleaned"]


def test_a_policy_blocked_person_is_never_cleaned_by_the_soft_pass(app, session):
    """Blocks, spam and reputation refusals (OTHER) and what nobody could classify (UNKNOWN) are not
    the address's fault: however many arrive, over however long, the person stays."""
    blocked, doubtful, mixed = add_people(app, 3, engaged_days_ago=100)
    add_reports(app, blocked, ReportKind.OTHER, [60 - 2 * n for n in range(30)], domain="outlook.com", status="5.7.1")
    add_reports(app, doubtful, ReportKind.UNKNOWN, [50, 40, 30, 20, 10, 5, 1])
    add_reports(app, mixed, ReportKind.SOFT, [40, 30, 20, 10])  # four soft...
    add_reports(app, mixed, ReportKind.OTHER, [35, 25, 15, 5], status="4.7.0")  # ...and four blocks between them
    add_reports(app, mixed, ReportKind.IGNORED, [33, 23])  # auto-replies
    run = run_hygiene(app)
    assert changed(run)["soft_bounces"] == 0
    assert statuses(session, [blocked, doubtful, mixed]) == ["subscribed"] * 3
    assert session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0


def test_soft_bounces_clean_inactive_and_pending_people_too_but_leave_who_left_alone(app, session):
    inactive = add_people(app, 1, status=ContactStatus.INACTIVE, engaged_days_ago=300)[0]
    unsubscribed = add_people(app, 1, status=ContactStatus.UNSUBSCRIBED, engaged_days_ago=300)[0]
    complained = add_people(app, 1, status=ContactStatus.COMPLAINED, engaged_days_ago=300)[0]
    for person in (inactive, unsubscribed, complained):
        add_reports(app, person, ReportKind.SOFT, [30, 25, 20, 15, 10])
    run_hygiene(app)
    assert statuses(session, [inactive, unsubscribed, complained]) == ["cleaned", "unsubscribed", "complained"]
