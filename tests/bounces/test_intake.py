"""Reports in, people's statuses out: stored once, read by the workers, applied as the rules say."""

import datetime as dt
import email.utils
import json
import threading

import pytest
import sqlalchemy as sa

from listserver import tokens
from listserver.bounces import intake
from listserver.extensions import db
from listserver.models import (
    ConsentRecord,
    Contact,
    DeliveryReport,
    EmailKind,
    Event,
    EventKind,
    OutboxMessage,
    ReportSource,
    Subscription,
    Suppression,
)
from tests.conftest import SUBSCRIBER, contact_of


def dsn(recipient: str, status: str, diagnostic: str, original_message_id: str, bounce_id: str) -> str:
    """A delivery status notification as Postfix writes one (RFC 3464)."""
    return f"""Return-Path: <>
Delivered-To: bounces@localhost
From: MAILER-DAEMON@mx.example-shop.net (Mail Delivery System)
To: bounces@localhost
Subject: Undelivered Mail Returned to Sender
Message-ID: <{bounce_id}@mx.example-shop.net>
Date: Tue, 1 Dec 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example-shop.net
Arrival-Date: Tue, 1 Dec 2026 09:59:58 +0000

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: {status}
Remote-MTA: dns; mail.example-shop.net
Diagnostic-Code: smtp; {diagnostic}

--B
Content-Type: text/rfc822-headers

From: listserver <noreply@localhost>
To: {recipient}
Subject: Here is what you asked for
Message-ID: {original_message_id}

--B--
"""


def complaint(recipient: str, original_message_id: str, report_id: str) -> str:
    """An abuse report as a mailbox provider's feedback loop sends one (RFC 5965)."""
    return f"""From: feedback@{report_id.partition("@")[2]}
To: bounces@localhost
Subject: complaint about message
Message-ID: <{report_id}>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="A"

--A
Content-Type: text/plain

This is an email abuse report.

--A
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Rcpt-To: {recipient}

--A
Content-Type: message/rfc822

From: listserver <noreply@localhost>
To: {recipient}
Subject: Here is what you asked for
Message-ID: {original_message_id}

Hello
--A--
"""


def message_id_of(session, kind: EmailKind) -> str:
    row = session.execute(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)).scalar_one()
    return f"<{row.idempotency_key}.{row.id}@localhost>"


def take_in(app, *arrivals) -> int:
    with app.app_context(), db.session() as s:
        stored = intake.receive(s, arrivals)
        s.commit()
        return stored


def bounce(session, status: str, diagnostic: str, *, kind=EmailKind.LEAD_MAGNET, bounce_id="b1"):
    raw = dsn(SUBSCRIBER, status, diagnostic, message_id_of(session, kind), bounce_id)
    return intake.Arrival(ReportSource.MAIL, f"<{bounce_id}@mx.example-shop.net>", raw)


def timeline(session, kind: EventKind) -> list[dict]:
    return [e.data for e in session.scalars(sa.select(Event).where(Event.kind == kind).order_by(Event.id))]


def test_a_hard_bounce_cleans_and_suppresses_the_address(app, subscriber, session, process_reports):
    assert take_in(app, bounce(session, "5.1.1", f"550 5.1.1 <{SUBSCRIBER}>: Recipient address rejected: "
                                                 "User unknown in virtual mailbox table")) == 1
    process_reports(app)
    contact = contact_of(session, SUBSCRIBER)
    assert contact.status == "cleaned" and contact.email_check == "undeliverable"
    assert session.scalar(sa.select(Suppression.reason)) == "cleaned"
    [bounced] = timeline(session, EventKind.BOUNCED)
    assert bounced["type"] == "hard" and bounced["status"] == "5.1.1" and bounced["source"] == "mail"
    assert SUBSCRIBER not in bounced["reason"] and "<address>" in bounced["reason"]
    assert timeline(session, EventKind.STATUS_CHANGED)[-1] == {"old": "subscribed", "new": "cleaned",
                                                                "reason": "hard bounce"}
    report = session.scalars(sa.select(DeliveryReport)).one()
    assert report.contact_id == contact.id and report.outbox_message_id is not None
    assert report.recipient_domain == "example-shop.net" and SUBSCRIBER not in report.reason


def test_a_policy_block_is_kept_but_never_held_against_the_person(app, subscriber, session, process_reports):
    take_in(app, bounce(session, "5.7.1", f"550 5.7.1 <{SUBSCRIBER}>: Recipient address rejected: "
                                          "Access denied. Sender IP blocked by policy (see spamhaus.org)"))
    process_reports(app)
    assert contact_of(session, SUBSCRIBER).status == "subscribed"
    assert session.scalar(sa.select(sa.func.count(Suppression.id))) == 0
    assert [e["type"] for e in timeline(session, EventKind.BOUNCED)] == ["other"]


def test_a_bounce_of_an_email_sent_before_they_engaged_cleans_nobody(app, subscriber, session, process_reports):
    # The confirmation went out, then they clicked its link; a late "no such user" for it is wrong.
    take_in(app, bounce(session, "5.1.1", "550 5.1.1 User unknown", kind=EmailKind.CONFIRMATION))
    process_reports(app)
    assert contact_of(session, SUBSCRIBER).status == "subscribed"
    assert [e["type"] for e in timeline(session, EventKind.BOUNCED)] == ["hard"]


def test_a_report_that_arrives_twice_counts_once(app, subscriber, session, process_reports):
    arrival = bounce(session, "4.2.2", "452 4.2.2 Mailbox full")
    assert take_in(app, arrival, arrival) == 1
    assert take_in(app, arrival) == 0
    process_reports(app)
    assert [e["type"] for e in timeline(session, EventKind.BOUNCED)] == ["soft"]
    assert contact_of(session, SUBSCRIBER).status == "subscribed"


def test_a_complaint_unsubscribes_from_everything_and_suppresses(app, subscriber, session, process_reports):
    arf = complaint(SUBSCRIBER, message_id_of(session, EmailKind.LEAD_MAGNET), "arf1@hotmail.example")
    take_in(app, intake.Arrival(ReportSource.MAIL, "<arf1@hotmail.example>", arf))
    process_reports(app)
    contact = contact_of(session, SUBSCRIBER)
    assert contact.status == "complained"
    assert {s.status for s in contact.subscriptions} == {"unsubscribed"}
    assert session.scalar(sa.select(Suppression.reason)) == "complained"
    withdrawn = session.scalars(sa.select(ConsentRecord.method).where(ConsentRecord.action == "withdrawn")).all()
    assert withdrawn == ["provider", "provider"]
    assert len(timeline(session, EventKind.COMPLAINED)) == 1


def test_junk_is_kept_as_unknown_and_does_not_hold_up_the_rest(app, subscriber, session, process_reports):
    take_in(app, intake.Arrival(ReportSource.MAIL, "junk", "\x00\xff not a message at all \ud800"[:30]),
            bounce(session, "5.1.1", "550 5.1.1 User unknown"))
    process_reports(app)
    kinds = dict(session.execute(sa.select(DeliveryReport.external_id, DeliveryReport.kind)).all())
    assert kinds["junk"] == "unknown"
    assert contact_of(session, SUBSCRIBER).status == "cleaned"
    assert session.scalar(sa.select(sa.func.count()).select_from(DeliveryReport)
                          .where(DeliveryReport.processed_at.is_(None))) == 0


def test_a_worker_killed_half_way_applies_nothing_and_the_next_applies_once(app, subscriber, session,
                                                                           process_reports):
    take_in(app, bounce(session, "5.1.1", "550 5.1.1 User unknown"))
    with app.app_context(), db.session() as s:
        assert intake.process(s, app.config["SETTINGS"]) == 1
        s.rollback()  # the worker died before its commit
    assert contact_of(session, SUBSCRIBER).status == "subscribed"
    process_reports(app)
    process_reports(app)
    assert contact_of(session, SUBSCRIBER).status == "cleaned"
    assert len(timeline(session, EventKind.BOUNCED)) == 1
    assert len([e for e in timeline(session, EventKind.STATUS_CHANGED) if e["new"] == "cleaned"]) == 1


def test_two_workers_at_once_read_each_report_once(app, subscriber, session, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time; nothing can run at once")
    arrivals = [bounce(session, "4.2.2", "452 4.2.2 Mailbox full", bounce_id=f"b{n}") for n in range(40)]
    take_in(app, *arrivals)
    start = threading.Barrier(2)

    def work():
        with app.app_context(), db.session() as s:
            start.wait()
            while intake.process(s, app.config["SETTINGS"], limit=5):
                s.commit()

    threads = [threading.Thread(target=work) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(timeline(session, EventKind.BOUNCED)) == 40
    assert contact_of(session, SUBSCRIBER).status == "subscribed"


def test_a_report_for_an_address_we_do_not_know_is_kept_without_a_contact(app, subscriber, session,
                                                                           process_reports):
    take_in(app, intake.Arrival(ReportSource.MAIL, "<x@mx>", dsn(
        "stranger@example-shop.net", "5.1.1", "550 5.1.1 User unknown", "<not-ours@elsewhere>", "x")))
    process_reports(app)
    report = session.scalars(sa.select(DeliveryReport)).one()
    assert report.kind == "hard" and report.contact_id is None
    assert session.scalar(sa.select(sa.func.count(Contact.id)).where(Contact.status == "cleaned")) == 0
    assert session.scalar(sa.select(sa.func.count(Subscription.id)).where(Subscription.status == "active")) == 2


def test_a_made_up_bounce_mailed_to_us_cleans_nobody(app, subscriber, session, process_reports):
    # Anyone can mail our bounce address. Without our return path or our email's Message-ID, a
    # "no such user" about somebody is kept but acts on nobody.
    forged = dsn(SUBSCRIBER, "5.1.1", "550 5.1.1 User unknown", "<made-up@attacker.example>", "f1")
    take_in(app, intake.Arrival(ReportSource.MAIL, "<f1@mx>", forged))
    ours = message_id_of(session, EmailKind.LEAD_MAGNET)  # <32 hex digits.outbox id@domain>
    guessed = dsn(SUBSCRIBER, "5.1.1", "550 5.1.1 User unknown", "<" + "0" * 32 + ours[33:], "f2")
    padded = dsn(SUBSCRIBER, "5.1.1", "550 5.1.1 User unknown", "<0000" + ours[1:], "f3")
    take_in(app, intake.Arrival(ReportSource.MAIL, "<f3@mx>", padded))
    take_in(app, intake.Arrival(ReportSource.MAIL, "<f2@mx>", guessed))
    process_reports(app)
    assert contact_of(session, SUBSCRIBER).status == "subscribed"
    assert session.scalars(sa.select(DeliveryReport.contact_id)).all() == [None, None, None]
    assert timeline(session, EventKind.BOUNCED) == []


def test_a_bounce_to_our_return_path_names_the_email_without_reading_the_rest(app, subscriber, session,
                                                                               process_reports):
    # The embedded default sends from localhost: its return path has no dot in the domain.
    row = session.execute(sa.select(OutboxMessage).where(OutboxMessage.kind == EmailKind.LEAD_MAGNET)).scalar_one()
    return_path = tokens.return_path(row.id, app.config["SETTINGS"])
    assert return_path.endswith("@localhost")
    raw = dsn(SUBSCRIBER, "5.1.1", "550 5.1.1 User unknown", "<not-in-the-headers@elsewhere>", "v1")
    raw = raw.replace("Delivered-To: bounces@localhost", f"Delivered-To: {return_path}")
    take_in(app, intake.Arrival(ReportSource.MAIL, "<v1@mx>", raw))
    process_reports(app)
    assert contact_of(session, SUBSCRIBER).status == "cleaned"
    assert session.scalar(sa.select(DeliveryReport.outbox_message_id)) == row.id


def test_a_bounce_of_a_forwarded_copy_is_not_about_the_persons_address(app, subscriber, session,
                                                                        process_reports):
    # Our email reached the address, which forwards to a dead mailbox elsewhere: the DSN names that one.
    raw = dsn("old-team@elsewhere.example", "5.1.1", "550 5.1.1 User unknown",
              message_id_of(session, EmailKind.LEAD_MAGNET), "fw1")
    take_in(app, intake.Arrival(ReportSource.MAIL, "<fw1@mx>", raw))
    process_reports(app)
    assert contact_of(session, SUBSCRIBER).status == "subscribed"
    report = session.scalars(sa.select(DeliveryReport)).one()
    assert report.kind == "hard" and report.outbox_message_id is not None and report.contact_id is None


def delivery(session, when: str, event_id: str) -> intake.Arrival:
    event = {"type": "delivery", "email": SUBSCRIBER, "timestamp": when,
             "message_id": message_id_of(session, EmailKind.LEAD_MAGNET)}
    return intake.Arrival(ReportSource.WEBHOOK, event_id, json.dumps(event))


def test_a_delivery_before_the_bounce_may_be_of_the_bounced_email_itself(app, subscriber, session,
                                                                         process_reports):
    # The receiving server took the email after we sent it, then bounced it (a DSN dated later).
    took = delivery(session, dt.datetime.now(dt.UTC).isoformat(), "d1")
    later = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60))
    returned = bounce(session, "5.1.1", "550 5.1.1 User unknown")
    returned = intake.Arrival(returned.source, returned.external_id,
                              returned.raw.replace("Date: Tue, 1 Dec 2026 10:00:00 +0000", f"Date: {later}"))
    take_in(app, took, returned)
    process_reports(app)
    assert contact_of(session, SUBSCRIBER).status == "cleaned"


def test_a_delivery_after_the_bounce_shows_the_address_works(app, subscriber, session, process_reports):
    take_in(app, delivery(session, dt.datetime.now(dt.UTC).isoformat(), "d2"),
            bounce(session, "5.1.1", "550 5.1.1 User unknown"))
    process_reports(app)
    assert contact_of(session, SUBSCRIBER).status == "subscribed"


def test_a_bounce_without_a_date_keeps_what_it_says(app, subscriber, session, process_reports):
    # No Date header: the time it arrived stands in, and nothing else of the report is lost.
    arrival = bounce(session, "5.1.1", f"550 5.1.1 <{SUBSCRIBER}>: User unknown")
    undated = intake.Arrival(arrival.source, arrival.external_id,
                             arrival.raw.replace("Date: Tue, 1 Dec 2026 10:00:00 +0000\n", ""))
    assert "Date:" not in undated.raw.split("\n\n")[0]
    take_in(app, undated)
    process_reports(app)
    assert contact_of(session, SUBSCRIBER).status == "cleaned"
    [bounced] = timeline(session, EventKind.BOUNCED)
    assert bounced["type"] == "hard" and bounced["status"] == "5.1.1" and "<address>" in bounced["reason"]
    report = session.scalars(sa.select(DeliveryReport)).one()
    assert report.recipient_domain == "example-shop.net" and report.occurred_at is not None


def test_bounces_of_an_email_from_before_she_engaged_and_a_later_one_together_clean_nobody(
        app, subscriber, session, process_reports):
    # In doubt, she stays: her click came after one of the bounced emails left.
    take_in(app, bounce(session, "5.1.1", "550 5.1.1 User unknown", kind=EmailKind.CONFIRMATION, bounce_id="b1"),
            bounce(session, "5.1.1", "550 5.1.1 User unknown", kind=EmailKind.LEAD_MAGNET, bounce_id="b2"))
    process_reports(app)
    assert contact_of(session, SUBSCRIBER).status == "subscribed"
    assert [e["type"] for e in timeline(session, EventKind.BOUNCED)] == ["hard", "hard"]


def test_a_forged_report_beside_a_genuine_one_of_the_same_email_is_not_believed(app, subscriber, session,
                                                                                process_reports):
    # A real "mailbox full" to our signed return path, and in the same batch a made-up complaint
    # naming that email's outbox id with a wrong key: the first does not vouch for the second.
    row = session.execute(sa.select(OutboxMessage).where(OutboxMessage.kind == EmailKind.LEAD_MAGNET)).scalar_one()
    genuine = dsn(SUBSCRIBER, "4.2.2", "452 4.2.2 Mailbox full", "<gone@elsewhere>", "g1").replace(
        "Delivered-To: bounces@localhost", f"Delivered-To: {tokens.return_path(row.id, app.config['SETTINGS'])}")
    forged = complaint(SUBSCRIBER, f"<{'0' * 32}.{row.id}@localhost>", "forged@attacker.example")
    take_in(app, intake.Arrival(ReportSource.MAIL, "<forged@attacker.example>", forged),
            intake.Arrival(ReportSource.MAIL, "<g1@mx>", genuine))
    process_reports(app)
    assert contact_of(session, SUBSCRIBER).status == "subscribed"
    assert [e["type"] for e in timeline(session, EventKind.BOUNCED)] == ["soft"]
    assert timeline(session, EventKind.COMPLAINED) == []
