"""Mailgun: one event per request, signed with an HMAC of its timestamp and a token.

Point the domain's webhooks (permanent and temporary failure, delivered, opened, clicked,
unsubscribed, complained) at `/hooks/mailgun`, and put the webhook signing key in
LISTSERVER_MAILGUN_WEBHOOK_SIGNING_KEY. The signature does not cover the event, so a token
signs only the event it came with: sent again with another event, it is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from listserver.bounces.classify import classify, read_status
from listserver.bounces.providers import machines
from listserver.bounces.providers.common import (
    Hook,
    RawEvent,
    digest,
    document,
    fresh,
    mapping,
    moment,
    reference,
    text,
)
from listserver.bounces.reports import Report
from listserver.errors import Invalid, Unauthenticated
from listserver.models import ReportKind, ReportSource
from listserver.settings import Settings

SOURCE = ReportSource.MAILGUN

EVENTS = {"delivered": ReportKind.DELIVERY, "opened": ReportKind.OPEN, "clicked": ReportKind.CLICK,
          "unsubscribed": ReportKind.UNSUBSCRIBE, "complained": ReportKind.COMPLAINT}


def configured(settings: Settings) -> bool:
    return bool(settings.mailgun_webhook_signing_key)


def accept(hook: Hook) -> list[RawEvent]:
    """The request's event, once its signature is Mailgun's, recent, and its token not used for another."""
    posted = document(hook.body)
    signed = mapping(posted.get("signature")) if isinstance(posted, dict) else {}
    timestamp, token = text(signed.get("timestamp"), 20), text(signed.get("token"), 100)
    expected = hmac.new(hook.settings.mailgun_webhook_signing_key.encode(), (timestamp + token).encode(),
                        hashlib.sha256).hexdigest()
    if not token or not hmac.compare_digest(expected, text(signed.get("signature"), 100)):
        raise Unauthenticated("the Mailgun signature does not match")
    fresh(timestamp, hook.now)
    event = posted.get("event-data")
    if not isinstance(event, dict):
        raise Invalid("a Mailgun webhook carries its event as event-data", code="invalid_json")
    if not hook.first_use(f"mailgun/{token}", digest(hook.body)):
        raise Unauthenticated("this signature was used before, for another event")
    raw = json.dumps(event, ensure_ascii=False)
    return [RawEvent(text(event.get("id"), 200) or digest(raw), raw)]


def read(raw: str) -> list[Report]:
    """The report of one Mailgun event."""
    event = json.loads(raw)
    name = text(event.get("event"), 50)
    recipient, when = text(event.get("recipient")), moment(event.get("timestamp"))
    headers = mapping(mapping(event.get("message")).get("headers"))
    ref = reference(mapping(event.get("envelope")).get("sender"), headers.get("message-id"))
    if name == "failed":
        return [_failure(event, recipient, ref, when)]
    kind = EVENTS.get(name, ReportKind.IGNORED)
    machine = False
    if kind in (ReportKind.OPEN, ReportKind.CLICK):
        client = mapping(event.get("client-info"))
        agent = text(client.get("user-agent")) if "user-agent" in client else None
        machine = bool(client.get("bot")) or machines.by_machine(agent)  # apple, gmail, generic: Mailgun's verdict
    return [Report(kind, recipient, None, name if kind == ReportKind.IGNORED else "", ref, when, machine)]


def _failure(event: dict, recipient: str, ref: str | None, when) -> Report:
    reason = text(event.get("reason"), 100)
    if reason.startswith("suppress-"):
        # Not sent: the address is on Mailgun's own list for an earlier bounce, complaint or
        # unsubscribe, which came to us as its own event.
        return Report(ReportKind.IGNORED, recipient, None, reason, ref, when)
    delivery = mapping(event.get("delivery-status"))
    diagnostic = " ".join(part for part in (text(delivery.get("message")), text(delivery.get("description")))
                          if part) or reason
    code = read_status(f"{text(delivery.get('enhanced-code'), 20)} {text(delivery.get('code'), 20)}", diagnostic)
    verdict = f"{text(event.get('severity'), 20)} {reason}"  # "temporary greylisted", "permanent espblock"...
    return Report(classify(code, diagnostic, hint=verdict), recipient, code, diagnostic, ref, when)
