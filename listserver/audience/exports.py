"""Clean lists for marketers: who may be mailed now, with the links every campaign needs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.accounts import audit
from listserver.contacts import queries, serialize
from listserver.contacts.links import Links
from listserver.errors import NotFound
from listserver.models import AuditAction, Contact, MailingList, SubscriptionStatus
from listserver.models._types import utcnow
from listserver.settings import Settings

COLUMNS = ("id", "email", "first_name", "last_name", "language", "frequency", "lists",
           "preferences_url", "unsubscribe_url", "list_unsubscribe", "list_unsubscribe_post")


def contact_row(contact: Contact, links: Links, list_id: int | None) -> dict:
    """One contact as marketers get it, with the links their sending tool needs."""
    data = serialize.contact(contact, as_stored=True)  # their tools get the answers byte for byte
    headers = links.list_unsubscribe_headers(contact, list_id)
    return {
        "email": data["email"],
        "first_name": data["attributes"].get("first_name", ""),
        "last_name": data["attributes"].get("last_name", ""),
        "language": data["language"],
        "frequency": data["frequency"],
        "lists": " ".join(sorted(s["list_key"] for s in data["subscriptions"]
                                 if s["status"] == SubscriptionStatus.ACTIVE.value)),
        "preferences_url": links.preferences(contact),
        "unsubscribe_url": headers["List-Unsubscribe"].strip("<>"),
        "list_unsubscribe": headers["List-Unsubscribe"],
        "list_unsubscribe_post": headers["List-Unsubscribe-Post"],
    }


@dataclass(frozen=True)
class Export:
    """What an export is of: one list (by key and id), or everyone mailable when both are None."""

    list_key: str | None
    list_id: int | None


def open_export(session: so.Session, list_key: str | None) -> Export:
    """The export of one list, or of everyone mailable; NotFound for a list that does not exist."""
    if list_key is None:
        return Export(None, None)
    list_id = session.scalar(sa.select(MailingList.id).where(MailingList.key == list_key))
    if list_id is None:
        raise NotFound(f"no list with key {list_key!r}", code="unknown_list")
    return Export(list_key, list_id)


def record_export(session: so.Session, export: Export, actor: str, *, after_id: int = 0) -> None:
    """Write an export to the audit trail as it starts; the caller commits before the first row goes out,
    so an export abandoned midway is on record too. Its rows: whom it holds as it starts (past `after_id`)."""
    query = (queries.mailable(utcnow(), export.list_id).where(Contact.id > after_id).order_by(None)
             .with_only_columns(sa.func.count(Contact.id)))
    rows = session.scalar(query)
    audit.record(session, actor, AuditAction.EXPORT, list=export.list_key, rows=rows)
    session.flush()


# How long after an API export starts a page asked for with a cursor is taken as reading on in it.
WALK = dt.timedelta(hours=1)


def walk_on_record(session: so.Session, export: Export, actor: str) -> bool:
    """Whether `actor` started an export of the same list (of everyone, for an export of everyone) within WALK."""
    started = audit.recorded_since(session, actor, AuditAction.EXPORT, utcnow() - WALK)
    return any(detail.get("list") == export.list_key for detail in started)


def export_rows(session: so.Session, settings: Settings, export: Export, *,
                after_id: int = 0, limit: int | None = None) -> Iterator[dict]:
    """Rows for an export, streamed in id order."""
    links = Links(settings)
    query = queries.mailable(utcnow(), export.list_id).where(Contact.id > after_id).limit(limit)
    for contact in session.scalars(query.execution_options(yield_per=500)):
        yield {"id": contact.id, **contact_row(contact, links, export.list_id)}
