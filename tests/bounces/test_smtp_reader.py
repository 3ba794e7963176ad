"""What a stored SMTP refusal says: the same classifier as every bounce, the return path kept to name the email."""

import datetime as dt

import pytest

from listserver.bounces import intake, smtp
from listserver.extensions import db
from listserver.models import ReportKind, ReportSource

RETURN_PATH = "bounces+12-0123456789abcdef@localhost"
AT = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("stage, code, reply, kind, status", [
    ("RCPT", 550, "5.1.1 <pia@example-shop.net>: Recipient address rejected: User unknown", ReportKind.HARD, "5.1.1"),
    ("RCPT", 550, "5.7.1 Service unavailable; client [192.0.2.7] blocked using zen.spamhaus.org",
     ReportKind.OTHER, "5.7.1"),
    ("RCPT", 452, "4.2.2 Mailbox full", ReportKind.SOFT, "4.2.2"),
    # A 4xx that says "unknown user" is a server not sure yet: never hard.
    ("RCPT", 450, "4.1.1 <pia@example-shop.net>: Recipient address rejected: unverified address",
     ReportKind.SOFT, "4.1.1"),
    ("DATA", 554, "5.7.1 Message rejected as spam", ReportKind.OTHER, "5.7.1"),
    # A bare 550 whose words do not say the address is gone (servers say this for blocks too): in doubt.
    ("RCPT", 550, "Requested action not taken: mailbox unavailable", ReportKind.UNKNOWN, "550"),
])
def test_a_refusal_reads_as_the_classifier_says(stage, code, reply, kind, status):
    raw = smtp.record(smtp.Refusal(stage, code, reply, "pia@example-shop.net"), RETURN_PATH, AT)
    [report] = smtp.read(raw)
    assert (report.kind, report.status) == (kind, status)
    assert report.recipient == "pia@example-shop.net" and report.message_ref == RETURN_PATH
    assert report.occurred_at == AT and report.reason == f"{code} {reply}"


def test_a_stored_refusal_is_read_by_the_smtp_reader_and_counted_once(app, session):
    raw = smtp.record(smtp.Refusal("RCPT", 452, "4.2.2 Mailbox full", "pia@example-shop.net"), RETURN_PATH, AT)
    with app.app_context(), db.session() as s:
        assert intake.receive(s, [intake.Arrival(ReportSource.SMTP, "12.4xx", raw)] * 2) == 1
        assert intake.receive(s, [intake.Arrival(ReportSource.SMTP, "12.4xx", raw)]) == 0
        s.commit()
    assert intake.READERS[ReportSource.SMTP] is smtp.read
