"""Bounce mail read as the MTAs and providers write it: DSNs, abuse reports, plain-text bounces, auto-replies."""

import datetime as dt
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from listserver.bounces import messages
from listserver.models import ReportKind

FIXTURES = Path(__file__).parent / "messages"
EXPECTED = yaml.safe_load((FIXTURES / "expected.yaml").read_text(encoding="utf-8"))


def listed(value, count):
    return value if isinstance(value, list) else [value] * count


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_message_reads_as_the_person_behind_it_would_want(name):
    expected = EXPECTED[name]
    reports = messages.read((FIXTURES / f"{name}.eml").read_text(encoding="utf-8"))
    kinds = listed(expected["kind"], 1)
    assert [r.kind.value for r in reports] == kinds
    assert [r.recipient and r.recipient.lower() for r in reports] == listed(expected.get("recipient"), len(kinds))
    if "status" in expected:
        assert reports[0].status == expected["status"]
    if "message_ref" in expected:
        assert {r.message_ref for r in reports} == {expected["message_ref"]}
    assert all(len(r.reason) <= messages.REASON_LIMIT for r in reports)


def test_the_fixture_set_is_mostly_the_bounces_that_must_not_clean():
    kinds = [kind for expected in EXPECTED.values() for kind in listed(expected["kind"], 1)]
    assert len(EXPECTED) >= 40
    assert set(kinds) >= {"hard", "soft", "other", "complaint", "ignored", "unknown"}
    assert kinds.count("other") >= 25  # blocks, listings, policy, rate limits: the costly mistakes


def bounce(status_fields: str, notification: str = "The mail system\n", top: str = "") -> str:
    return (f"From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail Returned to Sender\n{top}"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\n\n"
            f"--b1\nContent-Type: text/plain\n\n{notification}\n--b1\nContent-Type: message/delivery-status\n\n"
            f"Reporting-MTA: dns; mx.example.net\n\n{status_fields}\n--b1--\n")


def test_the_recipient_is_the_address_we_sent_to_and_the_time_is_the_last_attempt():
    [report] = messages.read(bounce(
        "Original-Recipient: rfc822;Anna.Berg@Example.net\nFinal-Recipient: rfc822; anna@mailhost.example.net\n"
        "Action: failed\nStatus: 5.1.1\nLast-Attempt-Date: Tue, 3 Mar 2026 11:00:05 +0100\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown",
        top="Date: Wed, 4 Mar 2026 10:00:00 +0000\n"))
    assert report.kind is ReportKind.HARD
    assert report.recipient == "Anna.Berg@Example.net"  # not the alias it was delivered to
    assert report.occurred_at == dt.datetime(2026, 3, 3, 10, 0, 5, tzinfo=dt.UTC)
    assert report.reason == "550 5.1.1 user unknown"


def test_a_success_notice_is_a_delivery_and_a_relayed_one_says_nothing():
    delivered, relayed = messages.read(bounce(
        "Final-Recipient: rfc822; anna@example.net\nAction: delivered\nStatus: 2.0.0\n\n"
        "Final-Recipient: rfc822; bo@example.net\nAction: relayed\nStatus: 2.0.0"))
    assert (delivered.kind, relayed.kind) == (ReportKind.DELIVERY, ReportKind.IGNORED)


def test_a_status_without_diagnostic_is_read_with_the_notification_text():
    [report] = messages.read(bounce(
        "Final-Recipient: rfc822; anna@example.net\nAction: failed\nStatus: 5.0.0",
        notification="<anna@example.net>: host mx.example.net said: 550 Mailbox not found or blocked by policy\n"))
    assert report.kind is ReportKind.OTHER


def test_our_return_path_ties_the_bounce_even_when_it_returns_no_headers():
    raw = bounce("Final-Recipient: rfc822; anna@example.net\nAction: failed\nStatus: 5.1.1",
                 top="Delivered-To: BOUNCES+77-0123456789abcdef@Acme-Widgets.org\n")
    assert messages.read(raw)[0].message_ref == "bounces+77-0123456789abcdef@acme-widgets.org"


def test_a_returned_copy_of_any_size_is_not_read_past_its_headers():
    raw = bounce("Final-Recipient: rfc822; anna@example.net\nAction: failed\nStatus: 5.2.2\n"
                 "Diagnostic-Code: smtp; 552 5.2.2 mailbox full").replace(
        "--b1--", "--b1\nContent-Type: message/rfc822\n\nMessage-ID: <k.1@acme-widgets.org>\n\n"
                  + "User unknown, blocked, spam.\n" * 400_000 + "--b1--")
    [report] = messages.read(raw)
    assert (report.kind, report.message_ref) == (ReportKind.SOFT, "<k.1@acme-widgets.org>")


def test_two_recipients_in_a_plain_text_bounce_each_get_their_own_verdict():
    raw = ("From: Mail Delivery System <Mailer-Daemon@mx.example.net>\nSubject: Mail delivery failed\n\n"
           "The following address(es) failed:\n\n  anna@example.net\n    550 5.1.1 User unknown\n\n"
           "  bo@example.org\n    554 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org\n")
    assert [(r.recipient, r.kind) for r in messages.read(raw)] == [
        ("anna@example.net", ReportKind.HARD), ("bo@example.org", ReportKind.OTHER)]


JUNK = [
    "", "\x00\x01\x02", b"\xff\xfe\x00binary\x80\x81", "Content-Type: multipart/report; boundary=x\n\n--x\n" * 5000,
    "Content-Type: multipart/mixed; boundary=\"a\"\n\n--a\nContent-Type: multipart/mixed; boundary=\"a\"\n\n" * 300,
    "Subject: Undelivered\nFrom: MAILER-DAEMON@x\n\n" + "a@b.c " * 200_000,
    "Content-Type: message/delivery-status\n\n" + "Final-Recipient: rfc822; x@y.z\n\n" * 10_000,
    "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n@@@not base64@@@",
    "Subject: =?utf-8?q?broken=ZZ?= =?x-unknown?b?////?=\nFrom: MAILER-DAEMON@x\n\n\u202e\U0001f642 user unknown",
    "Date: Tue, 99 Foo 99999 99:99:99 +9999\nFrom: MAILER-DAEMON@x\nSubject: failure notice\n\n<a@b.c>:\n550 5.1.1",
    "x" * 3_000_000, 12345, None,
]


@pytest.mark.parametrize("raw", JUNK, ids=range(len(JUNK)))
def test_junk_never_raises(raw):
    reports = messages.read(raw)
    assert reports and all(r.kind in ReportKind for r in reports)


@hsettings(max_examples=150, deadline=None)
@given(st.text(max_size=3000))
def test_any_text_gets_at_least_one_report(raw):
    assert messages.read(raw)


def test_a_failed_recipient_the_text_never_names_is_unknown_and_does_not_shift_the_others():
    raw = ("From: Mail Delivery System <Mailer-Daemon@mx.example.net>\nSubject: Mail delivery failed\n"
           "X-Failed-Recipients: ghost@example.com, anna@example.net, bo@example.org\n\n"
           "The following address(es) failed:\n\n  anna@example.net\n    550 5.1.1 User unknown\n\n"
           "  bo@example.org\n    552 5.2.2 Mailbox full\n")
    assert [r.kind for r in messages.read(raw)] == [ReportKind.UNKNOWN, ReportKind.HARD, ReportKind.SOFT]
