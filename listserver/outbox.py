"""The outbox: queue an email inside the caller's transaction, deliver it exactly once.

A message row is written with the change that causes it. After the transaction commits,
its id is handed to the task queue; if that hand-off fails (Redis down), the periodic
sweep hands it over again. Delivery claims the row first, so a job that runs twice, or
a message queued twice, is sent once.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable, Iterable

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver import emails, lifecycle
from listserver.deliverability import Deliverability, check_domain
from listserver.links import Links
from listserver.mailer import PermanentMailError, TransientMailError, Transport, build_message
from listserver.models import Contact, OutboxMessage, OutboxStatus
from listserver.models._types import utcnow
from listserver.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
STALE_CLAIM = dt.timedelta(minutes=10)
_PENDING_KEY = "listserver.outbox.pending"
_DISPATCH_KEY = "listserver.outbox.dispatch"

Dispatcher = Callable[[Iterable[int]], None]
INVITATION_KINDS = ("confirmation", "already_subscribed")  # capped per address and day
_INSERT_MESSAGE = OutboxMessage.__table__.insert().returning(OutboxMessage.__table__.c.id)


def queue_email(session: so.Session, contact, kind: str, *, context: dict, template: str | None = None) -> int:
    """Add an email to the outbox; it is handed to a worker once the transaction commits.

    `contact` is anything with `id`, `email` and `language` (a Contact or a lifecycle.ContactRow).
    """
    row = message_row(contact.email, contact.language, kind, context=context, template=template)
    message_id = session.connection().execute(_INSERT_MESSAGE, {**row, "contact_id": contact.id}).scalar_one()
    send_after_commit(session, message_id)
    return message_id


def message_row(recipient: str, language: str, kind: str, *, context: dict, template: str | None = None) -> dict:
    """The columns of a new outbox message but its contact."""
    now = utcnow()
    return {"idempotency_key": secrets.token_hex(16), "kind": kind, "recipient": recipient,
            "template": template or kind, "context": context, "language": language,
            "status": OutboxStatus.QUEUED, "attempts": 0, "created_at": now, "next_attempt_at": now}


def send_after_commit(session: so.Session, message_id: int) -> None:
    """Hand a message written in this transaction to the queue once it commits."""
    session.info.setdefault(_PENDING_KEY, []).append(message_id)


def send_committed(session: so.Session, message_id: int) -> None:
    """Hand a message that is already committed (written in autocommit, outside the session) to the queue."""
    _dispatch_safely(session.info[_DISPATCH_KEY], [message_id])


def may_invite(session: so.Session, contact_id: int, settings: Settings) -> bool:
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


def install_dispatch(sessionmaker: so.sessionmaker, dispatch: Dispatcher) -> None:
    """Hand every committed outbox message to `dispatch`; failures are left to the sweep."""
    sessionmaker.configure(info={**sessionmaker.kw.get("info", {}), _DISPATCH_KEY: dispatch})

    @sa.event.listens_for(sessionmaker, "after_commit")
    def _after_commit(session: so.Session) -> None:
        pending = session.info.pop(_PENDING_KEY, [])
        if pending:
            _dispatch_safely(dispatch, pending)

    @sa.event.listens_for(sessionmaker, "after_rollback")
    def _after_rollback(session: so.Session) -> None:
        session.info.pop(_PENDING_KEY, None)


def _dispatch_safely(dispatch: Dispatcher, ids: list[int]) -> None:
    try:
        dispatch(ids)
    except Exception as exc:  # noqa: BLE001 - the row is safe in the database; the sweep retries
        log.warning("could not hand %d outbox message(s) to the queue (%s); the sweep will retry",
                    len(ids), type(exc).__name__)


def _claim(session: so.Session, message_id: int) -> bool:
    claimed = session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.SENDING, claimed_at=utcnow(), attempts=OutboxMessage.attempts + 1)
    ).rowcount
    session.commit()
    return claimed == 1


def deliver(session: so.Session, message_id: int, transport: Transport, settings: Settings) -> OutboxStatus | None:
    """Send one outbox message if nobody else has; returns its new status, or None if not ours."""
    if not _claim(session, message_id):
        return None
    message = session.get(OutboxMessage, message_id, populate_existing=True)
    contact = session.get(Contact, message.contact_id) if message.contact_id else None
    check_first = message.kind == "confirmation" and contact is not None and contact.email_check is None
    # No transaction stays open across DNS and SMTP: on SQLite it would hold the write lock.
    session.commit()
    try:
        if check_first:
            verdict = check_domain(contact.email.rpartition("@")[2], settings)
            contact.email_check = verdict.value
            if verdict == Deliverability.UNDELIVERABLE:
                lifecycle.mark_undeliverable(session, contact, reason="domain does not accept mail")
                raise emails.NothingToSend("domain does not accept mail")
        rendered = emails.render(session, message, contact, Links(settings))
        session.commit()
        transport.send(build_message(message, rendered, settings))
    except emails.NothingToSend as exc:
        return _finish(session, message, OutboxStatus.SKIPPED, str(exc))
    except TransientMailError as exc:
        if message.attempts >= MAX_ATTEMPTS:
            return _finish(session, message, OutboxStatus.FAILED, str(exc))
        message.next_attempt_at = utcnow() + dt.timedelta(seconds=30 * 2 ** message.attempts)
        return _finish(session, message, OutboxStatus.QUEUED, str(exc))
    except PermanentMailError as exc:
        return _finish(session, message, OutboxStatus.FAILED, str(exc))
    message.sent_at = utcnow()
    return _finish(session, message, OutboxStatus.SENT, None)


def _finish(session: so.Session, message: OutboxMessage, status: OutboxStatus, error: str | None):
    message.status = status
    message.last_error = error[:500] if error else None
    if status != OutboxStatus.QUEUED:
        message.claimed_at = None
    session.commit()
    if status in (OutboxStatus.SKIPPED, OutboxStatus.FAILED):
        # Not the error itself: an SMTP reply often quotes the address. It is in last_error.
        log.info("outbox message %s %s (%s)", message.id, status.value, message.kind)
    return status


def sweep(session: so.Session, dispatch: Dispatcher, settings: Settings, now: dt.datetime | None = None) -> int:
    """Hand over again what is due and was never picked up; release claims of dead workers."""
    now = now or utcnow()
    grace = dt.timedelta(seconds=settings.outbox_stuck_seconds)
    # A worker that died mid-send leaves its claim; after STALE_CLAIM the message goes back.
    session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < now - STALE_CLAIM)
        .values(status=OutboxStatus.QUEUED, claimed_at=None, next_attempt_at=now - grace)
    )
    due = list(session.scalars(
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.QUEUED, OutboxMessage.next_attempt_at <= now - grace)
        .order_by(OutboxMessage.id)
        .limit(1000)
    ))
    if due:
        # Pushed forward first, so the next sweep leaves them alone while the queue works.
        session.execute(
            sa.update(OutboxMessage).where(OutboxMessage.id.in_(due)).values(next_attempt_at=now)
        )
    session.commit()
    if due:
        _dispatch_safely(dispatch, due)
    return len(due)
