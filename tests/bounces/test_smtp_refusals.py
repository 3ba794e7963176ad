"""Our own sends refused by the receiving server: a refusal is a report, read by the same rules as any bounce."""

import datetime as dt
import json
import threading

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from listserver.contacts import queries
from listserver.extensions import db
from listserver.mail import outbox
from listserver.models import (
    DeliveryReport,
    EmailKind,
    Event,
    EventKind,
    OutboxMessage,
    OutboxStatus,
    ReportSource,
    Suppression,
)
from listserver.models._types import utcnow
from listserver.tokens import read_return_path
from tests.conftest import SUBSCRIBER, contact_of, free_port


class RefusingServer:
    """A receiving server on loopback that answers RCPT or DATA as a real MTA does when it refuses."""

    def __init__(self):
        self.rcpt_answer: str | None = None
        self.data_answer: str | None = None
        self.received = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_answer:
            return self.data_answer
        with self.lock:
            self.received.append(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture(scope="module")
def refusing_controller():
    controller = Controller(RefusingServer(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def refusing(refusing_controller, make_app, subscriber):
    """The server, and an app that sends through it, with the subscriber's next email queued."""
    server = refusing_controller.handler
    server.rcpt_answer = server.data_answer = None
    server.received.clear()
    app = make_app(smtp_port=refusing_controller.port)
    with app.app_context(), db.session() as session:
        outbox.queue_email(session, queries.find_contact(session, SUBSCRIBER), EmailKind.PREFERENCES_LINK, context={})
        session.commit()
    return server, app


def the_email(session) -> OutboxMessage:
    session.expire_all()
    return session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == EmailKind.PREFERENCES_LINK)).one()


def reports(session) -> list[DeliveryReport]:
    session.expire_all()
    return session.scalars(sa.select(DeliveryReport).order_by(DeliveryReport.id)).all()


def bounced(session) -> list[dict]:
    return [e.data for e in session.scalars(sa.select(Event).where(Event.kind == EventKind.BOUNCED))]


def test_no_such_user_at_rcpt_cleans_the_address(refusing, deliver, session, process_reports):
    server, app = refusing
    server.rcpt_answer = f"550 5.1.1 <{SUBSCRIBER}>: Recipient address rejected: User unknown in virtual mailbox table"
    deliver(app)
    email = the_email(session)
    assert email.status == OutboxStatus.FAILED and email.last_error.startswith("550 ")
    assert [r.source for r in reports(session)] == [ReportSource.SMTP]
    process_reports(app)
    contact = contact_of(session, SUBSCRIBER)
    assert contact.status == "cleaned"
    assert session.scalar(sa.select(Suppression.reason)) == "cleaned"
    [report] = reports(session)
    assert (report.kind, report.status, report.outbox_message_id, report.contact_id) == \
        ("hard", "5.1.1", email.id, contact.id)
    [event] = bounced(session)
    assert event["type"] == "hard" and event["source"] == "smtp" and SUBSCRIBER not in event["reason"]
    # The stored refusal names the email by its return path, as a bounce to it would.
    assert read_return_path(json.loads(report.raw)["return_path"], app.config["SETTINGS"]) == email.id


def test_a_policy_block_at_rcpt_is_kept_and_never_held_against_the_person(refusing, deliver, session,
                                                                           process_reports):
    server, app = refusing
    server.rcpt_answer = ("550 5.7.1 Service unavailable; Client host [192.0.2.7] blocked using zen.spamhaus.org; "
                          "https://www.spamhaus.org/query/ip/192.0.2.7")
    deliver(app)
    assert the_email(session).status == OutboxStatus.FAILED
    process_reports(app)
    assert contact_of(session, SUBSCRIBER).status == "subscribed"
    assert session.scalar(sa.select(sa.func.count(Suppression.id))) == 0
    assert [(r.kind, r.status) for r in reports(session)] == [("other", "5.7.1")]
    assert [e["type"] for e in bounced(session)] == ["other"]


def test_mailbox_full_at_rcpt_is_a_soft_bounce_retried_and_counted_once_per_email(refusing, deliver, session,
                                                                                  process_reports):
    server, app = refusing
    server.rcpt_answer = "452 4.2.2 <pia@example-shop.net>: Recipient address rejected: Mailbox full"
    deliver(app)
    email = the_email(session)
    assert email.status == OutboxStatus.QUEUED and email.attempts == 1 and email.next_attempt_at > utcnow()
    for _ in range(2):  # the retries meet the same full mailbox
        session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == email.id)
                        .values(next_attempt_at=utcnow() - dt.timedelta(seconds=1)))
        deliver(app)
    assert the_email(session).attempts == 3
    process_reports(app)
    assert [(r.kind, r.status) for r in reports(session)] == [("soft", "4.2.2")]
    assert contact_of(session, SUBSCRIBER).status == "subscribed"

    server.rcpt_answer = None  # room again: the next retry goes through
    session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == email.id)
                    .values(next_attempt_at=utcnow() - dt.timedelta(seconds=1)))
    deliver(app)
    assert the_email(session).status == OutboxStatus.SENT and server.received == [[SUBSCRIBER]]


def test_a_refusal_after_data_is_a_report_too_and_a_4xx_there_is_only_retried(refusing, deliver, session,
                                                                              process_reports):
    server, app = refusing
    server.data_answer = "451 4.7.1 Greylisted, please try again in 5 minutes"
    deliver(app)
    assert the_email(session).status == OutboxStatus.QUEUED and reports(session) == []

    server.data_answer = "554 5.7.1 Message rejected as spam by content filter"
    session.execute(sa.update(OutboxMessage).values(next_attempt_at=utcnow() - dt.timedelta(seconds=1)))
    deliver(app)
    assert the_email(session).status == OutboxStatus.FAILED
    process_reports(app)
    assert [(r.kind, r.status) for r in reports(session)] == [("other", "5.7.1")]
    assert contact_of(session, SUBSCRIBER).status == "subscribed"
