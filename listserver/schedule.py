"""Periodic jobs: the job type, each app's table of them, and the loop that runs them (one per deployment).

Each domain declares its jobs in its own jobs module; the app factory adds them to the app's table.
No domain package is imported here.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import redis
import sqlalchemy as sa
from flask import Flask

log = logging.getLogger(__name__)

LOCK_KEY = "listserver:scheduler:lock"
LOCK_SECONDS = 30
DAILY_KEY = "listserver:scheduler:daily:{name}:{day}"  # set once by the scheduler that runs that day's job


@dataclass(frozen=True)
class Job:
    """A function run in the app's context every `every` seconds, or daily at `daily_at` (UTC).

    `timeout` (seconds) is how long the loop waits for one run; see Scheduler.run for what
    happens to a run that takes longer.
    """

    name: str
    run: Callable[[], object]
    timeout: float
    every: float | None = None
    daily_at: dt.time | None = None

    def __post_init__(self):
        if (self.every is None) == (self.daily_at is None):
            raise ValueError(f"job {self.name}: give either every or daily_at")

    def __str__(self) -> str:
        if self.every is not None:
            return f"{self.name} every {self.every:g}s"
        return f"{self.name} daily at {self.daily_at:%H:%M} UTC"


def declare(app: Flask, jobs: Iterable[Job]) -> None:
    """Add a domain's jobs to the app's table; names are unique (they key the daily runs in Redis)."""
    table = app.extensions.setdefault("listserver.schedule", {})
    for job in jobs:
        if job.name in table:
            raise ValueError(f"a job named {job.name!r} is already declared")
        table[job.name] = job


def jobs_of(app: Flask) -> tuple[Job, ...]:
    return tuple(app.extensions.get("listserver.schedule", {}).values())


@dataclass
class Run:
    job: Job
    thread: threading.Thread
    started: float  # time.monotonic()


class Scheduler:
    """Runs an app's jobs as they fall due; with Redis, only the holder of the lock runs them."""

    def __init__(self, app: Flask, jobs: Iterable[Job] | None = None):
        self.app = app
        self.jobs = tuple(jobs_of(app) if jobs is None else jobs)
        settings = app.config["SETTINGS"]
        self.redis = redis.Redis.from_url(settings.redis_url, socket_timeout=2) if settings.redis_url else None
        self.me = uuid.uuid4().hex
        self.last_run: dict[str, float] = {}  # time.monotonic() of each every-N-seconds job's last start
        self.days_run: dict[str, dt.date] = {}  # without Redis: the last day each daily job ran
        self.overrunning: dict[str, Run] = {}

    def run_forever(self, stop: threading.Event, tick: float = 1.0) -> None:
        while not stop.is_set():
            if self.redis is None or self._hold_lock():
                self.run_due()
            stop.wait(tick)

    def run_due(self, now: dt.datetime | None = None) -> None:
        """Run, one after another, the jobs due at `now` (UTC; default: the clock's)."""
        now = now or dt.datetime.now(dt.UTC)
        for job in self.jobs:
            if self._still_overrunning(job):
                continue
            if job.every is not None:
                due = time.monotonic() - self.last_run.get(job.name, -job.every) >= job.every
                if due:
                    self.last_run[job.name] = time.monotonic()
            else:
                due = now.time() >= job.daily_at and self._claim_day(job, now.date())
            if due:
                self.run(job)

    def run(self, job: Job) -> None:
        """Run a job in a thread of its own and wait for it up to its timeout.

        A run that overruns its timeout is logged and left to finish in its thread (Python cannot
        stop a thread from outside); the loop goes on with the other jobs, and does not start that
        job again until the overrunning run has ended. So a stuck job delays the others by its
        timeout once, never for ever. While it waits, the loop keeps the scheduler lock.
        """
        run = Run(job, threading.Thread(target=self._run_in_app_context, args=(job,), name=f"job {job.name}",
                                        daemon=True), time.monotonic())
        run.thread.start()
        deadline = run.started + job.timeout
        while run.thread.is_alive() and time.monotonic() < deadline:
            run.thread.join(min(1.0, max(0.0, deadline - time.monotonic())))
            if self.redis is not None and run.thread.is_alive():
                self._hold_lock()
        if run.thread.is_alive():
            log.warning("scheduled job %s is over its timeout of %gs; not started again until it ends",
                        job.name, job.timeout)
            self.overrunning[job.name] = run

    def _still_overrunning(self, job: Job) -> bool:
        run = self.overrunning.get(job.name)
        if run is None:
            return False
        if run.thread.is_alive():
            return True
        del self.overrunning[job.name]
        log.warning("scheduled job %s ended after %.0fs, over its timeout of %gs",
                    job.name, time.monotonic() - run.started, job.timeout)
        return False

    def _run_in_app_context(self, job: Job) -> None:
        try:
            with self.app.app_context():
                job.run()
        except sa.exc.OperationalError as exc:  # the database is away: a line a pass, not a traceback
            log.warning("scheduled job %s failed: database unavailable (%s)", job.name, type(exc.orig).__name__)
        except Exception:  # noqa: BLE001 - one failing job must not stop the others
            log.exception("scheduled job %s failed", job.name)

    def _claim_day(self, job: Job, day: dt.date) -> bool:
        """Whether this scheduler runs today's run of a daily job: once a day, whoever asks.

        With Redis the claim is one SET NX, so it holds across restarts and between schedulers;
        without Redis (embedded) it is remembered in this process, so a restart may run it again.
        A day whose time passed while no scheduler ran is caught up when one starts.
        """
        if self.redis is None:
            if self.days_run.get(job.name) == day:
                return False
            self.days_run[job.name] = day
            return True
        key = DAILY_KEY.format(name=job.name, day=day.isoformat())
        try:
            return bool(self.redis.set(key, self.me, nx=True, ex=2 * 86_400))
        except redis.RedisError as exc:
            log.warning("scheduled job %s not started: Redis unavailable (%s)", job.name, type(exc).__name__)
            return False

    def _hold_lock(self) -> bool:
        try:
            if self.redis.set(LOCK_KEY, self.me, nx=True, ex=LOCK_SECONDS):
                return True
            if self.redis.get(LOCK_KEY) == self.me.encode():
                self.redis.expire(LOCK_KEY, LOCK_SECONDS)
                return True
        except redis.RedisError as exc:
            log.warning("scheduler lock unavailable (%s)", type(exc).__name__)
        return False
