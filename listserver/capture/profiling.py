"""Progressive profiling: recognise a returning visitor, choose the next questions, merge answers.

A profile token names a contact and nothing else a browser could read about them. Tokens the
embed script gets back after a submission are *unproven* (anyone can type any address): they
only know which questions this browser already answered, and their answers never overwrite what
a confirmed person told us. Tokens in links of emails we sent are *proven*: the mailbox owner
clicked them, so what the contact already told us decides what comes next.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.contacts import lifecycle
from listserver.contacts.attributes import Answers, form_sources, merged
from listserver.contacts.links import LinkRevoked, Links, load_link
from listserver.forms import quality
from listserver.forms.definition import FieldSpec, FormDefinition, LeadMagnet
from listserver.forms.fields import clean_answers
from listserver.forms.versions import PublishedForm
from listserver.mail import outbox
from listserver.models import (
    ConsentMethod,
    Contact,
    ContactStatus,
    EmailKind,
    EventKind,
    MailingList,
    SubscriptionStatus,
)
from listserver.models._types import utcnow
from listserver.settings import Settings
from listserver.tokens import Key, Purpose, TokenExpired, TokenInvalid

# Contacts who left (or whose address failed) are asked for their address again, which means a
# new double opt-in; they are not "recognised" by an old token.
RECOGNISED = (ContactStatus.PENDING, ContactStatus.SUBSCRIBED)
MAX_TOKEN_LENGTH = 4096


@dataclass(frozen=True)
class Profile:
    contact: Contact | None = None
    proven: bool = False  # from a link in an email to the address itself
    # Whether answers given through this token are stored: not when someone typed in the address of
    # a person who had already confirmed it (they would be writing into a stranger's profile).
    writes: bool = False
    # Questions this browser was asked (answered or skipped) and when, as Unix seconds.
    asked: Mapping[str, int] = field(default_factory=dict)

    @property
    def recognised(self) -> bool:
        return self.contact is not None


NEW_VISITOR = Profile()


def token_after_signup(settings: Settings, definition: FormDefinition, contact: lifecycle.ContactRow | None) -> str:
    """The token the script keeps after a sign-up; for a dropped one (contact None), one that
    recognises nobody. Its answers are stored only if the address was not confirmed before."""
    now = int(utcnow().timestamp())
    return Links(settings).profile_token(
        contact, proven=False, writes=contact is not None and contact.confirmed_at is None,
        asked={spec.key: now for spec in definition.first_view() if spec.key != "email"})


def recognise(session: so.Session, token: object, settings: Settings, *, lock: bool = False) -> Profile:
    """Who a token is for; a forged, altered, expired or revoked token is just a new visitor."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return NEW_VISITOR
    try:
        contact, payload = load_link(session, Purpose.PROFILE, token, settings, lock=lock)
    except (TokenInvalid, TokenExpired, LinkRevoked):
        return NEW_VISITOR
    if contact is None or contact.status not in RECOGNISED:
        return NEW_VISITOR
    asked = payload.get(Key.ASKED) if isinstance(payload.get(Key.ASKED), dict) else {}
    proven = payload.get(Key.PROVEN) is True
    return Profile(contact, proven, proven or payload.get(Key.WRITES) is True,
                   {str(k): v for k, v in asked.items() if isinstance(v, int)})


def _answered_at(profile: Profile) -> dict[str, float]:
    """When each question was last answered, as far as this visitor may know it."""
    times = {key: float(at) for key, at in profile.asked.items()}
    if profile.proven:  # answered, or seen and left blank
        for key in profile.contact.attribute_sources:
            at = (profile.contact.attribute_sources.get(key) or {}).get("at")
            try:
                when = dt.datetime.fromisoformat(at).timestamp() if isinstance(at, str) else 0.0
            except ValueError:
                when = 0.0
            times[key] = max(times.get(key, 0.0), when)
    return times


def next_fields(definition: FormDefinition, profile: Profile, now: dt.datetime | None = None) -> list[FieldSpec]:
    """The next questions in the form's queue: never the email again, never a fresh answer again."""
    if not profile.recognised:
        return definition.first_view()
    now_ts = (now or utcnow()).timestamp()
    answered = _answered_at(profile)

    def still_fresh(spec: FieldSpec) -> bool:
        at = answered.get(spec.key)
        if at is None:
            return False
        days = spec.reask_after_days
        return not days or now_ts - at < days * 86400

    queue = [spec for spec in definition.fields if spec.key != "email" and not still_fresh(spec)]
    return queue[: definition.fields_per_view]


def merge_answers(session: so.Session, contact_id: int, values: Mapping[str, object], sources: Mapping[str, dict],
                  *, keep_known: bool, name_keys: Collection[str] = ()) -> list[str]:
    """Write answers with their provenance; with keep_known, only questions not answered before.
    The data-quality marks follow the names written (`name_keys`: the name questions). The keys written."""
    attributes, known, flags = session.execute(
        sa.select(Contact.attributes, Contact.attribute_sources, Contact.quality_flags)
        .where(Contact.id == contact_id)).one()
    fresh = {k: v for k, v in values.items() if not (keep_known and k in attributes)}
    # A skipped question is noted only where nothing was ever answered.
    noted = {k: v for k, v in sources.items() if k in fresh or (k not in values and k not in attributes)}
    if not noted:
        return []
    written = merged(Answers(attributes, known, flags), fresh, noted, name_keys=name_keys)
    session.execute(sa.update(Contact).where(Contact.id == contact_id)
                    .values(attributes=written.attributes, attribute_sources=written.sources,
                            quality_flags=written.quality_flags, updated_at=utcnow())
                    .execution_options(synchronize_session=False))
    return sorted(fresh)


@dataclass
class Step:
    errors: dict[str, str] = field(default_factory=dict)
    saved: list[str] = field(default_factory=list)
    lead_magnet: LeadMagnet | None = None
    token: str | None = None
    next: list[FieldSpec] = field(default_factory=list)


def save_step(session: so.Session, version: PublishedForm, profile: Profile, answers: Mapping[str, object],
              proof: lifecycle.Proof, settings: Settings) -> Step:
    """A recognised visitor answers the next questions; the email address is never among them."""
    definition = version.definition
    asked = next_fields(definition, profile)
    checked = clean_answers(asked, answers, business_only=definition.business_email_only)
    if checked.errors:
        return Step(errors=checked.errors)
    contact = profile.contact
    now = utcnow()
    after = Profile(contact, profile.proven, profile.writes,
                    {**profile.asked, **{spec.key: int(now.timestamp()) for spec in asked}})
    magnet = _step_magnet(definition, after, set(checked.values))
    saved: list[str] = []
    if profile.writes:  # otherwise the visitor sees the same answer, and nothing is stored
        sources = form_sources(asked, checked.values, version.id, now)
        # Through an unproven token, what a confirmed person told us is never overwritten.
        saved = merge_answers(session, contact.id, checked.values, sources,
                              keep_known=not profile.proven and contact.confirmed_at is not None,
                              name_keys=quality.name_keys(definition.fields))
        _join_chosen_lists(session, version, profile, checked.values, proof, settings)
        lifecycle.record_event(session, contact, EventKind.PROFILE_UPDATED, fields=saved, form=definition.slug,
                               version=version.number, source=ConsentMethod.FORM)
        if profile.proven:  # the mailbox's owner, from a link we emailed; a typed address proves nothing
            lifecycle.note_engagement(contact)
        if magnet is not None and contact.confirmed_at is not None:
            outbox.queue_email(session, contact, EmailKind.LEAD_MAGNET,
                               context={"form_version_id": version.id, "magnet": magnet[0]})
    session.flush()
    return Step(saved=saved, lead_magnet=magnet[1] if magnet else None,
                token=Links(settings).profile_token(contact, proven=after.proven, writes=after.writes,
                                                   asked=after.asked),
                next=next_fields(definition, after))


def _join_chosen_lists(session: so.Session, version: PublishedForm, profile: Profile, values: Mapping[str, object],
                       proof: lifecycle.Proof, settings: Settings) -> None:
    """Join lists picked in a quiz answer: at once where the address is proven and the list does
    not ask for double opt-in, otherwise pending until the address is confirmed (again)."""
    contact = profile.contact
    current = {s.list_id: s.status for s in contact.subscriptions}
    list_ids = [i for i in version.definition.chosen_lists(values) if current.get(i) != SubscriptionStatus.ACTIVE]
    if not list_ids:
        return
    lists = {l.id: l for l in session.scalars(sa.select(MailingList).where(MailingList.id.in_(list_ids)))}
    proven_address = profile.proven and contact.status == ContactStatus.SUBSCRIBED
    waiting = []
    for list_id in list_ids:
        if proven_address and not lists[list_id].double_opt_in:
            lifecycle.set_topic(session, contact, lists[list_id], True, proof)
        else:
            waiting.append(list_id)
    if not waiting:
        return
    lifecycle.request_subscriptions(session, lifecycle.ContactRow.of(contact), waiting, proof)
    session.expire(contact, ["subscriptions"])
    # A pending contact's first confirmation link confirms these too; a subscribed one gets a new one.
    if contact.status == ContactStatus.SUBSCRIBED:
        outbox.queue_invitation(session, contact, EmailKind.CONFIRMATION, context={"form_version_id": version.id},
                                settings=settings)


def _step_magnet(definition: FormDefinition, profile: Profile, just_answered: set[str]
                 ) -> tuple[int, LeadMagnet] | None:
    """The download promised for a set of answers, once this step completes the set."""
    known = set(profile.asked) | (set(profile.contact.attributes) if profile.proven else set())
    for index, magnet in enumerate(definition.profile_magnets):
        after = set(magnet.after)
        if after <= known | just_answered and after & just_answered:
            return index, magnet
    return None
