"""Background work on Dramatiq: each app's broker, and the actors the domains declare for it.

A domain declares its actors in its own jobs module (`@tasks.actor(...)`); the app factory binds
them to the app's broker, Redis in production or Dramatiq's in-process stub broker when embedded.
Each app gets its own broker and its own Dramatiq actors, so a process may make many apps (tests
do). No domain package is imported here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from flask import Flask

PENDING = "listserver:pending:{name}"  # a coalesced run of this actor is waiting (TaskQueue.send_coalesced)


@dataclass(frozen=True)
class Actor:
    """An actor as a domain declares it: a function run in the app's context, and Dramatiq's options.

    Actors take ids and are idempotent: Dramatiq delivers a message at least once.
    """

    name: str
    fn: Callable[..., None]
    options: dict[str, Any] = field(default_factory=dict)
    queue_name: str = "default"


def actor(*, queue_name: str = "default", **options: Any) -> Callable[[Callable[..., None]], Actor]:
    """Declare a function as an actor named after it; options as Dramatiq's (max_retries, time_limit...)."""
    def declare(fn: Callable[..., None]) -> Actor:
        return Actor(fn.__name__, fn, options, queue_name)

    return declare


class TaskQueue:
    """The broker of one app and the actors bound to it."""

    def __init__(self, app: Flask):
        settings = app.config["SETTINGS"]
        if settings.redis_url:
            self.broker = RedisBroker(url=settings.redis_url, namespace="listserver",
                                      socket_connect_timeout=1, socket_timeout=5)
        else:
            self.broker = StubBroker()
            self.broker.emit_after("process_boot")
        self.app = app
        self.bound: dict[str, dramatiq.Actor] = {}

    def declare(self, actors: Iterable[Actor]) -> None:
        """Bind declared actors to this app's broker: its workers run them in this app's context."""
        for declared in actors:
            self.bound[declared.name] = dramatiq.actor(
                self._in_app_context(declared.fn), actor_name=declared.name, queue_name=declared.queue_name,
                broker=self.broker, **declared.options,
            )

    def _in_app_context(self, fn: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> None:
            with self.app.app_context():
                fn(*args, **kwargs)

        return run

    def send(self, declared: Actor, *args: Any) -> None:
        """Enqueue a run of a declared actor; raises if the broker does."""
        self.bound[declared.name].send(*args)

    def send_coalesced(self, declared: Actor, *, mark_seconds: float = 60) -> None:
        """Enqueue a run unless one is already waiting: bursts of wake-ups make one run, not thousands.

        The run clears the mark as it starts (`starting`), so whatever arrives after that gets a
        run of its own. With the stub broker (embedded, no Redis) every call enqueues.
        """
        client = getattr(self.broker, "client", None)
        if client is None or client.set(PENDING.format(name=declared.name), 1, nx=True, ex=int(mark_seconds)):
            self.send(declared)

    def starting(self, declared: Actor) -> None:
        """A coalesced run begins: the next wake-up enqueues again."""
        client = getattr(self.broker, "client", None)
        if client is not None:
            client.delete(PENDING.format(name=declared.name))

    def worker(self, threads: int) -> dramatiq.Worker:
        return dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=200)
