"""Background work on Dramatiq: Redis in production, an in-process stub broker when embedded."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from flask import Flask, current_app

from listserver import breaker, outbox
from listserver.db import get_db
from listserver.extensions import db
from listserver.mailer import make_transport

log = logging.getLogger(__name__)


class QueueUnavailable(Exception):
    """The broker failed recently; messages wait in the outbox for the sweep."""


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
        self.breaker = breaker.for_redis(app)
        self.transport = make_transport(settings)
        self.deliver_email = dramatiq.actor(
            self._deliver_email, actor_name="deliver_email", broker=self.broker,
            max_retries=3, min_backoff=5_000, time_limit=120_000,
        )

    def _deliver_email(self, message_id: int) -> None:
        with self.app.app_context(), db.session() as session:
            outbox.deliver(session, message_id, self.transport, self.app.config["SETTINGS"])

    def dispatch(self, message_ids: Iterable[int]) -> None:
        """Enqueue delivery of outbox messages; raises while the broker is failing (the sweep retries)."""
        if self.breaker.open:
            raise QueueUnavailable(f"the broker failed less than {self.breaker.cool_down:g} s ago")
        try:
            for message_id in message_ids:
                self.deliver_email.send(message_id)
        except (redis.RedisError, dramatiq.errors.BrokerConnectionError):
            self.breaker.trip()
            raise

    def worker(self, threads: int) -> dramatiq.Worker:
        return dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=200)


def init_app(app: Flask) -> None:
    queue = TaskQueue(app)
    app.extensions["listserver.tasks"] = queue
    outbox.install_dispatch(get_db(app).sessionmaker, queue.dispatch)


def get_queue(app: Flask | None = None) -> TaskQueue:
    return (app or current_app).extensions["listserver.tasks"]
