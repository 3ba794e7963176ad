"""Reads of contacts that several callers share, each written once: by a typed address, who may be
mailed, a contact's consent proof, timeline and emails, counts for the console.

The console's search and timeline queries belong here when they come.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.forms.fields import lookup_key
from listserver.models import (
    ConsentRecord, Contact, ContactStatus, Deliverability, Event, MailingList, OutboxMessage, Subscription,
    SubscriptionStatus,
)

MAX_ADDRESS_LENGTH = 320  # RFC 5321's limit; anything longer is nobody's address


def find_contact(session: so.Session, typed_email: str) -> Contact | None:
    """The contact of an address as someone typed it (any case, punycode or not, NFC or NFD)."""
    if not isinstance(typed_email, str) or len(typed_email) > MAX_ADDRESS_LENGTH:
        return None
    return session.scalar(sa.select(Contact).where(Contact.email_key == lookup_key(typed_email)))


def mailable(now: dt.datetime, list_id: int | None = None) -> sa.Select:
    """Subscribed, not paused, address not known to fail, and on the list when one is given."""
    active = sa.select(Subscription.contact_id).where(Subscription.status == SubscriptionStatus.ACTIVE)
    if list_id is not None:
        active = active.where(Subscription.list_id == list_id)
    return (
        sa.select(Contact)
        .where(Contact.status == ContactStatus.SUBSCRIBED,
               sa.or_(Contact.paused_until.is_(None), Contact.paused_until <= now),
               sa.or_(Contact.email_check.is_(None), Contact.email_check != Deliverability.UNDELIVERABLE),
               Contact.id.in_(active))
        .order_by(Contact.id)
    )


def count_by_status(session: so.Session) -> dict[ContactStatus, int]:
    """How many contacts there are in each status (a status nobody is in is missing)."""
    return dict(session.execute(sa.select(Contact.status, sa.func.count()).group_by(Contact.status)).all())


def list_names(session: so.Session) -> dict[int, str]:
    """Every list's name by its id, for records that keep only the id."""
    return dict(session.execute(sa.select(MailingList.id, MailingList.name)).all())


def consent_records(session: so.Session, contact: Contact) -> list[ConsentRecord]:
    """The contact's consent proof, oldest first."""
    return list(session.scalars(sa.select(ConsentRecord).where(ConsentRecord.contact_id == contact.id)
                                .order_by(ConsentRecord.id)))


def events(session: so.Session, contact: Contact) -> list[Event]:
    """The contact's timeline, oldest first."""
    return list(session.scalars(sa.select(Event).where(Event.contact_id == contact.id).order_by(Event.id)))


def emails_sent(session: so.Session, contact: Contact) -> list[OutboxMessage]:
    """Every email queued for the contact, oldest first."""
    return list(session.scalars(sa.select(OutboxMessage).where(OutboxMessage.contact_id == contact.id)
                                .order_by(OutboxMessage.id)))
