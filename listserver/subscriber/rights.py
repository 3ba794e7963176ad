"""The subscriber's data rights: a machine-readable copy of everything, and erasure."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.contacts import lifecycle
from listserver.mail import transport
from listserver.accounts import audit
from listserver.models import AuditAction, ConsentRecord, Contact, Event, EventKind, MailingList, OutboxMessage
from listserver.models._types import utcnow
from listserver.settings import Settings
from listserver.subscriber import preferences


def _iso(value):
    return value.isoformat() if value is not None else None


def export_data(session: so.Session, contact: Contact) -> dict:
    """Profile, subscriptions, consent records, events and emails sent, as plain JSON data."""
    names = dict(session.execute(sa.select(MailingList.id, MailingList.name)).all())
    consents = session.scalars(sa.select(ConsentRecord).where(ConsentRecord.contact_id == contact.id)
                               .order_by(ConsentRecord.id))
    events = session.scalars(sa.select(Event).where(Event.contact_id == contact.id).order_by(Event.id))
    emails = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.contact_id == contact.id)
                             .order_by(OutboxMessage.id))
    lifecycle.record_event(session, contact, EventKind.DATA_EXPORTED)
    session.flush()
    return {
        "exported_at": _iso(utcnow()),
        "profile": {
            "email": contact.email,
            "status": contact.status.value,
            "language": contact.language,
            "frequency": contact.frequency.value,
            "paused_until": _iso(contact.paused_until),
            "created_at": _iso(contact.created_at),
            "confirmed_at": _iso(contact.confirmed_at),
            "attributes": preferences.readable(contact.attributes),
            "attribute_sources": preferences.readable(contact.attribute_sources),
        },
        "subscriptions": [
            {"list": names.get(s.list_id), "status": s.status.value, "since": _iso(s.created_at),
             "confirmed_at": _iso(s.confirmed_at), "unsubscribed_at": _iso(s.unsubscribed_at)}
            for s in contact.subscriptions
        ],
        "consent_records": [
            {"action": c.action.value, "list": names.get(c.list_id), "method": c.method,
             "form_version_id": c.form_version_id, "consent_text_sha256": c.consent_text_hash,
             "ip": c.ip, "user_agent": c.user_agent, "at": _iso(c.created_at)}
            for c in consents
        ],
        "events": [{"kind": e.kind, "data": e.data, "at": _iso(e.created_at)} for e in events],
        "emails_sent": [{"kind": m.kind, "status": m.status.value, "at": _iso(m.created_at)} for m in emails],
    }


def erase(session: so.Session, contact: Contact) -> Erasure:
    """Remove the person and their emails; keep a hashed suppression and an audit entry without
    personal data. The mailbox's copies go once the caller has committed (Erasure.remove_copies)."""
    contact_id = contact.id
    emails = session.execute(sa.delete(OutboxMessage).where(OutboxMessage.contact_id == contact_id)
                             .returning(OutboxMessage.idempotency_key, OutboxMessage.id)).all()
    lifecycle.erase(session, contact)
    audit.record(session, audit.actor(audit.Actor.SUBSCRIBER), AuditAction.CONTACT_ERASED, contact_id=contact_id)
    session.flush()
    return Erasure([tuple(email) for email in emails])


@dataclass(frozen=True)
class Erasure:
    """The emails of an erased person, whose copies in the embedded mailbox are still on disk."""

    emails: list[tuple[str, int]]

    def remove_copies(self, settings: Settings) -> None:
        """Call only once the erasure is committed: a rollback must not leave emails on record
        without their copies."""
        transport.remove_mailbox_copies(settings.mail_dir, self.emails)
