"""SendGrid: ECDSA over timestamp and body with the Event Webhook's key; a batch becomes one event each."""

import base64
import json
import time

import pytest

from listserver.bounces.providers import sendgrid
from listserver.errors import Invalid, Unauthenticated
from listserver.models import ReportKind
from listserver.settings import Settings, SettingsError
from tests.bounces.providers.signers import SendGridSigner, hook, payload


@pytest.fixture(scope="module")
def signer():
    return SendGridSigner()


def accept(signer: SendGridSigner, body: bytes, headers: dict | None = None):
    settings = Settings(sendgrid_webhook_public_key=signer.public_key)
    return sendgrid.accept(hook(signer.headers(body) if headers is None else headers, body, settings))


def test_a_signed_batch_gives_one_event_each_under_its_event_id(signer):
    body = payload("sendgrid_events").encode()
    events = accept(signer, body)
    assert [e.external_id for e in events] == [e["sg_event_id"] for e in json.loads(body)]
    assert json.loads(events[6].raw)["event"] == "bounce"


def test_a_changed_body_or_timestamp_is_refused(signer):
    body = payload("sendgrid_events").encode()
    headers = signer.headers(body)
    with pytest.raises(Unauthenticated):
        accept(signer, body.replace(b'"bounce"', b'"delivered"', 1), headers)
    with pytest.raises(Unauthenticated):
        accept(signer, body, {**headers, sendgrid.TIMESTAMP_HEADER: str(int(time.time()) + 1)})


@pytest.mark.parametrize("drop", [sendgrid.SIGNATURE_HEADER, sendgrid.TIMESTAMP_HEADER])
def test_a_missing_header_is_refused(signer, drop):
    body = payload("sendgrid_events").encode()
    headers = {name: value for name, value in signer.headers(body).items() if name != drop}
    with pytest.raises(Unauthenticated):
        accept(signer, body, headers)


@pytest.mark.parametrize("signature", [
    "", "not base64!", base64.b64encode(b"\x30\x06\x02\x01\x01\x02\x01\x01").decode(),  # r = s = 1
    base64.b64encode(b"junk").decode()])
def test_a_junk_signature_is_refused(signer, signature):
    body = payload("sendgrid_events").encode()
    with pytest.raises(Unauthenticated):
        accept(signer, body, {**signer.headers(body), sendgrid.SIGNATURE_HEADER: signature})


def test_another_key_is_refused(signer):
    body = payload("sendgrid_events").encode()
    with pytest.raises(Unauthenticated):
        accept(signer, body, SendGridSigner().headers(body))


def test_a_signature_older_than_five_minutes_is_refused(signer):
    body = payload("sendgrid_events").encode()
    assert accept(signer, body, signer.headers(body, when=time.time() - 280))
    with pytest.raises(Unauthenticated):
        accept(signer, body, signer.headers(body, when=time.time() - 320))


@pytest.mark.parametrize("body", [b"{}", b'[1, 2]', b"not json", b"[" * 100_000])
def test_not_a_batch_of_events_is_invalid(signer, body):
    with pytest.raises(Invalid):
        accept(signer, body)


def test_a_key_that_is_not_sendgrids_kind_stops_the_start():
    with pytest.raises(SettingsError):
        Settings(sendgrid_webhook_public_key=base64.b64encode(b"not a key").decode()).completed()


def test_sendgrid_events_read_as_a_marketer_expects():
    kinds = [(r.kind, r.machine) for event in json.loads(payload("sendgrid_events"))
             for r in sendgrid.read(json.dumps(event))]
    assert kinds == [
        (ReportKind.IGNORED, False),  # processed
        (ReportKind.IGNORED, False),  # deferred: still trying
        (ReportKind.DELIVERY, False),
        (ReportKind.OPEN, False),
        (ReportKind.OPEN, True),  # sg_machine_open
        (ReportKind.CLICK, False),
        (ReportKind.HARD, False),  # 500 unknown recipient
        (ReportKind.OTHER, False),  # blocked for the sending IP's reputation
        (ReportKind.IGNORED, False),  # dropped: SendGrid's own list, not news
        (ReportKind.COMPLAINT, False),
        (ReportKind.UNSUBSCRIBE, False),
        (ReportKind.UNSUBSCRIBE, False),  # from a group
        (ReportKind.IGNORED, False),  # back to a group
    ]
    bounce = sendgrid.read(json.dumps(json.loads(payload("sendgrid_events"))[6]))[0]
    assert (bounce.recipient, bounce.status, bounce.message_ref) == (
        "example@test.com", "5.0.0", "<14c5d75ce93.dfd.64b469@ismtpd-555>")
