"""The hygiene rules: whom each would change now, and the change, one batch of contacts at a time.

A rule is a query for its candidates and an action on a batch of them. The batch is locked and the
query asked again under the lock before anything changes, so a person who acted meanwhile (pressed
the button, confirmed, signed up again) is left alone, and a run beside this one finds nothing
left to do. Every statement covers a whole batch: none is run once per contact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.contacts import lifecycle, queries
from listserver.mail import outbox
from listserver.models import (
    Contact, ContactStatus, DeliveryReport, EmailKind, EventKind, OutboxMessage, OutboxStatus, ReportKind,
)
from listserver.settings import Settings

S = ContactStatus
MONTH = dt.timedelta(days=30)


@dataclass(frozen=True)
class Policy:
    """The thresholds, from the settings (LISTSERVER_HYGIENE_*, where each is described)."""

    soft_bounces: int
    soft_bounce_days: int
    sunset_days: int
    sunset_grace_days: int
    purge_days: int
    data_check_months: int  # 0: the data check is off
    batch_size: int

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(settings.hygiene_soft_bounces, settings.hygiene_soft_bounce_days, settings.hygiene_sunset_days,
                   settings.hygiene_sunset_grace_days, settings.hygiene_purge_days,
                   settings.hygiene_data_check_months, settings.hygiene_batch_size)


@dataclass
class Done:
    """How many contacts an action on one batch changed, and the mailbox copies of emails it deleted."""

    changed: int = 0
    emails_deleted: list[tuple[str, int]] = field(default_factory=list)  # (idempotency_key, id)


@dataclass(frozen=True)
class Rule:
    name: str
    why: Callable[[Policy], str]  # said in each run's summary and in the preview
    # The candidates' ids (a select of Contact.id) at `now`, for the database's dialect.
    candidates: Callable[[Policy, dt.datetime, str], sa.Select]
    # Acts on a batch: a select of the ids still due (its rows locked), read again by each statement.
    act: Callable[[so.Session, sa.Select, Policy, dt.datetime], Done]
    on: Callable[[Policy], bool] = lambda policy: True
    # The contact id column, in `candidates`, that batches are ranges of.
    key: sa.ColumnElement = field(default_factory=lambda: Contact.id)


def _last_engaged():
    # Confirming counts as engaging; very old contacts may predate last_engaged_at.
    return sa.func.coalesce(Contact.last_engaged_at, Contact.confirmed_at, Contact.created_at)


def _days_between(dialect: str, first, last):
    if dialect == "postgresql":
        return sa.extract("epoch", last - first) / 86400
    return sa.func.julianday(last) - sa.func.julianday(first)


# --- soft bounces ---------------------------------------------------------------------------------

def _soft_bounced(policy: Policy, now: dt.datetime, dialect: str) -> sa.Select:
    # Only SOFT counts: blocks, policy and reputation bounces (OTHER) and UNKNOWN never clean anyone.
    # A delivery or an engagement after a soft bounce shows the address works: only later ones count.
    # Batches are ranges of the reports' contact_id: read through its index, a batch reads its own reports only.
    # Bounces are counted per email: a provider reports each retry of one deferred email (Mailgun does).
    at = sa.func.coalesce(DeliveryReport.occurred_at, DeliveryReport.received_at)
    emails = sa.func.count(sa.distinct(sa.func.coalesce(DeliveryReport.outbox_message_id, -DeliveryReport.id)))
    return (
        sa.select(DeliveryReport.contact_id.label("id"))
        .join(Contact, Contact.id == DeliveryReport.contact_id)
        .where(Contact.status.in_((S.SUBSCRIBED, S.INACTIVE, S.PENDING)),
               DeliveryReport.kind == ReportKind.SOFT,
               sa.or_(Contact.last_delivered_at.is_(None), at > Contact.last_delivered_at),
               sa.or_(Contact.last_engaged_at.is_(None), at > Contact.last_engaged_at))
        .group_by(DeliveryReport.contact_id)
        .having(emails >= policy.soft_bounces,
                _days_between(dialect, sa.func.min(at), sa.func.max(at)) >= policy.soft_bounce_days)
    )


def _clean_soft_bounced(session: so.Session, batch: sa.Select, policy: Policy, now: dt.datetime) -> Done:
    return Done(len(lifecycle.change_statuses(session, session.scalars(batch).all(), S.CLEANED, _why_soft(policy))))


def _why_soft(policy: Policy) -> str:
    return (f"{policy.soft_bounces} soft bounces over {policy.soft_bounce_days} days or more, "
            "with no delivery or engagement since the first")


# --- sunset -----------------------------------------------------------------------------------------

def _unanswered(policy: Policy, now: dt.datetime, dialect: str) -> sa.Select:
    """Asked over the grace period ago, and no engagement since (the button counts as engagement).

    Only a question that reached them counts: while its email waits for a relay, or after the relay
    refused it (a block is never held against a person), nobody was asked. Someone marked asked with
    no such email on record (by hand, by an import) is taken as asked.
    """
    question = (sa.select(OutboxMessage.status)
                .where(OutboxMessage.contact_id == Contact.id, OutboxMessage.kind == EmailKind.REPERMISSION)
                .order_by(OutboxMessage.id.desc()).limit(1).scalar_subquery())
    return sa.select(Contact.id).where(
        Contact.status == S.SUBSCRIBED,
        Contact.repermission_asked_at < now - dt.timedelta(days=policy.sunset_grace_days),
        _last_engaged() < Contact.repermission_asked_at,
        sa.or_(question.is_(None), question == OutboxStatus.SENT),
    )


def _make_inactive(session: so.Session, batch: sa.Select, policy: Policy, now: dt.datetime) -> Done:
    return Done(len(lifecycle.change_statuses(session, session.scalars(batch).all(), S.INACTIVE,
                                              _why_inactive(policy))))


def _why_inactive(policy: Policy) -> str:
    return f"no answer and no engagement {policy.sunset_grace_days} days after the re-permission email"


def _disengaged(policy: Policy, now: dt.datetime, dialect: str) -> sa.Select:
    """Mailable, no engagement for sunset_days, and not asked since they last engaged."""
    return (
        queries.mailable(now).with_only_columns(Contact.id).order_by(None)
        .where(_last_engaged() < now - dt.timedelta(days=policy.sunset_days),
               sa.or_(Contact.repermission_asked_at.is_(None), Contact.repermission_asked_at <= _last_engaged()))
    )


def _ask_repermission(session: so.Session, batch: sa.Select, policy: Policy, now: dt.datetime) -> Done:
    return _ask(session, batch, now, Contact.repermission_asked_at, EmailKind.REPERMISSION,
                EventKind.REPERMISSION_ASKED, {"after_days": policy.sunset_days})


def _ask(session: so.Session, batch: sa.Select, now: dt.datetime, asked_at, kind: EmailKind,
         event: EventKind, data: dict) -> Done:
    """Note the question on the contacts, queue its email to each and write it on their timelines."""
    asked = session.scalars(
        sa.update(Contact).where(Contact.id.in_(batch)).values({asked_at: now})
        .returning(Contact.id).execution_options(synchronize_session=False)
    ).all()
    if asked:
        outbox.queue_emails(session, asked, kind, context={})
        lifecycle.record_event_for_each(session, asked, event, data)
    return Done(len(asked))


# --- never confirmed ------------------------------------------------------------------------------

def _never_confirmed(policy: Policy, now: dt.datetime, dialect: str) -> sa.Select:
    # updated_at moves with each new sign-up of the address, so a fresh sign-up is never purged.
    return sa.select(Contact.id).where(
        Contact.confirmed_at.is_(None),
        Contact.status.not_in((S.SUBSCRIBED, S.INACTIVE)),
        Contact.updated_at < now - dt.timedelta(days=policy.purge_days),
    )


def _purge(session: so.Session, batch: sa.Select, policy: Policy, now: dt.datetime) -> Done:
    """Their emails (which carry the address) go too."""
    emails = session.execute(
        sa.delete(OutboxMessage).where(OutboxMessage.contact_id.in_(batch))
        .returning(OutboxMessage.idempotency_key, OutboxMessage.id).execution_options(synchronize_session=False)
    ).all()
    return Done(lifecycle.purge(session, batch, reason="never confirmed"), [tuple(email) for email in emails])


def _why_purge(policy: Policy) -> str:
    return f"never confirmed, last signed up over {policy.purge_days} days ago: personal data deleted"


# --- stale answers --------------------------------------------------------------------------------

def _newest_answer(dialect: str):
    """When the contact last answered a question (ISO text, as attribute_sources keeps it)."""
    answer = sa.func.json_each(Contact.attribute_sources).table_valued("value")
    if dialect == "postgresql":
        at, skipped = answer.c.value.op("->>")("at"), answer.c.value.op("->>")("skipped")
    else:
        at, skipped = sa.func.json_extract(answer.c.value, "$.at"), sa.func.json_extract(answer.c.value, "$.skipped")
    return sa.select(sa.func.max(at)).select_from(answer).where(skipped.is_(None)).scalar_subquery()


def _stale_answers(policy: Policy, now: dt.datetime, dialect: str) -> sa.Select:
    cutoff = now - policy.data_check_months * MONTH
    return (
        queries.mailable(now).with_only_columns(Contact.id).order_by(None)
        .where(_newest_answer(dialect) < cutoff.isoformat(),
               sa.or_(Contact.data_check_asked_at.is_(None), Contact.data_check_asked_at < cutoff))
    )


def _ask_data_check(session: so.Session, batch: sa.Select, policy: Policy, now: dt.datetime) -> Done:
    return _ask(session, batch, now, Contact.data_check_asked_at, EmailKind.DATA_CHECK, EventKind.DATA_CHECK_ASKED,
                {"after_months": policy.data_check_months})


RULES = (
    Rule("soft_bounces", _why_soft, _soft_bounced, _clean_soft_bounced, key=DeliveryReport.contact_id),
    # Before the question, so that nobody asked in this run is counted as not answering it.
    Rule("sunset_inactive", _why_inactive, _unanswered, _make_inactive),
    Rule("sunset_ask", lambda policy: f"no engagement for {policy.sunset_days} days: re-permission email",
         _disengaged, _ask_repermission),
    Rule("purge", _why_purge, _never_confirmed, _purge),
    Rule("data_check", lambda policy: f"answers older than {policy.data_check_months} months: data check email",
         _stale_answers, _ask_data_check, on=lambda policy: policy.data_check_months > 0),
)


def rules_on(policy: Policy) -> list[Rule]:
    return [rule for rule in RULES if rule.on(policy)]


def _dialect(session: so.Session) -> str:
    return session.get_bind().dialect.name


def count(session: so.Session, rule: Rule, policy: Policy, now: dt.datetime) -> int:
    """How many contacts the rule would change now."""
    candidates = rule.candidates(policy, now, _dialect(session)).subquery()
    return session.scalar(sa.select(sa.func.count()).select_from(candidates))


# A batch is looked for among this many times batch_size ids: each statement reads a bounded stretch of
# the contact table (an unbounded one lets PostgreSQL merge-join subscriptions from their first row,
# again for every batch: minutes over a million contacts instead of seconds).
WINDOW = 20


@dataclass(frozen=True)
class Batch:
    """The contacts with ids in (after, upto]; `due` of them are the rule's candidates."""

    after: int
    upto: int
    due: int


def last_id(session: so.Session) -> int:
    return session.scalar(sa.select(sa.func.coalesce(sa.func.max(Contact.id), 0)))


def next_batch(session: so.Session, rule: Rule, policy: Policy, now: dt.datetime, after: int,
               last: int) -> Batch | None:
    """The rule's next batch past the id `after`: at most batch_size candidates; None past the id `last`.

    Nothing is locked yet, and no ids come to Python.
    """
    if after >= last:
        return None
    end = min(after + policy.batch_size * WINDOW, last)
    first = (rule.candidates(policy, now, _dialect(session)).where(rule.key > after, rule.key <= end)
             .order_by(rule.key).limit(policy.batch_size).subquery())
    due, upto = session.execute(sa.select(sa.func.count(), sa.func.max(first.c.id))).one()
    return Batch(after, upto if due == policy.batch_size else end, due)


def apply(session: so.Session, rule: Rule, policy: Policy, now: dt.datetime, batch: Batch) -> Done:
    """Lock the batch's candidates and act on them: each statement of the action reads the rule again,
    so whoever no longer qualifies (they acted meanwhile) is left alone."""
    if not batch.due:
        return Done()
    # correlate(None): the batch stands on its own inside statements about the same tables.
    due = (rule.candidates(policy, now, _dialect(session))
           .where(rule.key > batch.after, rule.key <= batch.upto).correlate(None))
    session.execute(sa.select(Contact.id).where(Contact.id.in_(due)).order_by(Contact.id).with_for_update())
    return rule.act(session, due, policy, now)
