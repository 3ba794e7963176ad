"""Contacts, their subscriptions, consent proof, timeline events and suppressions."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.db import Base
from listserver.models._types import UTCDateTime, utcnow


class ContactStatus(enum.StrEnum):
    PENDING = "pending"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    CLEANED = "cleaned"
    COMPLAINED = "complained"
    INACTIVE = "inactive"


class SubscriptionStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"


class ConsentAction(enum.StrEnum):
    GRANTED = "granted"
    CONFIRMED = "confirmed"
    WITHDRAWN = "withdrawn"
    PAUSED = "paused"
    RESUMED = "resumed"


class Deliverability(enum.StrEnum):
    """What DNS says of an address's domain (stored in contact.email_check)."""

    DELIVERABLE = "deliverable"
    UNDELIVERABLE = "undeliverable"
    # DNS did not answer in time, or cannot be believed when it says no: we send, and bounces will tell.
    UNKNOWN = "unknown"


class EventKind(enum.StrEnum):
    """What a timeline entry records; the values are stored and exported, so they never change."""

    SUBMITTED = "submitted"  # a form was sent
    CONFIRMED = "confirmed"  # the confirmation link was used
    CONFIRMATION_RESENT = "confirmation_resent"
    STATUS_CHANGED = "status_changed"
    SUBSCRIBED = "subscribed"  # a topic switched on
    UNSUBSCRIBED = "unsubscribed"
    PAUSED = "paused"
    RESUMED = "resumed"
    FREQUENCY_CHANGED = "frequency_changed"
    PROFILE_UPDATED = "profile_updated"
    LINK_REQUESTED = "link_requested"  # a subscriber link emailed on request
    LINKS_REVOKED = "links_revoked"
    DATA_EXPORTED = "data_exported"
    INVITATION_HELD = "invitation_held"  # over the daily cap: the email waits
    BOUNCED = "bounced"  # data: type (hard, soft, other), status, source
    COMPLAINED = "complained"  # marked an email as spam
    OPENED = "opened"
    CLICKED = "clicked"
    REPERMISSION_ASKED = "repermission_asked"  # the sunset's "still want our letters?" email
    KEPT_SUBSCRIBED = "kept_subscribed"  # the answer to it
    DATA_CHECK_ASKED = "data_check_asked"  # "is this still right?"
    PURGED = "purged"  # a never-confirmed sign-up's personal data deleted (contact_id is None)


class ConsentMethod(enum.StrEnum):
    """How a person acted, in consent records and timeline events (stored values)."""

    FORM = "form"  # a hosted or embedded form's page
    API = "api"  # a form sent as JSON (the embed script, a site's own code)
    PROFILING = "profiling"  # later answers of a recognised visitor
    CONFIRMATION_LINK = "confirmation_link"
    PREFERENCE_CENTER = "preference_center"
    ONE_CLICK = "one_click"  # RFC 8058 List-Unsubscribe-Post
    UNSUBSCRIBE_PAGE = "unsubscribe_page"
    PROVIDER = "provider"  # a mail provider's report: its unsubscribe link, a spam complaint
    REPERMISSION_LINK = "repermission_link"  # "keep me subscribed" in the sunset email
    HYGIENE = "hygiene"  # a hygiene rule (hard bounces, soft bounces, sunset, purge)


class Frequency(enum.StrEnum):
    """How often a subscriber wants mail; exported so the sending tool can honour it."""

    ALL = "all"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


def _status_column(enum_cls: type[enum.StrEnum], default: enum.StrEnum):
    return so.mapped_column(
        sa.Enum(enum_cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e],
                validate_strings=True),
        default=default,
    )


class Contact(Base):
    __tablename__ = "contact"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(320))  # as the person typed it
    email_key: so.Mapped[str] = so.mapped_column(sa.String(320), unique=True)  # lower(NFC(email))
    status: so.Mapped[ContactStatus] = _status_column(ContactStatus, ContactStatus.PENDING)
    # Profile answers: {"first_name": "Zoë", ...}; provenance per key in attribute_sources.
    attributes: so.Mapped[dict] = so.mapped_column(default=dict)
    attribute_sources: so.Mapped[dict] = so.mapped_column(default=dict)
    # Data-quality marks for the marketer to filter on (quality.FAKE_NAME…); never a reason to refuse.
    quality_flags: so.Mapped[list] = so.mapped_column(default=list, server_default="[]")
    language: so.Mapped[str] = so.mapped_column(sa.String(16), default="en")
    source_form_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("form.id", ondelete="SET NULL"))
    # Bumped when a confirmation link is used, so every older confirmation link stops working.
    confirm_version: so.Mapped[int] = so.mapped_column(default=1)
    # Bumped to revoke every preference and unsubscribe link sent so far.
    link_version: so.Mapped[int] = so.mapped_column(default=1)
    frequency: so.Mapped[Frequency] = _status_column(Frequency, Frequency.ALL)
    # Paused contacts stay subscribed but leave exports until this moment passes.
    paused_until: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    # None until the worker has looked the domain up; then "deliverable", "unknown" or "undeliverable".
    email_check: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    # A click, a human open, a confirmation, a preference-center visit, a profiling answer.
    last_engaged_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    # A receiving server took an email: the address works (not interest, so the sunset ignores it).
    last_delivered_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    # The sunset's re-permission email was queued. Engaging after it answers it; the button also empties it.
    repermission_asked_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    # The last "is this still right?" email about their answers.
    data_check_asked_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    subscriptions: so.Mapped[list[Subscription]] = so.relationship(
        back_populates="contact", cascade="all, delete-orphan", lazy="selectin"
    )


class Subscription(Base):
    __tablename__ = "subscription"
    # The unique index also serves lookups by contact_id alone (its leading column).
    __table_args__ = (sa.UniqueConstraint("contact_id", "list_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    contact_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("contact.id", ondelete="CASCADE"))
    list_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("mailing_list.id", ondelete="CASCADE"), index=True)
    status: so.Mapped[SubscriptionStatus] = _status_column(SubscriptionStatus, SubscriptionStatus.PENDING)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)
    unsubscribed_at: so.Mapped[dt.datetime | None] = so.mapped_column(UTCDateTime)

    contact: so.Mapped[Contact] = so.relationship(back_populates="subscriptions")
    mailing_list: so.Mapped["MailingList"] = so.relationship(lazy="joined")  # noqa: F821


class ConsentRecord(Base):
    """Append-only proof of what a person agreed to, where, when and how."""

    __tablename__ = "consent_record"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    contact_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    list_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("mailing_list.id", ondelete="SET NULL"))
    action: so.Mapped[ConsentAction] = _status_column(ConsentAction, ConsentAction.GRANTED)
    form_version_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("form_version.id"))
    consent_text_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    method: so.Mapped[str] = so.mapped_column(sa.String(40))  # a ConsentMethod
    ip: so.Mapped[str | None] = so.mapped_column(sa.String(45))
    user_agent: so.Mapped[str | None] = so.mapped_column(sa.String(512))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """One entry of a contact's timeline."""

    __tablename__ = "event"
    __table_args__ = (sa.Index("ix_event_contact_created", "contact_id", "created_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    contact_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("contact.id", ondelete="SET NULL"))
    kind: so.Mapped[str] = so.mapped_column(sa.String(40))  # an EventKind
    data: so.Mapped[dict] = so.mapped_column(default=dict)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class AuditAction(enum.StrEnum):
    """What an audit entry records (stored values)."""

    EXPORT = "export"  # a page of contacts left through the CLI or the API
    CONTACT_ERASED = "contact_erased"


class AuditEntry(Base):
    """Who did what to which records: exports, imports, erasures, role changes. No personal data."""

    __tablename__ = "audit_entry"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    actor: so.Mapped[str] = so.mapped_column(sa.String(100))  # audit.actor(): "subscriber", "user:3", "system"
    action: so.Mapped[str] = so.mapped_column(sa.String(40))  # an AuditAction
    detail: so.Mapped[dict] = so.mapped_column(default=dict)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class Suppression(Base):
    """A hashed address that imports and the API must never add back."""

    __tablename__ = "suppression"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    reason: so.Mapped[str] = so.mapped_column(sa.String(40))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(UTCDateTime, default=utcnow)
