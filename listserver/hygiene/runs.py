"""Hygiene runs: the lock that lets one run at a time, and each run's summary.

The lock is the run's own row: a partial unique index lets one row at most be `running`, on
PostgreSQL and SQLite alike, across processes and machines. A run killed outright (no chance to
say so) leaves its row running; once it has committed nothing for hygiene_stale_minutes the next
run marks it abandoned and takes over.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.models import HygieneRun, RunOutcome
from listserver.models._types import utcnow


def start(session: so.Session, stale: dt.timedelta, rules: dict[str, str]) -> HygieneRun | None:
    """A new running run of these rules ({name: why}), or None while another one runs."""
    now = utcnow()
    session.execute(sa.update(HygieneRun)
                    .where(HygieneRun.outcome == RunOutcome.RUNNING, HygieneRun.progressed_at < now - stale)
                    .values(outcome=RunOutcome.ABANDONED, finished_at=now))
    run = HygieneRun(started_at=now, progressed_at=now, outcome=RunOutcome.RUNNING,
                     summary={name: {"changed": 0, "why": why, "seconds": 0} for name, why in rules.items()})
    try:
        with session.begin_nested():
            session.add(run)
    except sa.exc.IntegrityError:  # the index: another run holds the lock
        return None
    return run


def running(session: so.Session) -> HygieneRun | None:
    return session.scalar(sa.select(HygieneRun).where(HygieneRun.outcome == RunOutcome.RUNNING))


def count(session: so.Session, run: HygieneRun, rule: str, changed: int, seconds: float) -> None:
    """Add a batch's changes (and the time it took) to the summary; committed with the batch, so never
    lost nor counted twice."""
    entry = run.summary[rule]
    run.summary = {**run.summary, rule: {**entry, "changed": entry["changed"] + changed,
                                         "seconds": round(entry["seconds"] + seconds, 3)}}
    run.progressed_at = utcnow()
    session.flush()


def finish(session: so.Session, run: HygieneRun, outcome: RunOutcome, error: str | None = None) -> None:
    run.outcome, run.finished_at = outcome, utcnow()
    if error:
        run.summary = {**run.summary, "error": error}
    session.flush()

