"""Capture and double opt-in: a form submission becomes a pending contact, a click confirms it."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver import lifecycle, outbox
from listserver.fields import Email, clean_answers
from listserver.forms import PublishedForm
from listserver.models import (
    Contact,
    FormVersion,
    OutboxMessage,
    SubscriptionStatus,
)
from listserver.models._types import utcnow
from listserver.settings import Settings
from listserver.tokens import Purpose, Signer

INVITATION_KINDS = ("confirmation", "already_subscribed")


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"  # the visitor is told to check the inbox, whatever happened inside
    INVALID = "invalid"  # field errors to show
    SUGGEST = "suggest"  # a likely typo in the address; ask before going on


@dataclass
class SubmitResult:
    outcome: Outcome
    errors: dict[str, str] = field(default_factory=dict)
    suggestions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Visitor:
    """Who submitted, for consent proof; nothing here is logged."""

    ip: str | None
    user_agent: str | None
    method: str = "form"


def view_fields(version: FormVersion) -> list[dict]:
    """The questions a new visitor sees: the first of the form's queue, email always among them."""
    definition = version.definition
    fields = definition["fields"][: definition["fields_per_view"]]
    if "email" not in [f["key"] for f in fields]:
        fields = [f for f in definition["fields"] if f["key"] == "email"] + fields[:-1]
    return fields


def submit(
    session: so.Session,
    version: FormVersion | PublishedForm,
    answers: Mapping[str, object],
    visitor: Visitor,
    settings: Settings,
    *,
    allow_address: Callable[[str], bool] = lambda key: True,
    typed_email_confirmed: bool = False,
) -> SubmitResult:
    """Validate, upsert the contact as pending, record consent and queue one confirmation email."""
    definition = version.definition
    checked = clean_answers(view_fields(version), answers, business_only=definition["business_email_only"])
    if checked.errors:
        return SubmitResult(Outcome.INVALID, errors=checked.errors, suggestions=checked.suggestions)
    if checked.suggestions and not typed_email_confirmed:
        return SubmitResult(Outcome.SUGGEST, suggestions=checked.suggestions)
    email: Email = checked.values.pop("email")
    if not allow_address(email.key):
        return SubmitResult(Outcome.ACCEPTED)

    sources = {key: {"form_version_id": version.id, "at": utcnow().isoformat()} for key in checked.values}
    contact = lifecycle.upsert_pending_contact(session, email, language=definition["language"],
                                               form_id=version.form_id, attributes=checked.values, sources=sources)
    if not contact.created and contact.confirmed_at is None:
        # Answers from an unproven address never overwrite what a confirmed person told us.
        _merge_answers(session, contact.id, checked.values, sources)
    proof = lifecycle.Proof(visitor.method, visitor.ip, visitor.user_agent, version.id, version.consent_text_hash)
    waiting = lifecycle.request_subscriptions(session, contact, [l["id"] for l in definition["lists"]], proof)
    lifecycle.record_event(session, contact, "submitted", form=definition["slug"], version=version.number,
                           method=visitor.method)
    if contact.created or _may_invite(session, contact.id, settings):
        kind = "confirmation" if waiting else "already_subscribed"
        outbox.queue_email(session, contact, kind, context={"form_version_id": version.id})
    session.commit()
    return SubmitResult(Outcome.ACCEPTED)


def _merge_answers(session: so.Session, contact_id: int, values: dict[str, object], sources: dict) -> None:
    if not values:
        return
    attributes, known = session.execute(
        sa.select(Contact.attributes, Contact.attribute_sources).where(Contact.id == contact_id)).one()
    session.execute(sa.update(Contact).where(Contact.id == contact_id)
                    .values(attributes={**attributes, **values}, attribute_sources={**known, **sources})
                    .execution_options(synchronize_session=False))


def _may_invite(session: so.Session, contact_id: int, settings: Settings) -> bool:
    """At most N invitations a day per address, and not twice within a minute."""
    since = utcnow() - dt.timedelta(days=1)
    count, latest = session.execute(
        sa.select(sa.func.count(OutboxMessage.id), sa.func.max(OutboxMessage.created_at))
        .where(OutboxMessage.contact_id == contact_id, OutboxMessage.kind.in_(INVITATION_KINDS),
               OutboxMessage.created_at >= since)
    ).one()
    if count >= settings.confirmations_per_day:
        return False
    if latest is not None:
        latest = latest if latest.tzinfo else latest.replace(tzinfo=dt.UTC)
        if utcnow() - latest < dt.timedelta(seconds=settings.confirmation_resend_seconds):
            return False
    return True


class LinkUsed(Exception):
    """A genuine confirmation link that has already done its work."""

    def __init__(self, contact: Contact | None, version: FormVersion | None):
        super().__init__("confirmation link already used")
        self.contact, self.version = contact, version


@dataclass(frozen=True)
class Confirmation:
    contact: Contact
    version: FormVersion


def inspect_confirmation(session: so.Session, token: str, settings: Settings, *, lock: bool = False) -> Confirmation:
    """The contact and form a confirmation token is for; TokenInvalid/TokenExpired/LinkUsed otherwise."""
    payload = Signer(settings).load(Purpose.CONFIRM, token)
    query = sa.select(Contact).where(Contact.id == payload.get("c"))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    contact = session.scalars(query).one_or_none()
    version = session.get(FormVersion, payload.get("f")) if isinstance(payload.get("f"), int) else None
    if contact is None or version is None:
        raise LinkUsed(None, version)
    if payload.get("v") != contact.confirm_version:
        raise LinkUsed(contact, version)
    return Confirmation(contact, version)


def confirm(session: so.Session, token: str, visitor: Visitor, settings: Settings) -> Confirmation:
    """Prove the address: subscriptions active, consent confirmed, lead magnet on its way."""
    found = inspect_confirmation(session, token, settings, lock=True)
    contact, version = found.contact, found.version
    proof = lifecycle.Proof("confirmation_link", visitor.ip, visitor.user_agent, version.id,
                            version.consent_text_hash)
    lifecycle.confirm(session, contact, proof)
    if version.definition.get("lead_magnet"):
        outbox.queue_email(session, contact, "lead_magnet", context={"form_version_id": version.id})
    session.commit()
    return found


def resend_confirmation(session: so.Session, payload: Mapping, settings: Settings) -> None:
    """Send a fresh link for an expired one, if the person is still waiting and under the cap."""
    contact_id, version_id = payload.get("c"), payload.get("f")
    if not isinstance(contact_id, int) or not isinstance(version_id, int):
        return
    contact = session.scalars(
        sa.select(Contact).where(Contact.id == contact_id).with_for_update()
    ).one_or_none()
    version = session.get(FormVersion, version_id)
    if contact is None or version is None:
        return
    if not any(s.status == SubscriptionStatus.PENDING for s in contact.subscriptions):
        return
    if _may_invite(session, contact.id, settings):
        outbox.queue_email(session, contact, "confirmation", context={"form_version_id": version.id})
        lifecycle.record_event(session, contact, "confirmation_resent")
    session.commit()
