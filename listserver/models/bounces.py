"""What mail providers and bounce messages tell us about our emails, and the hygiene runs' summaries."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.db import Base
from listserver.models._types import UTCDateTime, utcnow


class ReportSource(enum.StrEnum):
    """Where a delivery report came from (stored values)."""

    SES = "ses"  # Amazon SES through SNS
    POSTMARK = "postmark"
    MAILGUN = "mailgun"
    SENDGRID = "sendgrid"
    WEBHOOK = "webhook"  # the generic JSON hook, signed the Standard Webhooks way
    MAIL = "mail"  # a bounce or complaint message: the inbound receiver, `bounces ingest`, IMAP
    SMTP = "smtp"  # our own relay's reply when we sent


class ReportKind(enum.StrEnum):
    """What a report says happened (stored values). Only HARD and COMPLAINT ever change a status at once."""

    HARD = "hard"  # the address does not exist, or its domain has no mail host
    SOFT = "soft"  # mailbox full, a temporary failure: counted, cleans only when it keeps happening
    OTHER = "other"  # blocked, spam, policy, reputation, rate limits: not the address's fault, never cleans
    COMPLAINT = "complaint"  # marked as spam (ARF, a provider's feedback loop)
    IGNORED = "ignored"  # an auto-reply, a vacation notice, a delay warning
    UNKNOWN = "unknown"  # could not tell: never cleans
    DELIVERY = "delivery"  # the receiving server took the email
    OPEN = "open"
    CLICK = "click"
    UNSUBSCRIBE = "unsubscribe"  # through the provider's own unsubscribe link or list management


BOUNCES = (ReportKind.HARD, ReportKind.SOFT, ReportKind.OTHER)


class DeliveryReport(Base):
    """One report as it arrived (raw, for the parser) and, once processed, what it said.

    A provider's retry of an event carries the same external_id and is stored once. The raw text
    carries addresses; it is kept for a while to reprocess with a better parser, then emptied.
    """

    __tablename__ = "delivery_report"
    __table_args__ = (
        sa.UniqueConstraint("source", "external_id"),
        sa.Index("ix_delivery_report_new", "processed_at", "id"),
        sa.Index("ix_delivery_report_contact", "contact_id", "occurred_at"),
        sa.Index("ix_delivery_report_kind_occurred", "kind", "occurred_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    source: so.Mapped[str] = so.mapped_column(sa.String(20))  # a ReportSource
    external_id: so.Mapped[str] = so.mapped_column(sa.String(200))  # the provider's event id, or a digest
    raw: so.Mapped[str | None] = so.mapped_column(sa.Text)  # the event's JSON or the whole message
    received_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    processed_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)  # None: not yet read
    # What it said, filled in when processed.
    kind: so.Mapped[str | None] = so.mapped_column(sa.String(20))  # a ReportKind
    contact_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("contact.id", ondelete="SET NULL"))
    # Indexed: deleting an outbox message (an erasure, the purge) sets this to NULL in its reports.
    outbox_message_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("outbox_message.id", ondelete="SET NULL"), index=True)
    recipient_domain: so.Mapped[str | None] = so.mapped_column(sa.String(255))  # for list health by domain
    status: so.Mapped[str | None] = so.mapped_column(sa.String(20))  # RFC 3463 "5.1.1", or an SMTP code
    reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))  # the diagnostic, address removed
    machine: so.Mapped[bool] = so.mapped_column(default=False)  # an open or click by a machine
    sent_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)  # when the email reported on left
    occurred_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)


class RunOutcome(enum.StrEnum):
    """How a hygiene run ended (stored values)."""

    RUNNING = "running"  # the lock: at most one row is running (a partial unique index)
    DONE = "done"
    FAILED = "failed"  # an error stopped it; what its batches committed stands and is counted
    ABANDONED = "abandoned"  # killed: committed nothing for hygiene_stale_minutes, so the next run took over


class HygieneRun(Base):
    """One run of the hygiene rules: what each changed and why, or that it failed.

    Each batch's changes and its count in `summary` are committed together, so a run that stops
    half way has counted exactly what it changed, and the next run finds only what is left.
    """

    __tablename__ = "hygiene_run"
    __table_args__ = (
        sa.Index("uq_hygiene_run_running", "outcome", unique=True,
                 postgresql_where=sa.text("outcome = 'running'"), sqlite_where=sa.text("outcome = 'running'")),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    started_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    progressed_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)  # its last commit
    finished_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    outcome: so.Mapped[str] = so.mapped_column(sa.String(20), default=RunOutcome.RUNNING)  # a RunOutcome
    summary: so.Mapped[dict] = so.mapped_column(default=dict)  # {rule: {"changed": n, "why": "...", "seconds": s}}
