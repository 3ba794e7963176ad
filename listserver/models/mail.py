"""The outbox: every email listserver sends, written with the change that causes it."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.db import Base
from listserver.models._types import UTCDateTime, utcnow


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for a worker
    SENDING = "sending"  # claimed by one worker
    SENT = "sent"
    SKIPPED = "skipped"  # not sent on purpose (dead domain, contact gone)
    FAILED = "failed"  # gave up after retries


class EmailKind(enum.StrEnum):
    """Which email an outbox message is; also its default template name (stored values)."""

    CONFIRMATION = "confirmation"
    ALREADY_SUBSCRIBED = "already_subscribed"  # a sign-up with nothing left to confirm
    LEAD_MAGNET = "lead_magnet"
    PREFERENCES_LINK = "preferences_link"
    DATA_EXPORT = "data_export"
    ERASE_REQUEST = "erase_request"
    REPERMISSION = "repermission"  # the sunset's "still want our letters?" with a keep-me-subscribed button
    DATA_CHECK = "data_check"  # "is this still right?" about old answers, with the preference-center link


class OutboxMessage(Base):
    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_message_status_due", "status", "next_attempt_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    idempotency_key: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    contact_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    kind: so.Mapped[str] = so.mapped_column(sa.String(40))  # an EmailKind
    recipient: so.Mapped[str] = so.mapped_column(sa.String(320))
    template: so.Mapped[str] = so.mapped_column(sa.String(100))
    context: so.Mapped[dict] = so.mapped_column(default=dict)
    language: so.Mapped[str] = so.mapped_column(sa.String(16), default="en")
    status: so.Mapped[OutboxStatus] = so.mapped_column(
        sa.Enum(OutboxStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=OutboxStatus.QUEUED,
    )
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    claimed_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    sent_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
