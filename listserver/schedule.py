"""Every periodic job in one table, and the loop that runs them (one per deployment)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import redis
import sqlalchemy as sa
from flask import Flask

from listserver.extensions import db
from listserver.mail import outbox
from listserver.tasks import get_queue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: int
    run: Callable[[Flask], object]


def hand_over_outbox(app: Flask) -> int:
    """The relay: every email that is due goes to the workers."""
    with db.session() as session:
        return outbox.hand_over(session, get_queue(app).dispatch, app.config["SETTINGS"])


def _sweep_outbox(app: Flask) -> int:
    with db.session() as session:
        return outbox.sweep(session)


JOBS = (
    Job("hand_over_outbox", 1, hand_over_outbox),
    Job("sweep_outbox", 30, _sweep_outbox),
)


def run_due(app: Flask, last_run: dict[str, float], now: float) -> None:
    for job in JOBS:
        if now - last_run.get(job.name, 0) < job.every_seconds:
            continue
        last_run[job.name] = now
        try:
            with app.app_context():
                job.run(app)
        except sa.exc.OperationalError as exc:  # the database is away: a line a pass, not a traceback
            log.warning("scheduled job %s failed: database unavailable (%s)", job.name, type(exc.orig).__name__)
        except Exception:  # noqa: BLE001 - one failing job must not stop the others
            log.exception("scheduled job %s failed", job.name)


def run_forever(app: Flask, stop: threading.Event, tick: float = 1.0) -> None:
    """Run jobs as they fall due; with Redis, only the holder of the lock runs them."""
    settings = app.config["SETTINGS"]
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=2) if settings.redis_url else None
    me, last_run = uuid.uuid4().hex, {}
    while not stop.is_set():
        if client is None or _hold_lock(client, me):
            run_due(app, last_run, time.monotonic())
        stop.wait(tick)


def _hold_lock(client: redis.Redis, me: str) -> bool:
    key = "listserver:scheduler:lock"
    try:
        if client.set(key, me, nx=True, ex=30):
            return True
        if client.get(key) == me.encode():
            client.expire(key, 30)
            return True
    except redis.RedisError as exc:
        log.warning("scheduler lock unavailable (%s)", type(exc).__name__)
    return False
