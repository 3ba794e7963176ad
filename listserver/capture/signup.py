"""Capture and double opt-in: a form submission becomes a pending contact, a click confirms it."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver import languages
from listserver.capture import profiling
from listserver.contacts import lifecycle
from listserver.contacts.attributes import form_sources
from listserver.errors import Gone
from listserver.forms import quality
from listserver.forms.fields import Email, clean_answers
from listserver.forms.versions import PublishedForm
from listserver.mail import outbox
from listserver.models import (
    ConsentMethod,
    Contact,
    EmailKind,
    EventKind,
    FormVersion,
    SubscriptionStatus,
)
from listserver.models._types import utcnow
from listserver.settings import Settings
from listserver.tokens import Key, Purpose, Signer


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"  # the visitor is told to check the inbox, whatever happened inside
    INVALID = "invalid"  # field errors to show
    SUGGEST = "suggest"  # a likely typo in the address; ask before going on
    RATE_LIMITED = "rate_limited"  # an address signed up too often: nothing written, a challenge to ask


@dataclass
class SubmitResult:
    outcome: Outcome
    errors: dict[str, str] = field(default_factory=dict)
    suggestions: dict[str, str] = field(default_factory=dict)
    contact: lifecycle.ContactRow | None = None  # who the submission was for, when it was taken


@dataclass(frozen=True)
class Visitor:
    """Who submitted, for consent proof; nothing here is logged."""

    ip: str | None
    user_agent: str | None
    method: ConsentMethod = ConsentMethod.FORM
    language: str | None = None  # the language the form was shown in (?lang=, the browser's)

    def proof(self, version: PublishedForm, language: str,
              method: ConsentMethod | None = None) -> lifecycle.Proof:
        """Consent proof for what this visitor was shown: the form version, its consent text in `language`."""
        return lifecycle.Proof(method or self.method, self.ip, self.user_agent, version.id,
                               version.definition.consent_in(language)[1])


def submit(
    session: so.Session,
    version: PublishedForm,
    answers: Mapping[str, object],
    visitor: Visitor,
    settings: Settings,
    *,
    allow_address: Callable[[str], bool] = lambda key: True,
    typed_email_confirmed: bool = False,
) -> SubmitResult:
    """Validate, upsert the contact as pending, record consent and queue one confirmation email.

    A new address on PostgreSQL is written and committed by one statement
    (lifecycle.sign_up_new_address); a known one, or any on SQLite, by the general path, which the
    caller commits. RATE_LIMITED leaves the locked contact for the caller to roll back.
    """
    definition = version.definition
    asked = definition.first_view()
    checked = clean_answers(asked, answers, business_only=definition.business_email_only)
    if checked.errors:
        return SubmitResult(Outcome.INVALID, errors=checked.errors, suggestions=checked.suggestions)
    if checked.suggestions and not typed_email_confirmed:
        return SubmitResult(Outcome.SUGGEST, suggestions=checked.suggestions)
    email: Email = checked.values.pop("email")

    sources = form_sources(asked, checked.values, version.id, utcnow())
    language = languages.choose(definition.language, requested=visitor.language)
    proof = visitor.proof(version, language)
    # A quiz answer that names a list asks for it like the form's own lists: pending until the
    # same confirmation link proves the address.
    list_ids = list(dict.fromkeys(definition.list_ids + definition.chosen_lists(checked.values)))
    event = {"form": definition.slug, "version": version.number, "method": visitor.method}
    context = {"form_version_id": version.id}
    names = quality.name_keys(definition.fields)
    contact_columns = {"language": language, "form_id": version.form_id, "attributes": checked.values,
                       "sources": sources, "quality_flags": quality.name_flags([], checked.values, names)}
    new = lifecycle.sign_up_new_address(
        session, email, **contact_columns, list_ids=list_ids, proof=proof, event=event,
        message=outbox.message_row(email.address, language, _invitation(list_ids), context=context))
    if new is not None:  # written and committed by its one statement
        return SubmitResult(Outcome.ACCEPTED, contact=new)
    contact = lifecycle.upsert_pending_contact(session, email, **contact_columns)
    if not contact.created and not allow_address(email.key):
        # The limit is on coming back (an inbox flooded through our forms), so an address's
        # first sign-up is never counted, and the usual path saves a Redis round trip.
        return SubmitResult(Outcome.RATE_LIMITED)
    _sign_up_again(session, contact, checked.values, sources, list_ids, proof, event, context, settings,
                   name_keys=names)
    session.flush()
    return SubmitResult(Outcome.ACCEPTED, contact=contact)


def _sign_up_again(session: so.Session, contact: lifecycle.ContactRow, values: dict, sources: dict,
                   list_ids: list[int], proof: lifecycle.Proof, event: dict, context: dict, settings: Settings,
                   name_keys: list[str] = ()):
    """The general path, after the upsert: what the contact has decides what is written and sent."""
    if not contact.created and contact.confirmed_at is None:
        # Answers from an unproven address never overwrite what a confirmed person told us.
        profiling.merge_answers(session, contact.id, values, sources, keep_known=False, name_keys=name_keys)
    waiting = lifecycle.request_subscriptions(session, contact, list_ids, proof)
    lifecycle.record_event(session, contact, EventKind.SUBMITTED, **event)
    if contact.created:
        outbox.queue_email(session, contact, _invitation(waiting), context=context)
    else:
        outbox.queue_invitation(session, contact, _invitation(waiting), context=context, settings=settings)


def _invitation(waiting: list[int]) -> EmailKind:
    """The email a sign-up sends: a confirmation, or a note that there is nothing left to confirm."""
    return EmailKind.CONFIRMATION if waiting else EmailKind.ALREADY_SUBSCRIBED


class LinkUsed(Gone):
    """A genuine confirmation link that has already done its work."""

    code = "link_used"

    def __init__(self, contact: Contact | None, version: PublishedForm | None):
        super().__init__("confirmation link already used")
        self.contact, self.version = contact, version


@dataclass(frozen=True)
class Confirmation:
    contact: Contact
    version: PublishedForm


def inspect_confirmation(session: so.Session, token: str, settings: Settings, *, lock: bool = False) -> Confirmation:
    """The contact and form a confirmation token is for; TokenInvalid/TokenExpired/LinkUsed otherwise."""
    payload = Signer(settings).load(Purpose.CONFIRM, token)
    query = sa.select(Contact).where(Contact.id == payload.get(Key.CONTACT))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    contact = session.scalars(query).one_or_none()
    version_id = payload.get(Key.FORM)
    version = session.get(FormVersion, version_id) if isinstance(version_id, int) else None
    published = PublishedForm.of(version) if version is not None else None
    if contact is None or version is None:
        raise LinkUsed(None, published)
    if payload.get(Key.VERSION) != contact.confirm_version:
        raise LinkUsed(contact, published)
    return Confirmation(contact, published)


def confirm(session: so.Session, token: str, visitor: Visitor, settings: Settings) -> Confirmation:
    """Prove the address: subscriptions active, consent confirmed, lead magnet on its way."""
    found = inspect_confirmation(session, token, settings, lock=True)
    contact, version = found.contact, found.version
    proof = visitor.proof(version, contact.language, method=ConsentMethod.CONFIRMATION_LINK)
    lifecycle.confirm(session, contact, proof)
    if version.definition.lead_magnet:
        outbox.queue_email(session, contact, EmailKind.LEAD_MAGNET, context={"form_version_id": version.id})
    session.flush()
    return found


def resend_confirmation(session: so.Session, payload: Mapping, settings: Settings) -> None:
    """Send a fresh link for an expired one, if the person is still waiting and under the cap."""
    contact_id, version_id = payload.get(Key.CONTACT), payload.get(Key.FORM)
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
    outbox.queue_invitation(session, contact, EmailKind.CONFIRMATION, context={"form_version_id": version.id},
                            settings=settings)
    lifecycle.record_event(session, contact, EventKind.CONFIRMATION_RESENT)
    session.flush()
