"""The outbox: queue an email inside the caller's transaction, deliver it exactly once.

A message row is written with the change that causes it, and that is all a request does: it
never waits on the task queue. The relay (hand_over, run by the scheduler every second) hands
the rows that are due to the workers, a few per job; a row the queue refuses (Redis down) stays
due for the next pass. Delivery claims the row first, so a job that runs twice, or a message
handed over twice, is sent once. The sweep gives back the claims of workers that died mid-send.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable, Iterable, Sequence

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver import tokens
from listserver.bounces import intake, smtp
from listserver.bounces import jobs as bounce_jobs
from listserver.bounces.smtp import Refusal
from listserver.contacts import lifecycle
from listserver.contacts.links import Links
from listserver.mail import emails
from listserver.mail.deliverability import check_domain
from listserver.mail.transport import MailError, TransientMailError, Transport, build_message
from listserver.models import (
    Contact,
    Deliverability,
    EmailKind,
    EventKind,
    OutboxMessage,
    OutboxStatus,
    ReportSource,
)
from listserver.models._types import UTCDateTime, utcnow
from listserver.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
STALE_CLAIM = dt.timedelta(minutes=10)
HAND_OVER_LIMIT = 1000  # rows per relay transaction
OVERDUE = dt.timedelta(minutes=2)  # due this long and not handed over: the relay is not running
# A domain that DNS says cannot take mail has its confirmation held and asked about once more
# this much later; only a second "no" cleans the person. Asking again at once would mostly meet
# the resolver's cached "no" (negative answers are kept for minutes to an hour), and cleaning on
# one answer loses for good a person whose domain's DNS stumbled (a new domain still spreading, a
# provider's outage): they are told to check their inbox and nothing ever comes. Held, such a
# person gets the email late instead of never, and a domain that is really dead costs nothing.
DOMAIN_RECHECK = dt.timedelta(minutes=30)
DOMAIN_HELD = "domain does not accept mail, says DNS; asking again before giving up"

Dispatcher = Callable[[Iterable[int]], None]
INVITATION_KINDS = (EmailKind.CONFIRMATION, EmailKind.ALREADY_SUBSCRIBED)  # capped per address and day
_INSERT_MESSAGE = OutboxMessage.__table__.insert().returning(OutboxMessage.__table__.c.id)


def queue_email(session: so.Session, contact, kind: EmailKind, *, context: dict, template: str | None = None) -> int:
    """Add an email to the outbox; once the transaction commits, the relay hands it to a worker.

    `contact` is anything with `id`, `email` and `language` (a Contact or a lifecycle.ContactRow).
    """
    row = message_row(contact.email, contact.language, kind, context=context, template=template)
    return session.connection().execute(_INSERT_MESSAGE, {**row, "contact_id": contact.id}).scalar_one()


def queue_emails(session: so.Session, contact_ids: Sequence[int] | sa.Select, kind: EmailKind, *,
                 context: dict) -> None:
    """One email of a kind to each of these contacts (ids, or a select of them), in one statement."""
    now = sa.literal(utcnow(), UTCDateTime)
    rows = sa.select(Contact.id, _random_key(session.get_bind().dialect.name), sa.literal(kind.value), Contact.email,
                     sa.literal(kind.value), sa.literal(context, sa.JSON), Contact.language,
                     sa.literal(OutboxStatus.QUEUED.value), sa.literal(0), now, now).where(Contact.id.in_(contact_ids))
    session.execute(OutboxMessage.__table__.insert().from_select(
        ["contact_id", "idempotency_key", "kind", "recipient", "template", "context", "language", "status",
         "attempts", "created_at", "next_attempt_at"], rows))


def _random_key(dialect: str):
    """What secrets.token_hex(16) is to message_row, made by the database: 32 random hex digits. Unguessable,
    as each key is part of its email's Message-ID, which bounces and complaints quote back to us."""
    if dialect == "postgresql":
        return sa.func.replace(sa.cast(sa.func.gen_random_uuid(), sa.Text), "-", "")
    return sa.func.lower(sa.func.hex(sa.func.randomblob(16)))


def message_row(recipient: str, language: str, kind: EmailKind, *, context: dict, template: str | None = None) -> dict:
    """The columns of a new outbox message but its contact."""
    now = utcnow()
    return {"idempotency_key": secrets.token_hex(16), "kind": kind, "recipient": recipient,
            "template": template or kind, "context": context, "language": language,
            "status": OutboxStatus.QUEUED, "attempts": 0, "created_at": now, "next_attempt_at": now}


def queue_invitation(session: so.Session, contact, kind: EmailKind, *, context: dict, settings: Settings) -> int:
    """Queue an invitation (a confirmation, an "already subscribed" note) within the throttle.

    One the cap or the resend pause holds back is not dropped: it is queued to become due when
    they allow it. Such a row's created_at is that moment, so the cap counts it when it goes out
    (and its Date header says so). While one is held, another sign-up adds nothing: the held one
    is rendered when it goes out, so it carries the newest link and lists. The id of the row.
    """
    now = utcnow()
    held = session.execute(
        sa.select(OutboxMessage.id, OutboxMessage.kind)
        .where(OutboxMessage.contact_id == contact.id, OutboxMessage.kind.in_(INVITATION_KINDS),
               OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.created_at > now)
        .order_by(OutboxMessage.created_at).limit(1)
    ).first()
    if held is not None:
        if kind == EmailKind.CONFIRMATION and held.kind != kind:  # something to confirm now: ask for it
            session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == held.id)
                            .values(kind=kind, template=kind, context=context))
        return held.id
    due = _invitation_due(session, contact.id, settings, now)
    row = message_row(contact.email, contact.language, kind, context=context)
    row.update(created_at=due, next_attempt_at=due)
    if due > now:
        lifecycle.record_event(session, contact, EventKind.INVITATION_HELD, until=due.isoformat())
    return session.connection().execute(_INSERT_MESSAGE, {**row, "contact_id": contact.id}).scalar_one()


def _invitation_due(session: so.Session, contact_id: int, settings: Settings, now: dt.datetime) -> dt.datetime:
    """The first moment an invitation keeps both the daily cap and the pause since the last one."""
    day = dt.timedelta(days=1)
    times = [t if t.tzinfo else t.replace(tzinfo=dt.UTC) for t in session.scalars(
        sa.select(OutboxMessage.created_at)
        .where(OutboxMessage.contact_id == contact_id, OutboxMessage.kind.in_(INVITATION_KINDS),
               OutboxMessage.created_at >= now - day)
        .order_by(OutboxMessage.created_at))]
    due = now
    if times:
        due = max(due, times[-1] + dt.timedelta(seconds=settings.confirmation_resend_seconds))
    cap = max(settings.confirmations_per_day, 1)
    if len(times) >= cap:
        # The day back from a moment counts rows at its very start: one second past keeps under the cap.
        due = max(due, times[len(times) - cap] + day + dt.timedelta(seconds=1))
    return due


def _claim(session: so.Session, message_id: int) -> bool:
    claimed = session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.SENDING, claimed_at=utcnow(), attempts=OutboxMessage.attempts + 1)
    ).rowcount
    session.commit()  # Own transaction: other workers must see the claim before this one sends
    return claimed == 1


def deliver(session: so.Session, message_id: int, transport: Transport, settings: Settings) -> OutboxStatus | None:
    """Send one outbox message if nobody else has; returns its new status, or None if not ours."""
    if not _claim(session, message_id):
        return None
    message = session.get(OutboxMessage, message_id, populate_existing=True)
    contact = session.get(Contact, message.contact_id) if message.contact_id else None
    # Every confirmation asks again, so a sign-up after a verdict is checked anew, either way.
    check_first = message.kind == EmailKind.CONFIRMATION and contact is not None
    session.commit()  # Own transaction: none stays open across DNS and SMTP (on SQLite it holds the write lock)
    try:
        if check_first:
            verdict = check_domain(contact.email.rpartition("@")[2], settings)
            if verdict == Deliverability.UNDELIVERABLE and message.last_error != DOMAIN_HELD:
                message.next_attempt_at = utcnow() + DOMAIN_RECHECK
                return _finish(session, message, OutboxStatus.QUEUED, DOMAIN_HELD)
            contact.email_check = verdict.value
            if verdict == Deliverability.UNDELIVERABLE:
                lifecycle.mark_undeliverable(session, contact, reason="domain does not accept mail")
                raise emails.NothingToSend("domain does not accept mail")
        rendered = emails.render(session, message, contact, Links(settings))
        session.commit()  # Own transaction: the domain's verdict is kept; none stays open across SMTP
        transport.send(build_message(message, rendered, settings), tokens.return_path(message.id, settings))
    except emails.NothingToSend as exc:
        return _finish(session, message, OutboxStatus.SKIPPED, str(exc))
    except MailError as exc:
        report = _refusal_report(message, exc.refusal, settings)
        if isinstance(exc, TransientMailError) and message.attempts < MAX_ATTEMPTS:
            message.next_attempt_at = utcnow() + dt.timedelta(seconds=30 * 2 ** message.attempts)
            return _finish(session, message, OutboxStatus.QUEUED, str(exc), report)
        return _finish(session, message, OutboxStatus.FAILED, str(exc), report)
    message.sent_at = utcnow()
    return _finish(session, message, OutboxStatus.SENT, None)


def _finish(session: so.Session, message: OutboxMessage, status: OutboxStatus, error: str | None,
            report: intake.Arrival | None = None):
    message.status = status
    message.last_error = error[:500] if error else None
    if status != OutboxStatus.QUEUED:
        message.claimed_at = None
    reported = report is not None and intake.receive(session, [report]) > 0
    session.commit()  # Own transaction: a send's outcome stays even if the worker dies next (no resend)
    if reported:
        bounce_jobs.wake()
    if status in (OutboxStatus.SKIPPED, OutboxStatus.FAILED):
        # Not the error itself: an SMTP reply often quotes the address. It is in last_error.
        log.info("outbox message %s %s (%s)", message.id, status.value, message.kind)
    return status


def _refusal_report(message: OutboxMessage, refusal: Refusal | None, settings: Settings) -> intake.Arrival | None:
    """A refusal of the recipient as a delivery report, read like any bounce.

    A 4xx after DATA is left out: the recipient was accepted, and what the message met (a busy
    server, a greylist) is not news about the address. A 4xx at RCPT counts once per email, however
    often the retries meet it, so that one slow email is not several soft bounces.
    """
    if refusal is None or (refusal.stage != "RCPT" and refusal.code < 500):
        return None
    return intake.Arrival(ReportSource.SMTP, f"{message.id}.{refusal.code // 100}xx",
                          smtp.record(refusal, tokens.return_path(message.id, settings), utcnow()))


def hand_over(session: so.Session, dispatch: Dispatcher, settings: Settings, now: dt.datetime | None = None) -> int:
    """The relay: hand the messages that are due to the queue; how many were handed over.

    In one transaction the due rows are locked (a second relay skips them), given to `dispatch`
    and pushed forward. If the queue refuses them, the rollback leaves them due for the next pass.
    If it takes them and no worker claims one (the queue lost it, or is far behind), it is handed
    over again after outbox_stuck_seconds, then each time after waiting as long as it already has:
    a long backlog is not queued again and again.
    """
    now = now or utcnow()
    stuck = dt.timedelta(seconds=settings.outbox_stuck_seconds)
    handed = 0
    while True:
        due = session.execute(
            sa.select(OutboxMessage.id, OutboxMessage.created_at)
            .where(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id)
            .limit(HAND_OVER_LIMIT)
            .with_for_update(skip_locked=True)
        ).all()
        if not due:
            session.commit()  # Own transaction: the relay's batches (see below)
            return handed
        session.execute(sa.update(OutboxMessage), [
            {"id": message_id, "next_attempt_at": now + max(stuck, now - created_at)}
            for message_id, created_at in due])
        try:
            dispatch([message_id for message_id, _ in due])
        except Exception as exc:  # noqa: BLE001 - the rows stay due; the next pass tries again
            session.rollback()  # Own transaction: the batch the queue refused stays due
            log.warning("could not hand %d outbox message(s) to the queue (%s); the next pass retries",
                        len(due), type(exc).__name__)
            return handed
        session.commit()  # Own transaction: a batch the queue took is marked handed over and its locks freed
        handed += len(due)
        if len(due) < HAND_OVER_LIMIT:
            return handed


def latest(session: so.Session, limit: int) -> list[OutboxMessage]:
    """The newest emails, newest first."""
    return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)))


def overdue(session: so.Session, now: dt.datetime | None = None) -> int:
    """How many emails have been due for over OVERDUE without the relay handing them over."""
    now = now or utcnow()
    return session.scalar(
        sa.select(sa.func.count()).select_from(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.next_attempt_at < now - OVERDUE)
    )


def sweep(session: so.Session, now: dt.datetime | None = None) -> int:
    """Give back the claims of workers that died mid-send; the relay hands those messages over again.

    A claim is older than its hand-over's retry time (outbox_stuck_seconds), so they are due at once.
    """
    now = now or utcnow()
    released = session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < now - STALE_CLAIM)
        .values(status=OutboxStatus.QUEUED, claimed_at=None)
    ).rowcount
    session.flush()
    return released
