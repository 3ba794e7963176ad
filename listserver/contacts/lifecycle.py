"""The one place where contact and subscription statuses change.

Every change writes its timeline Event and, where it applies, a ConsentRecord and a
Suppression, so that the proof of consent can never drift from the status itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects import postgresql, sqlite

from listserver import db
from listserver.errors import Conflict
from listserver.models import (
    ConsentAction,
    ConsentMethod,
    ConsentRecord,
    Contact,
    ContactStatus,
    Deliverability,
    DeliveryReport,
    Event,
    EventKind,
    Frequency,
    MailingList,
    Subscription,
    SubscriptionStatus,
    Suppression,
)
from listserver.models._types import UTCDateTime, utcnow

S = ContactStatus

# Which contact statuses may follow which. A person can always come back through a new
# double opt-in (-> SUBSCRIBED), whatever happened before.
TRANSITIONS: dict[ContactStatus, set[ContactStatus]] = {
    S.PENDING: {S.SUBSCRIBED, S.UNSUBSCRIBED, S.CLEANED, S.COMPLAINED},
    S.SUBSCRIBED: {S.UNSUBSCRIBED, S.CLEANED, S.COMPLAINED, S.INACTIVE},
    S.UNSUBSCRIBED: {S.SUBSCRIBED, S.CLEANED, S.COMPLAINED},
    S.CLEANED: {S.SUBSCRIBED},
    S.COMPLAINED: {S.SUBSCRIBED},
    S.INACTIVE: {S.SUBSCRIBED, S.UNSUBSCRIBED, S.CLEANED, S.COMPLAINED},
}
SUPPRESSING = {S.UNSUBSCRIBED, S.CLEANED, S.COMPLAINED}


class InvalidTransition(Conflict):
    """A status change the state machine does not allow."""

    code = "invalid_transition"


@dataclass(frozen=True)
class Proof:
    """How and where a person acted, for consent records."""

    method: ConsentMethod
    ip: str | None = None
    user_agent: str | None = None
    form_version_id: int | None = None
    consent_text_hash: str | None = None


def suppression_hash(email_key: str) -> str:
    return hashlib.sha256(email_key.encode()).hexdigest()


@dataclass(frozen=True)
class ContactRow:
    """What the sign-up path needs of a contact, read in the same statement that locks it."""

    id: int
    email: str
    language: str
    status: ContactStatus
    confirmed_at: object
    link_version: int
    created: bool  # this submission created the contact

    @classmethod
    def of(cls, contact: Contact) -> ContactRow:
        return cls(contact.id, contact.email, contact.language, contact.status, contact.confirmed_at,
                   contact.link_version, created=False)


def _id(contact: Contact | ContactRow | int | None) -> int | None:
    return contact if contact is None or isinstance(contact, int) else contact.id


# Statements of the sign-up path, built once: building them anew costs more than running them.
_INSERT_EVENT = Event.__table__.insert()
_INSERT_CONSENT = ConsentRecord.__table__.insert()
_INSERT_SUBSCRIPTION = Subscription.__table__.insert()
_SUBSCRIPTIONS_OF = sa.select(Subscription.__table__.c.list_id, Subscription.__table__.c.status).where(
    Subscription.__table__.c.contact_id == sa.bindparam("contact_id"))
_UPSERTS: dict[str, sa.Insert] = {}


_JSON_PARAMS = ("attributes", "attribute_sources", "quality_flags", "event", "message_context")

# PostgreSQL, an address never seen before: the contact, its pending subscriptions and their
# consent records, the timeline event and the confirmation email, in one statement and so one
# round trip (a single statement is atomic, so it needs no transaction block around it). When
# the address is known, ON CONFLICT DO NOTHING leaves every CTE empty and nothing is written.
_SIGN_UP_NEW_ADDRESS = sa.text("""WITH new_contact AS (
    INSERT INTO contact (email, email_key, status, language, source_form_id, attributes, attribute_sources,
                         quality_flags, frequency, confirm_version, link_version, created_at, updated_at)
    VALUES (:email, :email_key, :status, :language, :source_form_id, :attributes, :attribute_sources,
            :quality_flags, :frequency, 1, 1, :created_at, :created_at)
    ON CONFLICT (email_key) DO NOTHING
    RETURNING id
), lists AS (
    SELECT new_contact.id AS contact_id, list_id
    FROM new_contact, unnest(CAST(:list_ids AS integer[])) AS list_id
), subscriptions AS (
    INSERT INTO subscription (contact_id, list_id, status, created_at)
    SELECT contact_id, list_id, :subscription_status, :created_at FROM lists
), consent AS (
    INSERT INTO consent_record (contact_id, list_id, action, form_version_id, consent_text_hash, method, ip,
                                user_agent, created_at)
    SELECT contact_id, list_id, :action, :form_version_id, :consent_text_hash, :method, :ip, :user_agent,
           :created_at
    FROM lists
), event AS (
    INSERT INTO event (contact_id, kind, data, created_at)
    SELECT id, :event_kind, :event, :created_at FROM new_contact
)
INSERT INTO outbox_message (contact_id, idempotency_key, kind, recipient, template, context, language, status,
                            attempts, created_at, next_attempt_at)
SELECT id, :message_idempotency_key, :message_kind, :message_recipient, :message_template, :message_context,
       :message_language, :message_status, :message_attempts, :message_created_at, :message_next_attempt_at
FROM new_contact
RETURNING contact_id
""").bindparams(*[sa.bindparam(name, type_=sa.JSON) for name in _JSON_PARAMS])
# The same statement in psycopg's own parameter style, for db.execute_alone.
_SIGN_UP_NEW_ADDRESS_SQL = str(_SIGN_UP_NEW_ADDRESS.compile(dialect=postgresql.psycopg.dialect()))


def record_event(session: so.Session, contact: Contact | ContactRow | int | None, kind: EventKind, **data) -> None:
    session.connection().execute(_INSERT_EVENT, {"contact_id": _id(contact), "kind": kind, "data": data,
                                                 "created_at": utcnow()})


def record_events(session: so.Session, events: Sequence[dict]) -> None:
    """Several timeline entries in one statement: each a dict of contact_id, kind, data and created_at."""
    if events:
        session.connection().execute(_INSERT_EVENT, list(events))


def _consents(session: so.Session, contact, action: ConsentAction, list_ids: list[int | None], proof: Proof):
    if not list_ids:
        return
    values = _consent_values(contact, action, proof)
    session.connection().execute(_INSERT_CONSENT, [{**values, "list_id": list_id} for list_id in list_ids])


def _consent_values(contact, action: ConsentAction, proof: Proof) -> dict:
    """A consent record's columns but its list: who, how, where, which text, when."""
    return {"contact_id": _id(contact), "action": action, "form_version_id": proof.form_version_id,
            "consent_text_hash": proof.consent_text_hash, "method": proof.method, "ip": proof.ip,
            "user_agent": (proof.user_agent or "")[:512] or None, "created_at": utcnow()}


def _consent(session: so.Session, contact, action: ConsentAction, list_id: int | None, proof: Proof):
    _consents(session, contact, action, [list_id], proof)


def _set_status(session: so.Session, contact: Contact, new: ContactStatus, reason: str) -> None:
    old = contact.status
    if old == new:
        return
    if new not in TRANSITIONS[old]:
        raise InvalidTransition(f"{old} -> {new}")
    contact.status = new
    record_event(session, contact, EventKind.STATUS_CHANGED, old=old.value, new=new.value, reason=reason)
    if new in SUPPRESSING:
        _suppress(session, contact, reason=new.value)
    elif new == S.SUBSCRIBED:
        session.execute(sa.delete(Suppression).where(Suppression.email_hash == suppression_hash(contact.email_key)))


def _suppress(session: so.Session, contact: Contact, reason: str) -> None:
    digest = suppression_hash(contact.email_key)
    exists = session.scalar(sa.select(Suppression.id).where(Suppression.email_hash == digest))
    if exists is None:
        session.add(Suppression(email_hash=digest, reason=reason))


def upsert_pending_contact(session: so.Session, email, *, language: str, form_id: int,
                           attributes: dict, sources: dict, quality_flags: list[str] = ()) -> ContactRow:
    """Create the contact as pending, or find it; either way it stays locked until commit.

    One statement does it: concurrent submissions of one address queue on the row lock.
    """
    now = utcnow()
    row = session.connection().execute(_upsert_statement(session.get_bind().dialect.name), {
        "email": email.address, "email_key": email.key, "status": S.PENDING, "language": language,
        "source_form_id": form_id, "attributes": attributes, "attribute_sources": sources,
        "quality_flags": list(quality_flags),
        "created_at": now, "updated_at": now, "frequency": Frequency.ALL, "confirm_version": 1, "link_version": 1,
    }).one()
    return ContactRow(row.id, row.email, row.language, row.status, row.confirmed_at, row.link_version,
                      created=row.created_at == now)


def _upsert_statement(dialect: str) -> sa.Insert:
    if dialect not in _UPSERTS:
        table = Contact.__table__
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        _UPSERTS[dialect] = (
            insert.on_conflict_do_update(index_elements=[table.c.email_key], set_={
                "updated_at": insert.excluded.updated_at,
                # Someone still unconfirmed who signs up again reads their next email in the new language.
                "language": sa.case((table.c.confirmed_at.is_(None), insert.excluded.language),
                                    else_=table.c.language),
            })
            .returning(table.c.id, table.c.email, table.c.language, table.c.status, table.c.confirmed_at,
                       table.c.link_version, table.c.created_at)
        )
    return _UPSERTS[dialect]


def sign_up_new_address(session: so.Session, email, *, language: str, form_id: int, attributes: dict,
                        sources: dict, list_ids: list[int], proof: Proof, event: dict,
                        message: dict, quality_flags: list[str] = ()) -> ContactRow | None:
    """PostgreSQL: a sign-up of an address never seen before, written in one round trip.

    Writes the outbox `message` (an outbox.message_row) with it. Returns the new contact, or None
    when the address is known, the database is SQLite or the session is already in a transaction:
    then nothing was written and the caller takes the general path (upsert_pending_contact and
    what follows), which reads what the contact already has. One statement is atomic, so it runs
    in autocommit, on the driver itself (db.execute_alone).
    """
    engine = session.get_bind()
    if engine.dialect.name != "postgresql" or session.in_transaction():
        return None
    params = {
        "email": email.address, "email_key": email.key, "status": S.PENDING, "language": language,
        "source_form_id": form_id, "attributes": attributes, "attribute_sources": sources,
        "quality_flags": list(quality_flags), "frequency": Frequency.ALL,
        "list_ids": list_ids, "subscription_status": SubscriptionStatus.PENDING,
        "event_kind": EventKind.SUBMITTED, "event": event,
        **_consent_values(None, ConsentAction.GRANTED, proof),
        **{f"message_{name}": value for name, value in message.items()},
    }
    row = db.execute_alone(engine, _SIGN_UP_NEW_ADDRESS_SQL,  # Own transaction: only when the caller has none
                           {**params, **{name: json.dumps(params[name]) for name in _JSON_PARAMS}})
    if row is None:
        return None
    return ContactRow(row[0], email.address, language, S.PENDING, None, 1, created=True)


def request_subscriptions(session: so.Session, contact: ContactRow, list_ids: list[int], proof: Proof) -> list[int]:
    """Record consent given on a form; the lists that still need the address confirmed.

    Someone who is not subscribed (inactive, cleaned...) confirms every list again, even one still
    active: that confirmation is what brings them back.
    """
    existing = {} if contact.created else dict(
        session.connection().execute(_SUBSCRIPTIONS_OF, {"contact_id": contact.id}).all())
    waiting = [list_id for list_id in list_ids
               if existing.get(list_id) != SubscriptionStatus.ACTIVE or contact.status != S.SUBSCRIBED]
    new = [list_id for list_id in waiting if list_id not in existing]
    again = [list_id for list_id in waiting if list_id in existing]
    if again:
        session.execute(sa.update(Subscription)
                        .where(Subscription.contact_id == contact.id, Subscription.list_id.in_(again))
                        .values(status=SubscriptionStatus.PENDING)
                        .execution_options(synchronize_session=False))
    if new:
        now = utcnow()
        session.connection().execute(_INSERT_SUBSCRIPTION, [
            {"contact_id": contact.id, "list_id": list_id, "status": SubscriptionStatus.PENDING, "created_at": now}
            for list_id in new])
    _consents(session, contact, ConsentAction.GRANTED, waiting, proof)
    return waiting


def confirm(session: so.Session, contact: Contact, proof: Proof) -> list[Subscription]:
    """The address is proven: pending subscriptions become active; the contact is subscribed."""
    now = utcnow()
    activated = []
    for subscription in contact.subscriptions:
        if subscription.status != SubscriptionStatus.PENDING:
            continue
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.confirmed_at = now
        subscription.unsubscribed_at = None
        _consent(session, contact, ConsentAction.CONFIRMED, subscription.list_id, proof)
        activated.append(subscription)
    _set_status(session, contact, S.SUBSCRIBED, reason=proof.method)
    contact.confirmed_at = contact.confirmed_at or now
    contact.last_engaged_at = now
    # They read our email and clicked its link: the mailbox takes mail, whatever DNS said before.
    contact.email_check = Deliverability.DELIVERABLE.value
    contact.confirm_version += 1
    record_event(session, contact, EventKind.CONFIRMED, lists=[s.list_id for s in activated], method=proof.method)
    return activated


def mark_undeliverable(session: so.Session, contact: Contact, reason: str) -> None:
    """The address cannot receive mail (dead or null-MX domain).

    Someone who complained stays complained: that is the stronger reason never to mail them.
    """
    contact.email_check = Deliverability.UNDELIVERABLE
    if S.CLEANED in TRANSITIONS[contact.status]:
        _set_status(session, contact, S.CLEANED, reason=reason)


# --- set-based changes, for background work over many contacts at once ---------------------------
# Callers pass ids in batches (a few thousand at most); each function is a few statements per
# batch, whatever its size. Rows are locked as they are read, so a concurrent change of one of
# these contacts waits, and the events say what each contact really went from.

_SUPPRESSION_INSERTS: dict[str, sa.Insert] = {}


def change_statuses(session: so.Session, contact_ids: Sequence[int], new: ContactStatus, reason: str) -> list[int]:
    """Move these contacts to `new` where the state machine allows it; the ids that changed.

    Each change writes its STATUS_CHANGED event and, as _set_status does, a suppression (or lifts
    it on a return to SUBSCRIBED). Contacts already in `new`, or for which the change is not
    allowed, are left as they are.
    """
    if not contact_ids:
        return []
    allowed_from = [old for old, followers in TRANSITIONS.items() if new in followers]
    rows = session.execute(
        sa.select(Contact.id, Contact.status, Contact.email_key)
        .where(Contact.id.in_(contact_ids), Contact.status.in_(allowed_from))
        .with_for_update()
    ).all()
    if not rows:
        return []
    changed = [row.id for row in rows]
    now = utcnow()
    session.execute(sa.update(Contact).where(Contact.id.in_(changed)).values(status=new, updated_at=now)
                    .execution_options(synchronize_session=False))
    session.connection().execute(_INSERT_EVENT, [
        {"contact_id": row.id, "kind": EventKind.STATUS_CHANGED, "created_at": now,
         "data": {"old": row.status.value, "new": new.value, "reason": reason}} for row in rows])
    hashes = [suppression_hash(row.email_key) for row in rows]
    if new in SUPPRESSING:
        session.connection().execute(_suppression_insert(session), [
            {"email_hash": digest, "reason": new.value, "created_at": now} for digest in hashes])
    elif new == S.SUBSCRIBED:
        session.execute(sa.delete(Suppression).where(Suppression.email_hash.in_(hashes)))
    _expire(session, changed)
    return changed


def clean(session: so.Session, contact_ids: Sequence[int], reason: str) -> list[int]:
    """The addresses cannot receive mail (hard bounces): cleaned and suppressed; the ids that changed."""
    if contact_ids:
        session.execute(sa.update(Contact).where(Contact.id.in_(contact_ids))
                        .values(email_check=Deliverability.UNDELIVERABLE.value)
                        .execution_options(synchronize_session=False))
    return change_statuses(session, contact_ids, S.CLEANED, reason)


def leave_everything(session: so.Session, contact_ids: Sequence[int], new: ContactStatus, proof: Proof,
                     reason: str) -> list[int]:
    """Unsubscribe these contacts from every list, then move them to `new` (UNSUBSCRIBED or COMPLAINED).

    Each list left gets its WITHDRAWN consent record, and each contact one UNSUBSCRIBED event, as
    unsubscribe() writes them. The ids whose status changed.
    """
    if not contact_ids:
        return []
    table = Subscription.__table__
    left = session.execute(
        sa.select(table.c.contact_id, table.c.list_id)
        .where(table.c.contact_id.in_(contact_ids), table.c.status != SubscriptionStatus.UNSUBSCRIBED)
        .order_by(table.c.contact_id, table.c.list_id)
        .with_for_update()
    ).all()
    if left:
        now = utcnow()
        session.execute(sa.update(Subscription)
                        .where(Subscription.contact_id.in_(contact_ids),
                               Subscription.status != SubscriptionStatus.UNSUBSCRIBED)
                        .values(status=SubscriptionStatus.UNSUBSCRIBED, unsubscribed_at=now)
                        .execution_options(synchronize_session=False))
        session.connection().execute(_INSERT_CONSENT, [
            {**_consent_values(row.contact_id, ConsentAction.WITHDRAWN, proof), "list_id": row.list_id}
            for row in left])
        lists_of: dict[int, list[int]] = {}
        for row in left:
            lists_of.setdefault(row.contact_id, []).append(row.list_id)
        session.connection().execute(_INSERT_EVENT, [
            {"contact_id": contact_id, "kind": EventKind.UNSUBSCRIBED, "created_at": now,
             "data": {"lists": lists, "method": proof.method, "scope": "all"}}
            for contact_id, lists in lists_of.items()])
    return change_statuses(session, contact_ids, new, reason)


def _suppression_insert(session: so.Session) -> sa.Insert:
    dialect = session.get_bind().dialect.name
    if dialect not in _SUPPRESSION_INSERTS:
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Suppression.__table__)
        _SUPPRESSION_INSERTS[dialect] = insert.on_conflict_do_nothing(index_elements=["email_hash"])
    return _SUPPRESSION_INSERTS[dialect]


def _expire(session: so.Session, contact_ids: Sequence[int]) -> None:
    """Contacts of these ids that the session holds are read again: a set-based change bypassed them."""
    wanted = set(contact_ids)
    for instance in list(session.identity_map.values()):
        if isinstance(instance, (Contact, Subscription)) and (
                getattr(instance, "id" if isinstance(instance, Contact) else "contact_id") in wanted):
            session.expire(instance)


def set_topic(session: so.Session, contact: Contact, mailing_list: MailingList, wanted: bool, proof: Proof) -> bool:
    """Turn one topic on or off for a confirmed contact; True if anything changed."""
    subscription = next((s for s in contact.subscriptions if s.list_id == mailing_list.id), None)
    active = subscription is not None and subscription.status == SubscriptionStatus.ACTIVE
    if wanted == active:
        return False
    if wanted and contact.status == S.PENDING:
        # Only the confirmation link proves the address; a topic switched on must not stand in for it.
        raise InvalidTransition("a pending contact cannot switch a topic on")
    now = utcnow()
    if wanted:
        if subscription is None:
            subscription = Subscription(contact=contact, list_id=mailing_list.id)
            session.add(subscription)
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.confirmed_at, subscription.unsubscribed_at = now, None
        _consent(session, contact, ConsentAction.GRANTED, mailing_list.id, proof)
        _set_status(session, contact, S.SUBSCRIBED, reason=proof.method)
        record_event(session, contact, EventKind.SUBSCRIBED, list=mailing_list.id, method=proof.method)
    else:
        subscription.status = SubscriptionStatus.UNSUBSCRIBED
        subscription.unsubscribed_at = now
        _consent(session, contact, ConsentAction.WITHDRAWN, mailing_list.id, proof)
        record_event(session, contact, EventKind.UNSUBSCRIBED, lists=[mailing_list.id], method=proof.method)
        if not any(s.status == SubscriptionStatus.ACTIVE for s in contact.subscriptions):
            _set_status(session, contact, S.UNSUBSCRIBED, reason=proof.method)
    return True


def unsubscribe(session: so.Session, contact: Contact, list_id: int | None, proof: Proof) -> list[int]:
    """Leave one list, or everything when list_id is None; the lists actually left."""
    now = utcnow()
    left = []
    for subscription in contact.subscriptions:
        if list_id is not None and subscription.list_id != list_id:
            continue
        if subscription.status == SubscriptionStatus.UNSUBSCRIBED:
            continue
        subscription.status = SubscriptionStatus.UNSUBSCRIBED
        subscription.unsubscribed_at = now
        _consent(session, contact, ConsentAction.WITHDRAWN, subscription.list_id, proof)
        left.append(subscription.list_id)
    if left:
        record_event(session, contact, EventKind.UNSUBSCRIBED, lists=left, method=proof.method,
                     scope="all" if list_id is None else "list")
    nothing_left = not any(s.status == SubscriptionStatus.ACTIVE for s in contact.subscriptions)
    if (list_id is None or nothing_left) and S.UNSUBSCRIBED in TRANSITIONS[contact.status]:
        _set_status(session, contact, S.UNSUBSCRIBED, reason=proof.method)
    return left


def pause(session: so.Session, contact: Contact, until, proof: Proof) -> None:
    contact.paused_until = until
    _consent(session, contact, ConsentAction.PAUSED, None, proof)
    record_event(session, contact, EventKind.PAUSED, until=until.isoformat(), method=proof.method)


def resume(session: so.Session, contact: Contact, proof: Proof) -> None:
    if contact.paused_until is None:
        return
    contact.paused_until = None
    _consent(session, contact, ConsentAction.RESUMED, None, proof)
    record_event(session, contact, EventKind.RESUMED, method=proof.method)


def erase(session: so.Session, contact: Contact) -> None:
    """Forget a person: the contact goes, its address stays only as a suppression hash."""
    session.execute(
        sa.update(ConsentRecord).where(ConsentRecord.contact_id == contact.id)
        .values(contact_id=None, ip=None, user_agent=None)
    )
    session.execute(sa.delete(Event).where(Event.contact_id == contact.id))
    _forget_reports(session, [contact.id])
    _suppress(session, contact, reason="erased")
    session.delete(contact)


def _forget_reports(session: so.Session, contact_ids: Sequence[int] | sa.Select) -> None:
    """The raw delivery reports about these contacts go: bounces and providers' events quote the address.
    What each said (kind, status, domain, the reason without addresses) stays, for list health."""
    session.execute(sa.update(DeliveryReport).where(DeliveryReport.contact_id.in_(contact_ids)).values(raw=None)
                    .execution_options(synchronize_session=False))


def note_engagement(contact: Contact) -> None:
    """The person acted on something of ours (the preference center, a profiling answer): the sunset waits."""
    contact.last_engaged_at = utcnow()


def keep_subscribed(session: so.Session, contact: Contact, proof: Proof) -> bool:
    """The answer to the sunset's email: a subscriber stays, an inactive one is back. False when the
    person is neither (left, cleaned, never confirmed): only a sign-up or their preferences bring them back."""
    if contact.status not in (S.SUBSCRIBED, S.INACTIVE):
        return False
    answered = contact.repermission_asked_at is not None or contact.status == S.INACTIVE
    note_engagement(contact)
    contact.repermission_asked_at = None
    if answered:  # a second press of the button only counts as engagement
        active = [s.list_id for s in contact.subscriptions if s.status == SubscriptionStatus.ACTIVE]
        _consents(session, contact, ConsentAction.CONFIRMED, active, proof)
        _set_status(session, contact, S.SUBSCRIBED, reason=proof.method)
        record_event(session, contact, EventKind.KEPT_SUBSCRIBED, lists=active, method=proof.method)
    return True


def purge(session: so.Session, contact_ids: Sequence[int] | sa.Select, reason: str) -> int:
    """Delete never-confirmed contacts (ids, or a select of them): profile, subscriptions, timeline, raw reports.
    Their consent proof stays without the person (no contact, IP or user agent), and one PURGED event
    each says when and why. How many were purged: a contact confirmed meanwhile is left alone."""
    purged = sa.select(Contact.id).where(
        Contact.id.in_(contact_ids), Contact.confirmed_at.is_(None), Contact.status.not_in((S.SUBSCRIBED, S.INACTIVE)),
    ).correlate(None)
    session.execute(purged.with_for_update())
    session.execute(sa.update(ConsentRecord).where(ConsentRecord.contact_id.in_(purged))
                    .values(contact_id=None, ip=None, user_agent=None).execution_options(synchronize_session=False))
    session.execute(sa.delete(Event).where(Event.contact_id.in_(purged)).execution_options(synchronize_session=False))
    session.execute(sa.delete(Subscription).where(Subscription.contact_id.in_(purged))
                    .execution_options(synchronize_session=False))
    _forget_reports(session, purged)
    session.execute(Event.__table__.insert().from_select(
        ["contact_id", "kind", "data", "created_at"],
        sa.select(sa.null(), sa.literal(EventKind.PURGED.value), sa.literal({"reason": reason}, sa.JSON),
                  sa.literal(utcnow(), UTCDateTime)).where(Contact.id.in_(purged))))
    return session.execute(sa.delete(Contact).where(Contact.id.in_(purged))
                           .execution_options(synchronize_session=False)).rowcount


def record_event_for_each(session: so.Session, contact_ids: Sequence[int] | sa.Select, kind: EventKind,
                          data: dict) -> None:
    """The same timeline entry for each of these contacts (ids, or a select of them), in one statement."""
    session.execute(Event.__table__.insert().from_select(
        ["contact_id", "kind", "data", "created_at"],
        sa.select(Contact.id, sa.literal(kind.value), sa.literal(data, sa.JSON), sa.literal(utcnow(), UTCDateTime))
        .where(Contact.id.in_(contact_ids))))
