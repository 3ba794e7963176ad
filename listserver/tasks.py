"""Background work on Dramatiq: Redis in production, an in-process stub broker when embedded."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from flask import Flask, current_app

from listserver.extensions import db
from listserver.mail import outbox
from listserver.mail.transport import make_transport

log = logging.getLogger(__name__)

# A relay pass hands over what came due since the last one. A few emails go one per job, so
# worker threads send them side by side; a burst goes up to ten per job (sent one after another),
# a tenth of the broker's round trips.
JOBS_BEFORE_BATCHING = 8
MAX_EMAILS_PER_JOB = 10


class TaskQueue:
    """The broker of one app and the actors declared on it."""

    def __init__(self, app: Flask):
        settings = app.config["SETTINGS"]
        if settings.redis_url:
            self.broker = RedisBroker(url=settings.redis_url, namespace="listserver",
                                      socket_connect_timeout=1, socket_timeout=5)
        else:
            self.broker = StubBroker()
            self.broker.emit_after("process_boot")
        self.app = app
        self.transport = make_transport(settings)
        self.deliver_emails = dramatiq.actor(
            self._deliver_emails, actor_name="deliver_emails", broker=self.broker,
            max_retries=3, min_backoff=5_000, time_limit=600_000,
        )

    def _deliver_emails(self, message_ids: list[int]) -> None:
        with self.app.app_context(), db.session() as session:
            for message_id in message_ids:
                outbox.deliver(session, message_id, self.transport, self.app.config["SETTINGS"])

    def dispatch(self, message_ids: Iterable[int]) -> None:
        """Enqueue delivery of outbox messages (the relay's hand-over); raises if the broker does."""
        ids = list(message_ids)
        per_job = max(1, min(MAX_EMAILS_PER_JOB, math.ceil(len(ids) / JOBS_BEFORE_BATCHING)))
        for start in range(0, len(ids), per_job):
            self.deliver_emails.send(ids[start:start + per_job])

    def worker(self, threads: int) -> dramatiq.Worker:
        return dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=200)


def init_app(app: Flask) -> None:
    app.extensions["listserver.tasks"] = TaskQueue(app)


def get_queue(app: Flask | None = None) -> TaskQueue:
    return (app or current_app).extensions["listserver.tasks"]
