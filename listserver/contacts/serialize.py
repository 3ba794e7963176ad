"""A contact as plain data: JSON-ready values (ISO 8601 times, statuses as their stored words).

One shape for everyone who shows a contact: `listserver contacts show`, the API, the exports and
the person's own data download each pick from it and name things their own way.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy.orm as so

from listserver.contacts import queries
from listserver.forms.fields import LONE_SURROGATE
from listserver.models import ConsentRecord, Contact, Event, OutboxMessage, Subscription


def readable(value: object) -> object:
    """Stored answers as a page, file or terminal can show them."""
    # A broken character (half of a UTF-16 pair, stored before the field rules refused them) fails
    # to encode and turned the page into a 500 for good; U+FFFD shows where it was.
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {readable(k): readable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [readable(v) for v in value]
    return value


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def contact(contact: Contact, *, as_stored: bool = False) -> dict:
    """The contact's own record: status, profile answers with where each came from, subscriptions.
    Answers are made readable unless `as_stored` (tools get them byte for byte)."""
    answers = (lambda value: value) if as_stored else readable
    return {
        "id": contact.id,
        "email": contact.email,
        "status": contact.status.value,
        "email_check": contact.email_check,
        "language": contact.language,
        "frequency": contact.frequency.value,
        "paused_until": iso(contact.paused_until),
        "created_at": iso(contact.created_at),
        "confirmed_at": iso(contact.confirmed_at),
        "attributes": answers(contact.attributes),
        "attribute_sources": answers(contact.attribute_sources),
        "quality_flags": contact.quality_flags,  # marks such as fake_name: the data is kept, only marked
        "subscriptions": [subscription(s) for s in contact.subscriptions],
    }


def subscription(subscription: Subscription) -> dict:
    return {
        "list_id": subscription.list_id,
        "list_key": subscription.mailing_list.key,
        "list_name": subscription.mailing_list.name,
        "status": subscription.status.value,
        "since": iso(subscription.created_at),
        "confirmed_at": iso(subscription.confirmed_at),
        "unsubscribed_at": iso(subscription.unsubscribed_at),
    }


def history(session: so.Session, contact: Contact) -> dict:
    """What the contact agreed to, what happened to them and what they were sent, oldest first."""
    names = queries.list_names(session)
    return {
        "consent_records": [consent_record(c, names) for c in queries.consent_records(session, contact)],
        "events": [event(e) for e in queries.events(session, contact)],
        "emails_sent": [email_sent(m) for m in queries.emails_sent(session, contact)],
    }


def consent_record(record: ConsentRecord, list_names: dict[int, str]) -> dict:
    return {
        "action": record.action.value,
        "list_id": record.list_id,
        "list_name": list_names.get(record.list_id),
        "method": record.method,
        "form_version_id": record.form_version_id,
        "consent_text_hash": record.consent_text_hash,
        "ip": record.ip,
        "user_agent": record.user_agent,
        "at": iso(record.created_at),
    }


def event(event: Event) -> dict:
    return {"kind": event.kind, "data": event.data, "at": iso(event.created_at)}


def email_sent(message: OutboxMessage) -> dict:
    return {"kind": message.kind, "status": message.status.value, "at": iso(message.created_at)}
