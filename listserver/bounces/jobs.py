"""The bounces domain's background work: reading the reports that arrived, as soon as they arrive."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from flask import current_app

from listserver import services, tasks
from listserver.bounces import intake, mailbox
from listserver.extensions import db
from listserver.schedule import Job

log = logging.getLogger(__name__)


@tasks.actor(max_retries=3, min_backoff=1_000, time_limit=600_000)
def process_reports() -> None:
    """Read every waiting report, a batch per transaction; two workers at it share the work."""
    settings = current_app.config["SETTINGS"]
    services.task_queue().starting(process_reports)
    with db.session() as session:
        while intake.process(session, settings) == intake.BATCH:
            session.commit()
        session.commit()


def wake() -> None:
    """Have a worker read the reports just stored (after the commit that stored them).

    One run reads everything waiting, so while one is queued no other is. If the queue refuses,
    the reports wait for take_waiting_reports, a few seconds at most.
    """
    try:
        services.task_queue().send_coalesced(process_reports)
    except Exception as exc:  # noqa: BLE001 - stored is safe; the scheduled job catches up
        log.warning("could not wake the report workers (%s); the scheduled pass will", type(exc).__name__)


def take_in(arrivals: Sequence[intake.Arrival]) -> int:
    """Store reports and commit, then wake the workers that read them; how many were new (in the app's context)."""
    with db.session() as session:
        new = intake.receive(session, arrivals)
        session.commit()
    if new:
        wake()
    return new


def poll_bounce_mailbox() -> int:
    """Take the bounce mail waiting in the IMAP mailbox, if one is set (LISTSERVER_IMAP_HOST)."""
    settings = current_app.config["SETTINGS"]
    return mailbox.poll(settings, take_in) if settings.imap_host else 0


def take_waiting_reports() -> None:
    """Wake the workers if reports are waiting: those whose wake-up was lost, or came while Redis was away."""
    with db.session() as session:
        if intake.waiting(session):
            services.task_queue().send_coalesced(process_reports)


ACTORS = (process_reports,)

JOBS = (
    Job("take_waiting_reports", take_waiting_reports, every=10, timeout=30),
    Job("poll_bounce_mailbox", poll_bounce_mailbox, every=60, timeout=600),
)
