"""The subscriber's own controls: topics, frequency, pause, profile, unsubscribe, fresh links.

Saving anything here is engagement (the sunset waits); only looking is not: mail scanners open
every link of an email, the preference link in each footer too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.contacts import lifecycle, queries
from listserver.contacts.attributes import Answers, merged, preference_center_sources
from listserver.errors import Conflict, Invalid
from listserver.forms import quality
from listserver.forms.definition import FieldSpec, FormDefinition
from listserver.forms.fields import clean_answers
from listserver.forms.library import BUILTIN_FIELDS, builtin_spec
from listserver.mail import outbox
from listserver.models import (
    ConsentMethod,
    Contact,
    ContactStatus,
    EmailKind,
    EventKind,
    Form,
    Frequency,
    MailingList,
    OutboxMessage,
    SubscriptionStatus,
)
from listserver.models._types import utcnow

PAUSE_MONTHS = (1, 3, 6)
LINK_EMAILS_PER_DAY = 3
# Statuses a person can still manage; a cleaned address cannot receive the links anyway.
MANAGEABLE = {ContactStatus.PENDING, ContactStatus.SUBSCRIBED, ContactStatus.UNSUBSCRIBED,
              ContactStatus.INACTIVE, ContactStatus.COMPLAINED}


class NotConfirmed(Conflict):
    """Topics are for confirmed addresses: only the confirmation link proves one."""

    code = "not_confirmed"


@dataclass(frozen=True)
class Topic:
    mailing_list: MailingList
    active: bool


def topics(session: so.Session, contact: Contact) -> list[Topic]:
    """Public lists, and private ones the contact is on, each with whether it is on."""
    active = {s.list_id for s in contact.subscriptions if s.status == SubscriptionStatus.ACTIVE}
    mine = {s.list_id for s in contact.subscriptions}
    lists = session.scalars(sa.select(MailingList).where(sa.or_(MailingList.public, MailingList.id.in_(mine)))
                            .order_by(MailingList.id)).all()
    return [Topic(l, l.id in active) for l in lists]


def profile_fields(session: so.Session, contact: Contact) -> list[FieldSpec]:
    """The questions the contact can edit: those of the form they came from, then anything answered."""
    fields: list[FieldSpec] = []
    if contact.source_form_id:
        form = session.get(Form, contact.source_form_id)
        if form is not None and form.current_version is not None:
            definition = FormDefinition.from_json(form.current_version.definition)
            fields = [dataclasses.replace(spec, required=False) for spec in definition.fields if spec.key != "email"]
    known = {spec.key for spec in fields}
    for key in contact.attributes:
        if key not in known and key in BUILTIN_FIELDS:
            fields.append(builtin_spec(key))
    return fields


def save_topics(session: so.Session, contact: Contact, wanted: set[int], frequency: str,
                proof: lifecycle.Proof) -> None:
    if contact.status not in (ContactStatus.SUBSCRIBED, ContactStatus.UNSUBSCRIBED, ContactStatus.INACTIVE):
        raise NotConfirmed("only a confirmed address can change topics here")
    for topic in topics(session, contact):
        lifecycle.set_topic(session, contact, topic.mailing_list, topic.mailing_list.id in wanted, proof)
    if frequency in Frequency.__members__.values() and frequency != contact.frequency:
        contact.frequency = Frequency(frequency)
        lifecycle.record_event(session, contact, EventKind.FREQUENCY_CHANGED, frequency=frequency)
    lifecycle.note_engagement(contact)
    session.flush()


def pause(session: so.Session, contact: Contact, months: int, proof: lifecycle.Proof) -> None:
    if months not in PAUSE_MONTHS:
        raise Invalid(f"pause for {', '.join(map(str, PAUSE_MONTHS))} months", field="months")
    lifecycle.pause(session, contact, utcnow() + dt.timedelta(days=30 * months), proof)
    lifecycle.note_engagement(contact)
    session.flush()


def resume(session: so.Session, contact: Contact, proof: lifecycle.Proof) -> None:
    lifecycle.resume(session, contact, proof)
    lifecycle.note_engagement(contact)
    session.flush()


def save_profile(session: so.Session, contact: Contact, answers: Mapping[str, object]) -> dict[str, str]:
    """Apply edits with the same rules as forms; the field errors, empty when saved."""
    fields = profile_fields(session, contact)
    # A multi-choice question with nothing ticked sends nothing: that is the person clearing it.
    answers = {**{spec.key: [] for spec in fields if spec.type == "multi_select"}, **answers}
    checked = clean_answers(fields, answers)
    if checked.errors:
        return checked.errors
    known = contact.attributes
    written = {spec.key: checked.values[spec.key] for spec in fields
               if spec.key in checked.values and known.get(spec.key) != checked.values[spec.key]}
    # An answer the person emptied is removed, with a note that they did it.
    cleared = [spec.key for spec in fields
               if spec.key not in checked.values and spec.key in known and spec.key in answers]
    changed = [spec.key for spec in fields if spec.key in written or spec.key in cleared]
    if changed:
        saved = merged(Answers(contact.attributes, contact.attribute_sources, contact.quality_flags), written,
                       preference_center_sources(changed, utcnow()), cleared=cleared,
                       name_keys=quality.name_keys(fields))
        contact.attributes, contact.attribute_sources = saved.attributes, saved.sources
        contact.quality_flags = saved.quality_flags
        lifecycle.record_event(session, contact, EventKind.PROFILE_UPDATED, fields=changed,
                               source=ConsentMethod.PREFERENCE_CENTER)
    lifecycle.note_engagement(contact)
    session.flush()
    return {}


def unsubscribe(session: so.Session, contact: Contact, list_id: int | None, proof: lifecycle.Proof) -> None:
    lifecycle.unsubscribe(session, contact, list_id, proof)
    session.flush()


def _links_sent_today(session: so.Session, contact: Contact, kind: EmailKind) -> int:
    return session.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(
        OutboxMessage.contact_id == contact.id, OutboxMessage.kind == kind,
        OutboxMessage.created_at >= utcnow() - dt.timedelta(days=1)))


def send_link(session: so.Session, contact: Contact, kind: EmailKind) -> bool:
    """Email a subscriber link (fresh preferences, data download, erasure) within a daily cap."""
    if contact.status not in MANAGEABLE or _links_sent_today(session, contact, kind) >= LINK_EMAILS_PER_DAY:
        return False
    outbox.queue_email(session, contact, kind, context={})
    lifecycle.record_event(session, contact, EventKind.LINK_REQUESTED, email=kind)
    session.flush()
    return True


def send_fresh_link(session: so.Session, typed_email: str) -> None:
    """A new preference link for whoever owns the address; silent whether it is known or not."""
    contact = queries.find_contact(session, typed_email)
    if contact is not None:
        send_link(session, contact, EmailKind.PREFERENCES_LINK)
