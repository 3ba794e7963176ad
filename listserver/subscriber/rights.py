"""The subscriber's data rights: a machine-readable copy of everything, and erasure."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.accounts import audit
from listserver.contacts import lifecycle, serialize
from listserver.mail import transport
from listserver.models import AuditAction, Contact, EventKind, OutboxMessage
from listserver.models._types import utcnow
from listserver.settings import Settings


def export_data(session: so.Session, contact: Contact) -> dict:
    """Profile, subscriptions, consent records, events and emails sent, as plain JSON data."""
    history = serialize.history(session, contact)  # read first: the export's own event is not in it
    lifecycle.record_event(session, contact, EventKind.DATA_EXPORTED)
    session.flush()
    data = serialize.contact(contact)
    return {
        "exported_at": serialize.iso(utcnow()),
        "profile": {key: data[key] for key in ("email", "status", "language", "frequency", "paused_until",
                                               "created_at", "confirmed_at", "attributes", "attribute_sources")},
        "subscriptions": [
            {"list": s["list_name"], **{key: s[key] for key in ("status", "since", "confirmed_at", "unsubscribed_at")}}
            for s in data["subscriptions"]
        ],
        "consent_records": [
            {"action": c["action"], "list": c["list_name"], "method": c["method"],
             "form_version_id": c["form_version_id"], "consent_text_sha256": c["consent_text_hash"],
             "ip": c["ip"], "user_agent": c["user_agent"], "at": c["at"]}
            for c in history["consent_records"]
        ],
        "events": history["events"],
        "emails_sent": history["emails_sent"],
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
