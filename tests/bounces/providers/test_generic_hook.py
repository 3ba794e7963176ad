"""The generic hook: Standard Webhooks signatures, our own documented event shape."""

import json
import time

import pytest

from listserver.bounces.providers import generic
from listserver.errors import Invalid, Unauthenticated
from listserver.models import ReportKind
from listserver.settings import Settings, SettingsError
from tests.bounces.providers.signers import hook, standard_headers, standard_secret

SECRET = standard_secret()
SETTINGS = Settings(generic_webhook_secret=SECRET)


def event(**fields) -> bytes:
    return json.dumps({"type": "bounce", "email": "anna@example.com", "status": "5.1.1",
                       "reason": "550 5.1.1 <anna@example.com>: Recipient address rejected: User unknown",
                       "timestamp": "2026-03-01T12:00:00Z", **fields}).encode()


def accept(body: bytes, headers: dict | None = None):
    return generic.accept(hook(standard_headers(SECRET, body) if headers is None else headers, body, SETTINGS))


def test_a_signed_event_is_stored_under_its_webhook_id():
    body = event()
    headers = standard_headers(SECRET, body, webhook_id="msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
    [stored] = accept(body, headers)
    assert (stored.external_id, stored.raw) == ("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", body.decode())


def test_one_of_several_signatures_is_enough_while_a_secret_is_rotated():
    body = event()
    headers = standard_headers(SECRET, body)
    new = standard_headers(standard_secret(), body, webhook_id=headers["webhook-id"],
                           when=int(headers["webhook-timestamp"]))
    both = f"{new['webhook-signature']} {headers['webhook-signature']}"
    assert accept(body, {**headers, "webhook-signature": both})
    with pytest.raises(Unauthenticated):
        accept(body, {**headers, "webhook-signature": new["webhook-signature"]})


@pytest.mark.parametrize("change", [
    {"webhook-signature": ""},
    {"webhook-signature": "v1"},
    {"webhook-signature": "v1,"},
    {"webhook-signature": "v1,,,"},
    {"webhook-signature": "v2,abc v1a,def"},
    {"webhook-id": ""},
    {"webhook-id": "msg_other"},
    {"webhook-timestamp": ""},
    {"webhook-timestamp": "nan"},
])
def test_a_changed_or_missing_header_is_refused(change):
    body = event()
    with pytest.raises(Unauthenticated):
        accept(body, {**standard_headers(SECRET, body), **change})


def test_a_changed_body_is_refused():
    body = event()
    with pytest.raises(Unauthenticated):
        accept(event(type="complaint"), standard_headers(SECRET, body))


def test_a_timestamp_more_than_five_minutes_away_is_refused():
    assert accept(event(), standard_headers(SECRET, event(), when=time.time() - 280))
    for when in (time.time() - 320, time.time() + 320):
        with pytest.raises(Unauthenticated):
            accept(event(), standard_headers(SECRET, event(), when=when))


@pytest.mark.parametrize("body", [b"[]", b"{}", b'{"type": "bounce"}', b'{"type": "sent", "email": "a@b.c"}',
                                  "{\"type\": \"open\", \"email\": \"\u00e9\"}".encode("latin-1"), b"[" * 100_000])
def test_not_an_event_of_our_shape_is_invalid(body):
    with pytest.raises(Invalid):
        accept(body)


def test_a_secret_not_in_the_standard_form_stops_the_start():
    for secret in ("s3cret", "whsec_not base64!"):
        with pytest.raises(SettingsError):
            Settings(generic_webhook_secret=secret).completed()


def test_our_events_read_as_documented():
    [bounce] = generic.read(event().decode())
    assert (bounce.kind, bounce.recipient, bounce.status) == (ReportKind.HARD, "anna@example.com", "5.1.1")
    [block] = generic.read(event(status="550", reason="550 Message rejected: IP listed at zen.spamhaus.org").decode())
    assert (block.kind, block.status) == (ReportKind.OTHER, "550")
    for kind, expected in (("complaint", ReportKind.COMPLAINT), ("delivery", ReportKind.DELIVERY),
                           ("unsubscribe", ReportKind.UNSUBSCRIBE)):
        assert generic.read(event(type=kind).decode())[0].kind == expected
    [opened] = generic.read(event(type="open", message_id="<abc.12@lists.example.com>").decode())
    assert (opened.kind, opened.machine, opened.message_ref) == (ReportKind.OPEN, False, "<abc.12@lists.example.com>")
    assert generic.read(event(type="open", machine=True).decode())[0].machine
    assert generic.read(event(type="click", user_agent="Mozilla/5.0").decode())[0].machine
    assert not generic.read(event(type="click", user_agent="Mozilla/5.0", machine=False).decode())[0].machine
