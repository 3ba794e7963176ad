"""The audit trail: who did what to which records. The one writer of AuditEntry rows; no personal data."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.models import ApiToken, AuditAction, AuditEntry, User


class Actor(enum.StrEnum):
    """Who acts, as the trail names them; some carry an id after a colon ("api:ls_ab12")."""

    SUBSCRIBER = "subscriber"  # a person through their own signed link
    CLI = "cli"
    API = "api"  # with the token's prefix, never the token
    USER = "user"  # a console user, with their id
    SYSTEM = "system"  # a job nobody started by hand


def actor(kind: Actor, who: User | ApiToken | None = None) -> str:
    """The stored name of who acted: "cli", "subscriber", "api:<token prefix>", "user:<id>"."""
    if isinstance(who, ApiToken):
        return f"{kind}:{who.prefix}"
    if isinstance(who, User):
        return f"{kind}:{who.id}"
    return str(kind)


def record(session: so.Session, actor_name: str, action: AuditAction, **detail) -> None:
    """Add one entry to the trail, in the caller's unit of work."""
    session.add(AuditEntry(actor=actor_name, action=action, detail=detail))


def recorded_since(session: so.Session, actor_name: str, action: AuditAction, since: dt.datetime) -> list[dict]:
    """The details of what `actor_name` did of `action` since `since`, oldest first."""
    return list(session.scalars(sa.select(AuditEntry.detail).where(
        AuditEntry.actor == actor_name, AuditEntry.action == action, AuditEntry.created_at >= since)
        .order_by(AuditEntry.id)))
