"""Contacts and delivery reports written straight into the tables, at chosen ages, for the hygiene rules to find."""

from __future__ import annotations

import datetime as dt
import itertools

import sqlalchemy as sa
from flask.cli import ScriptInfo

from listserver.cli import main
from listserver.extensions import db
from listserver.hygiene import jobs
from listserver.mail import outbox
from listserver.models import (
    Contact,
    ContactStatus,
    DeliveryReport,
    EmailKind,
    Event,
    EventKind,
    HygieneRun,
    MailingList,
    OutboxMessage,
    OutboxStatus,
    ReportKind,
    ReportSource,
    Subscription,
    SubscriptionStatus,
)
from listserver.models._types import utcnow

_numbers = itertools.count()


def ago(days: float) -> dt.datetime:
    return utcnow() - dt.timedelta(days=days)


def add_people(app, count: int, *, engaged_days_ago: float | None = 10,
               status: ContactStatus = ContactStatus.SUBSCRIBED, domain: str = "example-shop.net",
               **columns) -> list[int]:
    """`count` contacts on the newsletter (active when subscribed or inactive, else pending), confirmed a
    year ago unless pending, who last engaged `engaged_days_ago` days ago; their ids."""
    confirmed = status not in (ContactStatus.PENDING,)
    rows = []
    for _ in range(count):
        address = f"person-{next(_numbers)}@{domain}"
        rows.append({"email": address, "email_key": address, "status": status,
                     "created_at": ago(400), "updated_at": ago(400), "confirmed_at": ago(365) if confirmed else None,
                     "last_engaged_at": None if engaged_days_ago is None else ago(engaged_days_ago), **columns})
    subscription = SubscriptionStatus.PENDING if status == ContactStatus.PENDING else SubscriptionStatus.ACTIVE
    with app.app_context(), db.session() as session:
        newsletter = session.scalar(sa.select(MailingList.id).where(MailingList.key == "newsletter"))
        ids = list(session.scalars(sa.insert(Contact).returning(Contact.id, sort_by_parameter_order=True), rows))
        session.execute(sa.insert(Subscription), [{"contact_id": i, "list_id": newsletter, "status": subscription}
                                                  for i in ids])
        session.commit()
    return ids


def add_reports(app, contact_id: int | None, kind: ReportKind, days_ago: list[float], *,
                domain: str = "example-shop.net", status: str | None = None, outbox_message_id: int | None = None):
    """Processed reports about a contact, one per age in days, as the intake leaves them."""
    with app.app_context(), db.session() as session:
        session.execute(sa.insert(DeliveryReport), [
            {"source": ReportSource.WEBHOOK, "external_id": f"test-{next(_numbers)}", "raw": "{}",
             "received_at": ago(days), "processed_at": ago(days), "kind": kind, "contact_id": contact_id,
             "recipient_domain": domain, "status": status, "occurred_at": ago(days),
             "outbox_message_id": outbox_message_id}
            for days in days_ago])
        session.commit()


def add_email(app, contact_id: int) -> int:
    """One email of ours, sent to the contact just now; its outbox id."""
    with app.app_context(), db.session() as session:
        row = outbox.message_row("reader@example-shop.net", "en", EmailKind.PREFERENCES_LINK, context={})
        message_id = session.execute(sa.insert(OutboxMessage).returning(OutboxMessage.id),
                                     {**row, "contact_id": contact_id, "status": OutboxStatus.SENT,
                                      "sent_at": utcnow()}).scalar_one()
        session.commit()
        return message_id


def set_columns(app, contact_ids: list[int], **values) -> None:
    with app.app_context(), db.session() as session:
        session.execute(sa.update(Contact).where(Contact.id.in_(contact_ids)).values(**values)
                        .execution_options(synchronize_session=False))
        session.commit()


def run_hygiene(app, now: dt.datetime | None = None) -> HygieneRun | None:
    with app.app_context():
        return jobs.run_rules(now)


def cli(app, runner, *args):
    return runner.invoke(main, ["hygiene", *args], obj=ScriptInfo(create_app=lambda: app))


def status_of(session, contact_id: int) -> ContactStatus:
    return session.scalar(sa.select(Contact.status).where(Contact.id == contact_id))


def statuses(session, contact_ids: list[int]) -> list[str]:
    found = dict(session.execute(sa.select(Contact.id, Contact.status).where(Contact.id.in_(contact_ids))).all())
    return [found[i].value if i in found else "gone" for i in contact_ids]


def emails_of(session, contact_ids: list[int], kind: EmailKind) -> dict[int, int]:
    """How many emails of a kind each contact has in the outbox."""
    rows = session.execute(sa.select(OutboxMessage.contact_id, sa.func.count())
                           .where(OutboxMessage.contact_id.in_(contact_ids), OutboxMessage.kind == kind)
                           .group_by(OutboxMessage.contact_id)).all()
    return {contact_id: dict(rows).get(contact_id, 0) for contact_id in contact_ids}


def events_of(session, contact_ids: list[int], kind: EventKind) -> dict[int, int]:
    rows = session.execute(sa.select(Event.contact_id, sa.func.count())
                           .where(Event.contact_id.in_(contact_ids), Event.kind == kind)
                           .group_by(Event.contact_id)).all()
    return {contact_id: dict(rows).get(contact_id, 0) for contact_id in contact_ids}


def changed(run: HygieneRun) -> dict[str, int]:
    return {rule: entry["changed"] for rule, entry in run.summary.items() if isinstance(entry, dict)}
