"""Mailgun: the HMAC of timestamp and token, recent, and a token signing only the event it came with."""

import json
import time

import pytest

from listserver.bounces.providers import mailgun
from listserver.bounces.providers.replay import TokenMemory
from listserver.errors import Invalid, Unauthenticated
from listserver.models import ReportKind
from listserver.settings import Settings
from tests.bounces.providers.signers import hook, mailgun_body, payload

KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
SETTINGS = Settings(mailgun_webhook_signing_key=KEY)


def accept(body: bytes, tokens: TokenMemory | None = None):
    return mailgun.accept(hook({"Content-Type": "application/json"}, body, SETTINGS, tokens=tokens))


def test_a_signed_event_is_stored_under_its_event_id():
    [event] = accept(mailgun_body(payload("mailgun_failed"), KEY))
    assert event.external_id == "G9Bn5sl1TC6nu79C8C0bwg"
    assert json.loads(event.raw)["event"] == "failed"  # the event-data, without the signature


def test_a_wrong_key_a_changed_token_or_no_signature_is_refused():
    with pytest.raises(Unauthenticated):
        accept(mailgun_body(payload("mailgun_failed"), "key-someone-elses"))
    posted = json.loads(mailgun_body(payload("mailgun_failed"), KEY))
    posted["signature"]["token"] += "0"
    with pytest.raises(Unauthenticated):
        accept(json.dumps(posted).encode())
    del posted["signature"]
    with pytest.raises(Unauthenticated):
        accept(json.dumps(posted).encode())


def test_the_payload_as_mailgun_documents_it_is_refused_now():
    with pytest.raises(Unauthenticated):  # genuinely signed, in 2018
        accept(payload("mailgun_failed").encode())


def test_a_signature_older_than_five_minutes_is_refused():
    assert accept(mailgun_body(payload("mailgun_delivered"), KEY, when=time.time() - 280))
    with pytest.raises(Unauthenticated):
        accept(mailgun_body(payload("mailgun_delivered"), KEY, when=time.time() - 320))


def test_a_token_signs_only_the_event_it_came_with():
    tokens = TokenMemory("", 30)
    body = mailgun_body(payload("mailgun_opened"), KEY, token="t" * 50)
    assert accept(body, tokens)
    assert accept(body, tokens)  # the same request again (a retry): stored once, by its event id
    signed = json.loads(body)["signature"]
    forged = json.loads(payload("mailgun_unsubscribed"))  # someone who saw the request, with another event
    forged["signature"] = signed
    with pytest.raises(Unauthenticated):
        accept(json.dumps(forged).encode(), tokens)


def test_the_token_memory_is_shared_through_redis(redis_client):
    url = redis_client.connection_pool.connection_kwargs
    redis_url = f"redis://{url['host']}:{url['port']}/{url['db']}"
    one, two = TokenMemory(redis_url, 30), TokenMemory(redis_url, 30)  # two web processes
    assert one.first_use("mailgun/abc", "digest-1")
    assert two.first_use("mailgun/abc", "digest-1")
    assert not two.first_use("mailgun/abc", "digest-2")


def test_the_token_memory_carries_on_in_the_process_when_redis_is_away():
    tokens = TokenMemory("redis://127.0.0.1:1/0", 30)  # nothing listens there
    assert tokens.first_use("mailgun/abc", "digest-1")
    assert not tokens.first_use("mailgun/abc", "digest-2")


@pytest.mark.parametrize("body", [b"", b"[]", b"{}", b"\xff\xfe", b"[" * 100_000])
def test_junk_is_refused_without_a_crash(body):
    with pytest.raises((Invalid, Unauthenticated)):
        accept(body)


def test_signed_but_without_an_event_is_invalid():
    posted = json.loads(mailgun_body(payload("mailgun_failed"), KEY))
    posted["event-data"] = "nothing"
    with pytest.raises(Invalid):
        accept(json.dumps(posted).encode())


def raw(name: str) -> str:
    return json.dumps(json.loads(payload(name))["event-data"])


def test_mailgun_events_read_as_a_marketer_expects():
    [bounce] = mailgun.read(raw("mailgun_failed"))
    assert (bounce.kind, bounce.recipient, bounce.status) == (ReportKind.HARD, "alice@example.com", "5.1.1")
    assert bounce.message_ref == "20130503192659.13651.20287@sandbox.mailgun.org"
    [block] = mailgun.read(raw("mailgun_block"))  # "permanent", and "this message has been blocked"
    assert (block.kind, block.status) == (ReportKind.OTHER, "5.7.1")
    [delivered] = mailgun.read(raw("mailgun_delivered"))
    assert delivered.kind == ReportKind.DELIVERY
    [opened] = mailgun.read(raw("mailgun_opened"))
    assert (opened.kind, opened.machine) == (ReportKind.OPEN, False)
    [apple] = mailgun.read(raw("mailgun_opened_by_apple"))
    assert (apple.kind, apple.machine) == (ReportKind.OPEN, True)
    [clicked] = mailgun.read(raw("mailgun_clicked"))
    assert (clicked.kind, clicked.machine) == (ReportKind.CLICK, False)
    [left] = mailgun.read(raw("mailgun_unsubscribed"))
    assert left.kind == ReportKind.UNSUBSCRIBE
    [complaint] = mailgun.read(raw("mailgun_complained"))
    assert (complaint.kind, complaint.recipient) == (ReportKind.COMPLAINT, "alice@example.com")


def test_mailguns_own_suppressions_and_temporary_failures():
    event = json.loads(raw("mailgun_failed"))
    event.update(reason="suppress-bounce", **{"delivery-status": {"code": 605, "message": "",
                                                                  "description": "Not delivering to previously "
                                                                                 "bounced address"}})
    assert mailgun.read(json.dumps(event))[0].kind == ReportKind.IGNORED  # not sent: no news
    event.update(severity="temporary", reason="generic", **{"delivery-status": {
        "code": 452, "message": "4.2.2 The email account that you tried to reach is over quota."}})
    assert mailgun.read(json.dumps(event))[0].kind == ReportKind.SOFT
