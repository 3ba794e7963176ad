"""Reports in: stored as they arrive, then read, tied to our emails and contacts, and acted on.

Every input (provider webhooks, bounce mail, our own SMTP replies) stores its raw reports with
receive() and nothing else: a request or a receiver never waits on parsing, and a report stored
is never lost to a parser's bug. process() reads what is waiting, a batch at a time, with the
reader of each source, and applies what the batch says in a few statements:

- a hard bounce cleans the contact, unless they engaged or an email reached them after the
  bounced one was sent (the address works after all);
- a complaint unsubscribes them from everything and suppresses them as complained;
- an unsubscribe through the provider unsubscribes them from everything;
- a human open or click is engagement; a delivery shows the address works;
- soft bounces, blocks and what we cannot read are only kept: the soft-bounce rule and list
  health read them later. A block or a policy refusal is never held against a person.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects import postgresql, sqlite

from listserver import tokens
from listserver.bounces import messages, smtp
from listserver.bounces.providers import READERS as PROVIDER_READERS
from listserver.bounces.reports import Report
from listserver.contacts import lifecycle
from listserver.forms.fields import lookup_key
from listserver.models import (
    BOUNCES,
    ConsentMethod,
    Contact,
    ContactStatus,
    DeliveryReport,
    EventKind,
    OutboxMessage,
    ReportKind,
    ReportSource,
)
from listserver.models._types import utcnow
from listserver.settings import Settings

log = logging.getLogger(__name__)

BATCH = 500  # reports read and applied per transaction
Reader = Callable[[str], list[Report]]

READERS: dict[ReportSource, Reader] = {
    ReportSource.MAIL: messages.read,
    ReportSource.SMTP: smtp.read,
    **PROVIDER_READERS,
}

# Our Message-ID: <idempotency key.outbox id@domain> (transport.build_message).
_MESSAGE_ID = re.compile(r"(?<![0-9a-z])([0-9a-f]{32})\.(\d{1,18})@")
_ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+")
_EVENTS = {
    ReportKind.HARD: EventKind.BOUNCED, ReportKind.SOFT: EventKind.BOUNCED, ReportKind.OTHER: EventKind.BOUNCED,
    ReportKind.UNKNOWN: EventKind.BOUNCED, ReportKind.COMPLAINT: EventKind.COMPLAINED,
    ReportKind.OPEN: EventKind.OPENED, ReportKind.CLICK: EventKind.CLICKED,
}
_PROVIDER = lifecycle.Proof(method=ConsentMethod.PROVIDER)
# Sources whose reports are authenticated (a provider's signature, our own relay's reply), so the
# recipient's address alone may name the contact.
BY_ADDRESS = frozenset(ReportSource) - {ReportSource.MAIL}


@dataclass(frozen=True)
class Arrival:
    """A raw report as an input received it: a provider's event (JSON) or a whole message.

    `external_id` is what a retry of the same report carries again (the provider's event id, the
    message's Message-ID, a digest of the bytes): a second arrival of it is not stored.
    """

    source: ReportSource
    external_id: str
    raw: str


def receive(session: so.Session, arrivals: Iterable[Arrival]) -> int:
    """Store the reports not stored before; how many were new. The caller commits, then wakes the workers."""
    now = utcnow()
    rows = [{"source": a.source, "external_id": storable(a.external_id)[:200], "raw": storable(a.raw),
             "received_at": now, "machine": False} for a in arrivals]
    if not rows:
        return 0
    return len(session.connection().execute(_store_new(session.get_bind().dialect.name), rows).all())


_STORE_NEW: dict[str, sa.Insert] = {}


def _store_new(dialect: str) -> sa.Insert:
    """INSERT of reports that skips those stored before, returning the new ids; built once (compiling costs)."""
    if dialect not in _STORE_NEW:
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(DeliveryReport.__table__)
        _STORE_NEW[dialect] = (insert.on_conflict_do_nothing(index_elements=["source", "external_id"])
                               .returning(DeliveryReport.__table__.c.id))
    return _STORE_NEW[dialect]


def storable(text: str) -> str:
    """Text PostgreSQL keeps as it is given: no NUL, no lone surrogates (junk mail carries both)."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def waiting(session: so.Session) -> bool:
    """Whether any stored report has not been read yet."""
    return session.scalar(sa.select(DeliveryReport.id).where(DeliveryReport.processed_at.is_(None)).limit(1)) \
        is not None


@dataclass
class _Finding:
    """One report of a batch, with what it is about."""

    row_id: int
    source: ReportSource
    report: Report
    message_id: int | None = None
    contact_id: int | None = None
    sent_at: dt.datetime | None = None


def process(session: so.Session, settings: Settings, limit: int = BATCH) -> int:
    """Read and apply up to `limit` waiting reports; how many were read. Flushes; the caller commits.

    Rows are locked as they are taken (a second worker skips them), and marked read in the same
    transaction that applies them: a worker killed half way leaves them waiting, none applied.
    """
    rows = session.execute(
        sa.select(DeliveryReport.id, DeliveryReport.source, DeliveryReport.external_id, DeliveryReport.raw,
                  DeliveryReport.received_at)
        .where(DeliveryReport.processed_at.is_(None))
        .order_by(DeliveryReport.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0
    findings, extra = _read(rows)
    _tie(session, findings, settings)
    _store(session, rows, findings, extra)
    _apply(session, findings)
    return len(rows)


def _read(rows: Sequence) -> tuple[list[_Finding], dict[int, list[_Finding]]]:
    """Each row's first finding, and the further ones of a report about several recipients."""
    findings, extra = [], {}
    for row in rows:
        source = ReportSource(row.source)
        try:
            reports = READERS[source](row.raw or "")
        except Exception as exc:  # noqa: BLE001 - a reader's bug must not hold up the reports behind it
            log.warning("delivery report %s (%s) unreadable: %s", row.id, source.value, type(exc).__name__)
            reports = []
        reports = reports or [Report(ReportKind.UNKNOWN, reason="nothing found in the report")]
        received = row.received_at if row.received_at.tzinfo else row.received_at.replace(tzinfo=dt.UTC)
        found = [_Finding(row.id, source, _storable(r, received)) for r in reports]
        findings.append(found[0])
        if len(found) > 1:
            extra[row.id] = found[1:]
    return findings + [f for more in extra.values() for f in more], extra


def _storable(report: Report, received: dt.datetime) -> Report:
    """The report with texts the database keeps, and a time: when it arrived, if it says none or a later one
    (a time ahead of ours would move the contact's last delivery or engagement past every bounce to come).

    A reader passes on what the raw report only escapes (JSON's \\u0000, a MIME-encoded NUL): stored as it
    is, such a report would fail its whole batch again and again, and hold up every report behind it.
    """
    when = min(_aware(report.occurred_at), received) if report.occurred_at else received
    return Report(report.kind, report.recipient and storable(report.recipient),
                  report.status and storable(report.status), storable(report.reason or ""),
                  report.message_ref and storable(report.message_ref), when, report.machine)


def _tie(session: so.Session, findings: list[_Finding], settings: Settings) -> None:
    """Find the outbox message and the contact each finding is about."""
    claims = [_message_of(f.report.message_ref, settings) for f in findings]  # (outbox id, key it carried)
    wanted = {message_id for message_id, _ in claims if message_id is not None}
    rows = {row.id: row for row in session.execute(
        sa.select(OutboxMessage.id, OutboxMessage.idempotency_key, OutboxMessage.contact_id,
                  OutboxMessage.recipient, OutboxMessage.sent_at, OutboxMessage.created_at)
        .where(OutboxMessage.id.in_(wanted)))} if wanted else {}
    # Each report on its own: a Message-ID must carry its row's own key (a signed return path
    # carries none), whatever another report of the batch says of the same email.
    messages = [rows.get(message_id) if message_id in rows and key in (None, rows[message_id].idempotency_key)
                else None for message_id, key in claims]
    # The address is looked up only for reports that name no email of ours (normalising it costs),
    # and only where the report is authenticated: anyone can mail our bounce address a made-up
    # "no such user" about anyone, so a bounce message acts only through the email it names.
    keys = {f.report.recipient: lookup_key(f.report.recipient) for f, message in zip(findings, messages)
            if f.report.recipient and message is None and f.source in BY_ADDRESS}
    contacts_by_key = dict(session.execute(
        sa.select(Contact.email_key, Contact.id).where(Contact.email_key.in_(set(keys.values()))))
        .all()) if keys else {}
    for finding, message in zip(findings, messages):
        finding.message_id = message.id if message else None
        if message is not None and message.contact_id is not None:
            finding.sent_at = message.sent_at or message.created_at
            if not _about_another_address(finding.report, message.recipient):
                finding.contact_id = message.contact_id  # the return path names the email, hence the person
        elif finding.report.recipient:
            finding.contact_id = contacts_by_key.get(keys.get(finding.report.recipient))
        finding.sent_at = finding.sent_at or finding.report.occurred_at


def _about_another_address(report: Report, recipient: str) -> bool:
    """A bounce of our email that names another address: the email was forwarded, and a forwarding
    target failed. It is not about the person's own address, so it is kept and acts on nobody."""
    if report.kind not in BOUNCES or not report.recipient or report.recipient.lower() == recipient.lower():
        return False
    return lookup_key(report.recipient) != lookup_key(recipient)  # the same, spelt another way (IDNA, NFC)?


def _message_of(ref: str | None, settings: Settings) -> tuple[int | None, str | None]:
    """The outbox id a reference names, and the idempotency key it carries (to check against the row)."""
    if not ref:
        return None, None
    if "bounces+" in ref.lower():
        return tokens.read_return_path(ref, settings), None
    match = _MESSAGE_ID.search(ref)
    if match:
        return int(match.group(2)), match.group(1)
    return None, None


def _store(session: so.Session, rows: Sequence, findings: list[_Finding], extra: dict[int, list[_Finding]]) -> None:
    """Write what each report said onto its row (further recipients get rows of their own)."""
    now = utcnow()
    by_row = {f.row_id: f for f in findings[:len(rows)]}
    session.execute(sa.update(DeliveryReport), [
        {"id": row.id, "processed_at": now, **_columns(by_row[row.id])} for row in rows])
    source_of = {row.id: (row.source, row.external_id) for row in rows}
    further = [
        {"source": source_of[row_id][0], "external_id": f"{source_of[row_id][1][:190]}#{n}", "raw": None,
         "received_at": now, "processed_at": now, **_columns(finding)}
        for row_id, more in extra.items() for n, finding in enumerate(more, 2)]
    if further:
        session.execute(sa.insert(DeliveryReport), further)


def _columns(finding: _Finding) -> dict:
    report = finding.report
    domain = report.recipient.rpartition("@")[2].lower()[:255] if report.recipient else None
    return {"kind": report.kind, "contact_id": finding.contact_id, "outbox_message_id": finding.message_id,
            "recipient_domain": domain or None, "status": (report.status or None) and report.status[:20],
            "reason": redact(report.reason)[:500] or None, "machine": report.machine,
            "sent_at": finding.sent_at, "occurred_at": report.occurred_at}


def redact(text: str) -> str:
    """A diagnostic without the addresses it quotes (they are personal data; the contact is linked)."""
    return _ADDRESS.sub("<address>", " ".join((text or "").split()))


def _apply(session: so.Session, findings: list[_Finding]) -> None:
    mine = [f for f in findings if f.contact_id is not None]
    if not mine:
        return
    events = [{"contact_id": f.contact_id, "kind": _EVENTS[f.report.kind], "created_at": f.report.occurred_at,
               "data": _event_data(f)} for f in mine if f.report.kind in _EVENTS]
    lifecycle.record_events(session, events)
    _note_latest(session, Contact.last_engaged_at, [
        f for f in mine if f.report.kind in (ReportKind.OPEN, ReportKind.CLICK) and not f.report.machine])
    _note_latest(session, Contact.last_delivered_at, [f for f in mine if f.report.kind == ReportKind.DELIVERY])
    hard = [f for f in mine if f.report.kind == ReportKind.HARD]
    if hard:
        lifecycle.clean(session, _not_heard_from_since(session, hard), reason="hard bounce")
    complained = sorted({f.contact_id for f in mine if f.report.kind == ReportKind.COMPLAINT})
    lifecycle.leave_everything(session, complained, ContactStatus.COMPLAINED, _PROVIDER, reason="complaint")
    unsubscribed = sorted({f.contact_id for f in mine if f.report.kind == ReportKind.UNSUBSCRIBE})
    lifecycle.leave_everything(session, unsubscribed, ContactStatus.UNSUBSCRIBED, _PROVIDER,
                               reason="unsubscribed at the provider")


def _event_data(finding: _Finding) -> dict:
    report = finding.report
    data = {"source": finding.source.value, "report": finding.row_id}
    if report.kind in BOUNCES or report.kind == ReportKind.UNKNOWN:
        data.update(type=report.kind.value, status=report.status, reason=redact(report.reason)[:200])
    if report.machine:
        data["machine"] = True
    return data


def _note_latest(session: so.Session, column: sa.orm.InstrumentedAttribute, findings: list[_Finding]) -> None:
    """Move `column` forward to each contact's newest finding; never back."""
    latest: dict[int, dt.datetime] = {}
    for f in findings:
        latest[f.contact_id] = max(latest.get(f.contact_id, f.report.occurred_at), f.report.occurred_at)
    if not latest:
        return
    table = Contact.__table__
    statement = (sa.update(table)
                 .where(table.c.id == sa.bindparam("contact"),
                        sa.or_(table.c[column.key].is_(None), table.c[column.key] < sa.bindparam("at")))
                 .values({column.key: sa.bindparam("at")}))
    session.connection().execute(statement, [{"contact": c, "at": at} for c, at in latest.items()])


def _not_heard_from_since(session: so.Session, hard: list[_Finding]) -> list[int]:
    """The contacts of these hard bounces who have not engaged since the bounced email left, and
    had no email delivered since the bounce (a delivery before it may be of the bounced email
    itself: a receiving server that takes an email and bounces it later)."""
    sent: dict[int, dt.datetime] = {}
    bounced: dict[int, dt.datetime] = {}
    for f in hard:
        sent[f.contact_id] = min(sent.get(f.contact_id, f.sent_at), f.sent_at)
        bounced[f.contact_id] = min(bounced.get(f.contact_id, f.report.occurred_at), f.report.occurred_at)
    heard = session.execute(
        sa.select(Contact.id, Contact.last_engaged_at, Contact.last_delivered_at).where(Contact.id.in_(sent))).all()
    return sorted(row.id for row in heard
                  if not (row.last_engaged_at is not None and _aware(row.last_engaged_at) > sent[row.id])
                  and not (row.last_delivered_at is not None and _aware(row.last_delivered_at) > bounced[row.id]))


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
