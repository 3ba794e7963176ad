"""Amazon SES, through SNS: each message's signature checked with AWS's certificate, then the SES event.

Subscribe an HTTPS endpoint `/hooks/ses` to the SNS topic(s) SES publishes to (notifications of
an identity, or a configuration set's event destination for opens, clicks and unsubscribes), with
raw message delivery off: the SNS envelope carries the signature. List the topics in
LISTSERVER_SES_TOPIC_ARNS; the subscription is confirmed when SNS asks.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import re
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from listserver.bounces.classify import classify, read_status
from listserver.bounces.providers import machines
from listserver.bounces.providers.common import (
    Hook,
    RawEvent,
    document,
    fresh,
    mapping,
    moment,
    reference,
    text,
)
from listserver.bounces.reports import Report
from listserver.errors import Unauthenticated
from listserver.models import ReportKind, ReportSource
from listserver.settings import Settings

SOURCE = ReportSource.SES

# The fields each kind of SNS message signs, in the order of its canonical string.
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
# SNS's own hosts, and no one else's: sns.<region>.amazonaws.com (.com.cn in China).
SNS_HOST = re.compile(r"sns\.[a-z]{2}(-[a-z]+)+-\d\.amazonaws\.com(\.cn)?")


def configured(settings: Settings) -> bool:
    return bool(settings.ses_topic_arns)


def accept(hook: Hook) -> list[RawEvent]:
    """The SES event of a genuine SNS notification; a subscription request is confirmed, and gives none."""
    message = document(hook.body)
    if not isinstance(message, dict) or message.get("Type") not in SIGNED_FIELDS:
        raise Unauthenticated("not a signed SNS message")
    if message.get("TopicArn") not in hook.settings.ses_topic_arns:
        raise Unauthenticated("not from a topic in LISTSERVER_SES_TOPIC_ARNS")
    signed_at = moment(message.get("Timestamp"))
    fresh(signed_at and signed_at.timestamp(), hook.now)
    verify(message, hook)
    if message["Type"] == "SubscriptionConfirmation":
        hook.fetcher.get(sns_url(message.get("SubscribeURL"), "SubscribeURL"))
    if message["Type"] != "Notification":
        return []
    return [RawEvent(text(message.get("MessageId"), 200), text(message.get("Message"), len(hook.body)))]


def sns_url(url: object, field: str) -> str:
    """`url` if it is an https address on an SNS host; else the message is not SNS's."""
    parts = urlsplit(url if isinstance(url, str) else "")
    if parts.scheme != "https" or not SNS_HOST.fullmatch(parts.hostname or "") or parts.port not in (None, 443) \
            or parts.username is not None:
        raise Unauthenticated(f"the {field} is not an https address of SNS")
    return url


def canonical(message: dict) -> bytes:
    """What SNS signs: each signed field present, as name and value on lines of their own."""
    lines = []
    for field in SIGNED_FIELDS[message["Type"]]:
        value = message.get(field)
        if value is None and field == "Subject":
            continue
        if not isinstance(value, str):
            raise Unauthenticated(f"the signed field {field} is missing")
        lines += [field, value]
    return ("\n".join(lines) + "\n").encode()


def verify(message: dict, hook: Hook) -> None:
    """Check the message's signature with the certificate SNS names, fetched from SNS only."""
    algorithm = HASHES.get(message.get("SignatureVersion"))
    if algorithm is None:
        raise Unauthenticated("unknown SNS signature version")
    url = sns_url(message.get("SigningCertURL"), "SigningCertURL")
    try:
        signature = base64.b64decode(text(message.get("Signature"), 4096), validate=True)
        certificate = _certificate(hook.fetcher.certificate(url))
    except ValueError:
        raise Unauthenticated("unreadable SNS signature or certificate") from None
    now = dt.datetime.fromtimestamp(hook.now, dt.UTC)
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or not (
            certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc):
        raise Unauthenticated("the SNS signing certificate is not valid now")
    try:
        key.verify(signature, canonical(message), padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise Unauthenticated("the SNS signature does not match") from None


@functools.lru_cache(maxsize=8)
def _certificate(pem: bytes) -> x509.Certificate:
    # Parsing costs more (~120 us) than checking the signature; SNS signs with one certificate for months.
    return x509.load_pem_x509_certificate(pem)


def read(raw: str) -> list[Report]:
    """The reports of one SES event (a notification, or a configuration set's event)."""
    event = json.loads(raw)
    kind = text(event.get("notificationType") or event.get("eventType"))
    mail = mapping(event.get("mail"))
    ref = reference(mail.get("source"), mapping(mail.get("commonHeaders")).get("messageId"))
    if kind == "Bounce":
        return _bounces(mapping(event.get("bounce")), ref)
    if kind == "Complaint":
        complaint = mapping(event.get("complaint"))
        when = moment(complaint.get("timestamp"))
        reason = text(complaint.get("complaintFeedbackType"), 100)
        return [Report(ReportKind.COMPLAINT, text(r.get("emailAddress")), None, reason, ref, when)
                for r in _each(complaint.get("complainedRecipients"))]
    if kind == "Delivery":
        delivery = mapping(event.get("delivery"))
        return [Report(ReportKind.DELIVERY, text(address), None, "", ref, moment(delivery.get("timestamp")))
                for address in _list(delivery.get("recipients"))]
    if kind in ("Open", "Click"):
        detail = mapping(event.get(kind.lower()))
        found = ReportKind.OPEN if kind == "Open" else ReportKind.CLICK
        machine = machines.by_machine(text(detail.get("userAgent")) if "userAgent" in detail else None)
        return [Report(found, text(address), None, "", ref, moment(detail.get("timestamp")), machine)
                for address in _list(mail.get("destination"))]
    subscription = mapping(event.get("subscription"))
    leaves = kind == "Subscription" and mapping(subscription.get("newTopicPreferences")).get("unsubscribeAll") is True
    found = ReportKind.UNSUBSCRIBE if leaves else ReportKind.IGNORED
    return [Report(found, text(address), None, kind[:100], ref, moment(subscription.get("timestamp")))
            for address in _list(mail.get("destination"))] or [Report(ReportKind.IGNORED, reason=kind[:100])]


def _bounces(bounce: dict, ref: str | None) -> list[Report]:
    # SES's verdict for the classifier, which may only make it milder: "Permanent General",
    # "Transient MailboxFull", "Permanent OnAccountSuppressionList" (SES did not even try)...
    verdict = f"{text(bounce.get('bounceType'), 50)} {text(bounce.get('bounceSubType'), 100)}"
    when = moment(bounce.get("timestamp"))
    reports = []
    for recipient in _each(bounce.get("bouncedRecipients")):
        diagnostic = text(recipient.get("diagnosticCode"))
        code = read_status(recipient.get("status"), diagnostic)
        reports.append(Report(classify(code, diagnostic, hint=verdict), text(recipient.get("emailAddress")), code,
                              diagnostic or verdict, ref, when))
    return reports


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _each(value: object) -> list[dict]:
    return [item for item in _list(value) if isinstance(item, dict)]
