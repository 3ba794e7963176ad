"""SendGrid: batches of events, signed with ECDSA (P-256, SHA-256) over the timestamp and the body.

Turn on the Event Webhook's signature verification, point it at `/hooks/sendgrid`, and put its
verification key (base64, as SendGrid shows it) in LISTSERVER_SENDGRID_WEBHOOK_PUBLIC_KEY.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from listserver.bounces.classify import classify, read_status
from listserver.bounces.providers import machines
from listserver.bounces.providers.common import Hook, RawEvent, digest, document, fresh, moment, text
from listserver.bounces.reports import Report
from listserver.errors import Invalid, Unauthenticated
from listserver.models import ReportKind, ReportSource
from listserver.settings import Settings

SOURCE = ReportSource.SENDGRID

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
EVENTS = {"delivered": ReportKind.DELIVERY, "open": ReportKind.OPEN, "click": ReportKind.CLICK,
          "spamreport": ReportKind.COMPLAINT, "unsubscribe": ReportKind.UNSUBSCRIBE,
          "group_unsubscribe": ReportKind.UNSUBSCRIBE}


def configured(settings: Settings) -> bool:
    return bool(settings.sendgrid_webhook_public_key)


@functools.lru_cache(maxsize=4)
def public_key(encoded: str) -> ec.EllipticCurvePublicKey:
    """The verification key of the setting (checked at start to be an elliptic-curve key)."""
    return load_der_public_key(base64.b64decode(encoded))


def accept(hook: Hook) -> list[RawEvent]:
    """The events of a batch whose signature is SendGrid's and recent."""
    timestamp = hook.headers.get(TIMESTAMP_HEADER, "")
    try:
        signature = base64.b64decode(hook.headers.get(SIGNATURE_HEADER, ""), validate=True)
        public_key(hook.settings.sendgrid_webhook_public_key).verify(
            signature, timestamp.encode() + hook.body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, InvalidSignature):
        raise Unauthenticated("the SendGrid signature does not match") from None
    fresh(timestamp, hook.now)
    events = document(hook.body)
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise Invalid("a SendGrid webhook sends a JSON array of events", code="invalid_json")
    raws = [json.dumps(event, ensure_ascii=False) for event in events]
    return [RawEvent(text(event.get("sg_event_id"), 200) or digest(raw), raw) for event, raw in zip(events, raws)]


def read(raw: str) -> list[Report]:
    """The report of one SendGrid event."""
    event = json.loads(raw)
    name = text(event.get("event"), 50)
    recipient, when, ref = text(event.get("email")), moment(event.get("timestamp")), text(event.get("smtp-id")) or None
    if name == "bounce":
        diagnostic = text(event.get("reason"))
        code = read_status(event.get("status"), diagnostic)
        # SendGrid's verdict, which may only make it milder: its type ("blocked" is its word for a
        # refusal not about the address) and its classification ("Reputation", "Invalid Address"...).
        verdict = f"{text(event.get('type'), 20)} {text(event.get('bounce_classification'), 100)}"
        return [Report(classify(code, diagnostic, hint=verdict), recipient, code, diagnostic, ref, when)]
    kind = EVENTS.get(name, ReportKind.IGNORED)  # processed, deferred, dropped: not news about the person
    machine = False
    if kind in (ReportKind.OPEN, ReportKind.CLICK):
        agent = text(event.get("useragent")) if "useragent" in event else None
        machine = event.get("sg_machine_open") is True or machines.by_machine(agent)
    return [Report(kind, recipient, None, name if kind == ReportKind.IGNORED else "", ref, when, machine)]
