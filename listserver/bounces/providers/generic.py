"""The generic hook: our own JSON event, signed the Standard Webhooks way (standardwebhooks.com).

Any sending tool, or a script of your own, reports to `POST /hooks/generic`, one event per request:

    {
      "type": "bounce",                      bounce | complaint | delivery | open | click | unsubscribe
      "email": "anna@example.com",           the recipient
      "timestamp": "2026-03-01T12:00:00Z",   when it happened: ISO 8601, or seconds since the epoch
      "status": "5.1.1",                     bounce: the RFC 3463 status or the SMTP reply code, if known
      "reason": "550 5.1.1 No such user",    bounce: what the receiving server said
      "message_id": "<...@...>",             optional: our email's Message-ID (or its return path)
      "machine": false,                      open, click: optional, true if a machine made it
      "user_agent": "Mozilla/5.0 (...)"      open, click: optional, read for machines when "machine" is absent
    }

A bounce is classified from its status and reason like every other bounce (a block or a policy
refusal never cleans anyone). Signing, as Standard Webhooks has it: the headers `webhook-id` (the
same on each retry of one event: it is stored once), `webhook-timestamp` (seconds since the epoch,
within five minutes of our clock) and `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of
`<id>.<timestamp>.<body>`, keyed with the bytes that LISTSERVER_GENERIC_WEBHOOK_SECRET
(`whsec_<base64>`) names; several, space-separated, while the sender rotates its secret.
Answers: 200 {"stored": <new events>}; 401 unsigned, wrongly signed or too old; 413 over
LISTSERVER_HOOK_MAX_BYTES; 422 not an event of this shape.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from listserver.bounces.classify import classify, read_status
from listserver.bounces.providers import machines
from listserver.bounces.providers.common import Hook, RawEvent, document, fresh, moment, text
from listserver.bounces.reports import Report
from listserver.errors import Invalid, Unauthenticated
from listserver.models import ReportKind, ReportSource
from listserver.settings import Settings

SOURCE = ReportSource.WEBHOOK

TYPES = {"bounce": None, "complaint": ReportKind.COMPLAINT, "delivery": ReportKind.DELIVERY,
         "open": ReportKind.OPEN, "click": ReportKind.CLICK, "unsubscribe": ReportKind.UNSUBSCRIBE}


def configured(settings: Settings) -> bool:
    return bool(settings.generic_webhook_secret)


def accept(hook: Hook) -> list[RawEvent]:
    """The request's event, once one of its signatures is ours and its timestamp recent."""
    webhook_id = hook.headers.get("webhook-id", "")
    timestamp = hook.headers.get("webhook-timestamp", "")
    key = base64.b64decode(hook.settings.generic_webhook_secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + hook.body,
                                         hashlib.sha256).digest()).decode()
    offered = [part.partition(",") for part in hook.headers.get("webhook-signature", "").split()]
    # Every offered signature is compared, so the answer's timing does not say which one was close.
    matches = [hmac.compare_digest(expected.encode(), signature.encode())
               for version, _, signature in offered if version == "v1"]
    if not webhook_id or not any(matches):
        raise Unauthenticated("no webhook-signature matches")
    fresh(timestamp, hook.now)
    event = document(hook.body)
    if not isinstance(event, dict) or event.get("type") not in TYPES or not text(event.get("email")):
        raise Invalid("expected one event: {\"type\": " + " | ".join(TYPES) + ", \"email\": ...}",
                      code="invalid_event")
    return [RawEvent(webhook_id[:200], hook.body.decode())]


def read(raw: str) -> list[Report]:
    """The report of one event of ours."""
    event = json.loads(raw)
    recipient, when = text(event.get("email")), moment(event.get("timestamp"))
    ref = text(event.get("message_id")) or None
    kind = TYPES.get(text(event.get("type"), 20), ReportKind.IGNORED)
    if kind is None:  # a bounce
        reason = text(event.get("reason"))
        code = read_status(event.get("status"), reason)
        return [Report(classify(code, reason), recipient, code, reason, ref, when)]
    machine = False
    if kind in (ReportKind.OPEN, ReportKind.CLICK):
        flag = event.get("machine")
        agent = text(event.get("user_agent")) if "user_agent" in event else None
        machine = flag if isinstance(flag, bool) else machines.by_machine(agent)
    return [Report(kind, recipient, None, "", ref, when, machine)]
