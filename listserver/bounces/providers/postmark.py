"""Postmark: one event per request, behind HTTP basic auth (the user and password in the URL it calls).

Point each webhook (bounce, spam complaint, delivery, open, click, subscription change) at
`https://USER:PASSWORD@<listserver>/hooks/postmark`, with the user and password of
LISTSERVER_POSTMARK_WEBHOOK_USER and _PASSWORD. Postmark signs nothing, so there is no time to
check: the password is the whole proof, and it is compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json

from listserver.bounces.classify import classify, read_status
from listserver.bounces.providers import machines
from listserver.bounces.providers.common import Hook, RawEvent, digest, document, moment, text
from listserver.bounces.reports import Report
from listserver.errors import Invalid, Unauthenticated
from listserver.models import ReportKind, ReportSource
from listserver.settings import Settings

SOURCE = ReportSource.POSTMARK

# The bounce records about delivering to the address; their Type is Postmark's verdict for the
# classifier ("SoftBounce", "Blocked", "DMARCPolicy"...), which may only make it milder.
BOUNCE_TYPES = {"HardBounce", "BadEmailAddress", "Transient", "SoftBounce", "DnsError", "Blocked", "SpamNotification",
                "DMARCPolicy", "VirusNotification", "Unknown"}
# Bounce records that are not about delivering to the address.
NOT_BOUNCES = {"SpamComplaint": ReportKind.COMPLAINT, "Unsubscribe": ReportKind.UNSUBSCRIBE}


def configured(settings: Settings) -> bool:
    return bool(settings.postmark_webhook_password)


def accept(hook: Hook) -> list[RawEvent]:
    """The request's one event, once its user and password are ours."""
    authenticate(hook.headers.get("Authorization", ""), hook.settings)
    if not isinstance(document(hook.body), dict):
        raise Invalid("a Postmark webhook sends one event, a JSON object", code="invalid_json")
    # Opens, clicks and deliveries carry no id of their own; a retry sends the same bytes again.
    return [RawEvent(digest(hook.body), hook.body.decode())]


def authenticate(header: str, settings: Settings) -> None:
    scheme, _, encoded = header.partition(" ")
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        user = password = ""
    # Both compared whatever the first gave: how long an answer takes tells nothing about either.
    right_user = hmac.compare_digest(user.encode(), settings.postmark_webhook_user.encode())
    right_password = hmac.compare_digest(password.encode(), settings.postmark_webhook_password.encode())
    if scheme.lower() != "basic" or not (right_user & right_password):
        raise Unauthenticated("wrong or missing user and password", scheme="Basic")


def read(raw: str) -> list[Report]:
    """The report of one Postmark event."""
    event = json.loads(raw)
    record = text(event.get("RecordType"), 50)
    if record in ("Bounce", "SpamComplaint"):
        return [_bounce(event)]
    recipient = text(event.get("Recipient"))
    if record == "Delivery":
        return [Report(ReportKind.DELIVERY, recipient, occurred_at=moment(event.get("DeliveredAt")))]
    if record in ("Open", "Click"):
        agent = text(event.get("UserAgent")) if "UserAgent" in event else None
        return [Report(ReportKind.OPEN if record == "Open" else ReportKind.CLICK, recipient,
                       occurred_at=moment(event.get("ReceivedAt")), machine=machines.by_machine(agent))]
    # The person used Postmark's unsubscribe link; other suppressions are the sender's doing, or
    # repeat a bounce or complaint that came as its own event.
    left = (record == "SubscriptionChange" and event.get("SuppressSending") is True
            and event.get("SuppressionReason") == "ManualSuppression" and event.get("Origin") == "Recipient")
    return [Report(ReportKind.UNSUBSCRIBE if left else ReportKind.IGNORED, recipient, reason=record,
                   occurred_at=moment(event.get("ChangedAt")))]


def _bounce(event: dict) -> Report:
    kind = text(event.get("Type"), 50)
    recipient, when = text(event.get("Email")), moment(event.get("BouncedAt"))
    details = text(event.get("Details")) or text(event.get("Description"))
    if kind in NOT_BOUNCES:
        return Report(NOT_BOUNCES[kind], recipient, None, kind, occurred_at=when)
    if kind not in BOUNCE_TYPES:  # an auto-reply, an address change, a test of an open relay...
        return Report(ReportKind.IGNORED, recipient, None, kind, occurred_at=when)
    code = read_status(None, details)
    return Report(classify(code, details, hint=kind), recipient, code, details, occurred_at=when)
