"""The hygiene domain's background work: the daily job hands the run to a worker, which runs every rule.

Each batch commits on its own with its count in the run's summary: a run stopped half way keeps
what it did, counted once, and the next run does the rest.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from flask import current_app

from listserver import services, tasks
from listserver.extensions import db
from listserver.hygiene import rules, runs
from listserver.mail import transport
from listserver.models import HygieneRun, RunOutcome
from listserver.models._types import utcnow
from listserver.schedule import Job

log = logging.getLogger(__name__)


@tasks.actor(max_retries=3, min_backoff=60_000, time_limit=3_600_000)
def run_hygiene() -> None:
    """The daily run; another run holding the lock makes this one a no-op."""
    run_rules()


def run_rules(now: dt.datetime | None = None) -> HygieneRun | None:
    """Run every rule that is on, batch by batch; the run with its summary, or None if another run holds the lock.

    `now` is the moment the rules measure from (tests move it; the clock's by default).
    """
    settings = current_app.config["SETTINGS"]
    policy = rules.Policy.of(settings)
    now = now or utcnow()
    on = rules.rules_on(policy)
    with db.session() as session:
        run = runs.start(session, dt.timedelta(minutes=settings.hygiene_stale_minutes),
                         {rule.name: rule.why(policy) for rule in on})
        session.commit()
        if run is None:
            log.info("hygiene run not started: another run holds the lock")
            return None
        try:
            last = rules.last_id(session)  # contacts signing up during the run are no rule's candidates
            for rule in on:
                after, started = 0, time.monotonic()
                while batch := rules.next_batch(session, rule, policy, now, after, last):
                    done = rules.apply(session, rule, policy, now, batch)
                    runs.count(session, run, rule.name, done.changed, time.monotonic() - started)
                    session.commit()
                    # Only once committed: a rollback must not leave emails on record without their copies.
                    transport.remove_mailbox_copies(settings.mail_dir, done.emails_deleted)
                    after, started = batch.upto, time.monotonic()
        except Exception as exc:
            session.rollback()
            runs.finish(session, run, RunOutcome.FAILED, error=type(exc).__name__)
            session.commit()
            log.warning("hygiene run %s failed (%s); what its batches committed stands", run.id, type(exc).__name__)
            raise
        runs.finish(session, run, RunOutcome.DONE)
        session.commit()
    log.info("hygiene run %s done: %s", run.id,
             ", ".join(f"{rule.name} {run.summary[rule.name]['changed']}" for rule in on))
    return run


def start_hygiene() -> None:
    """The daily job: hand the run to a worker (the scheduler's loop must not wait on it)."""
    services.task_queue().send(run_hygiene)


ACTORS = (run_hygiene,)

JOBS = (Job("hygiene", start_hygiene, daily_at=dt.time(3, 30), timeout=60),)
