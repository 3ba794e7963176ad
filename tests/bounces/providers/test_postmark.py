"""Postmark: only the user and password of the webhook URL let a report in; its records read as expected."""

import json

import pytest

from listserver.bounces.providers import postmark
from listserver.errors import Invalid, Unauthenticated
from listserver.models import ReportKind
from listserver.settings import Settings
from tests.bounces.providers.signers import basic_auth, hook, payload

SETTINGS = Settings(postmark_webhook_user="postmark", postmark_webhook_password="s3cret-Hook-pass")


def accept(headers: dict, body: str):
    return postmark.accept(hook({"Content-Type": "application/json", **headers}, body, SETTINGS))


def test_the_right_user_and_password_store_the_event_once_per_content():
    body = payload("postmark_bounce")
    [event] = accept(basic_auth("postmark", "s3cret-Hook-pass"), body)
    assert event.raw == body
    [again] = accept(basic_auth("postmark", "s3cret-Hook-pass"), body)  # Postmark's retry: the same bytes
    assert again.external_id == event.external_id
    [other] = accept(basic_auth("postmark", "s3cret-Hook-pass"), payload("postmark_open"))
    assert other.external_id != event.external_id


@pytest.mark.parametrize("headers", [
    {},
    basic_auth("postmark", "wrong"),
    basic_auth("someone", "s3cret-Hook-pass"),
    basic_auth("postmark", "s3cret-Hook-pas"),
    basic_auth("postmark", ""),
    {"Authorization": "Bearer s3cret-Hook-pass"},
    {"Authorization": "Basic not-base64!"},
    {"Authorization": "Basic " + "//79"},  # not UTF-8 inside
    {"Authorization": "Basic"},
])
def test_anything_else_is_refused_and_asked_for_basic_auth(headers):
    with pytest.raises(Unauthenticated) as refused:
        accept(headers, payload("postmark_bounce"))
    assert refused.value.scheme == "Basic"  # clients that wait for the challenge then send the password


def test_the_password_may_hold_a_colon():
    settings = Settings(postmark_webhook_user="pm", postmark_webhook_password="a:b:c")
    assert postmark.accept(hook(basic_auth("pm", "a:b:c"), payload("postmark_delivery"), settings))


@pytest.mark.parametrize("body", ["", "[]", "not json", "[" * 100_000])
def test_not_one_event_is_refused_without_a_crash(body):
    with pytest.raises(Invalid):
        accept(basic_auth("postmark", "s3cret-Hook-pass"), body)


def test_postmark_records_read_as_a_marketer_expects():
    [bounce] = postmark.read(payload("postmark_bounce"))
    assert (bounce.kind, bounce.recipient, bounce.status) == (ReportKind.HARD, "john@example.com", "5.1.1")
    [block] = postmark.read(payload("postmark_block"))  # Postmark says HardBounce; the server said "block list"
    assert (block.kind, block.status) == (ReportKind.OTHER, "5.7.1")
    [complaint] = postmark.read(payload("postmark_spam_complaint"))
    assert (complaint.kind, complaint.recipient) == (ReportKind.COMPLAINT, "john@example.com")
    [delivery] = postmark.read(payload("postmark_delivery"))
    assert delivery.kind == ReportKind.DELIVERY and delivery.occurred_at.year == 2019
    [opened] = postmark.read(payload("postmark_open"))
    assert (opened.kind, opened.machine) == (ReportKind.OPEN, False)
    [clicked] = postmark.read(payload("postmark_click"))
    assert (clicked.kind, clicked.machine) == (ReportKind.CLICK, False)
    [left] = postmark.read(payload("postmark_subscription_change"))
    assert (left.kind, left.recipient) == (ReportKind.UNSUBSCRIBE, "john@example.com")


def test_postmarks_generic_description_never_makes_a_hard_bounce():
    # Postmark's Description for every HardBounce says "unknown user, mailbox not found"; only what
    # the receiving server said (Details) counts.
    record = json.loads(payload("postmark_bounce"))
    record["Details"] = "Test bounce details"
    assert postmark.read(json.dumps(record))[0].kind == ReportKind.UNKNOWN


def test_a_soft_bounce_and_an_auto_reply():
    record = json.loads(payload("postmark_bounce"))
    record.update(Type="SoftBounce", TypeCode=4096, Details="smtp;452 4.2.2 The email account that you tried to reach "
                  "is over quota.")
    assert postmark.read(json.dumps(record))[0].kind == ReportKind.SOFT
    record.update(Type="AutoResponder", TypeCode=64, Details="I am out of the office until Monday")
    assert postmark.read(json.dumps(record))[0].kind == ReportKind.IGNORED


def test_machine_opens_are_marked():
    record = json.loads(payload("postmark_open"))
    record["UserAgent"] = "Mozilla/5.0"
    assert postmark.read(json.dumps(record))[0].machine


def test_only_the_person_unsubscribing_is_an_unsubscribe():
    record = json.loads(payload("postmark_subscription_change"))
    for change in ({"Origin": "Customer"}, {"SuppressionReason": "HardBounce"}, {"SuppressSending": False}):
        assert postmark.read(json.dumps({**record, **change}))[0].kind == ReportKind.IGNORED
