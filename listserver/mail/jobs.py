"""The mail domain's background work: the delivery actor, and the relay and sweep jobs."""

from __future__ import annotations

import math
from collections.abc import Iterable

from flask import current_app

from listserver import services, tasks
from listserver.extensions import db
from listserver.mail import outbox
from listserver.schedule import Job

# A relay pass hands over what came due since the last one. A few emails go one per job, so
# worker threads send them side by side; a burst goes up to ten per job (sent one after another),
# a tenth of the broker's round trips.
JOBS_BEFORE_BATCHING = 8
MAX_EMAILS_PER_JOB = 10


@tasks.actor(max_retries=3, min_backoff=5_000, time_limit=600_000)
def deliver_emails(message_ids: list[int]) -> None:
    """Send these outbox messages; each is claimed first, so a job delivered twice sends once."""
    settings = current_app.config["SETTINGS"]
    with db.session() as session:
        for message_id in message_ids:
            outbox.deliver(session, message_id, services.mail_transport(), settings)


def dispatch(message_ids: Iterable[int]) -> None:
    """Enqueue delivery of outbox messages (the relay's hand-over); raises if the broker does."""
    ids = list(message_ids)
    per_job = max(1, min(MAX_EMAILS_PER_JOB, math.ceil(len(ids) / JOBS_BEFORE_BATCHING)))
    queue = services.task_queue()
    for start in range(0, len(ids), per_job):
        queue.send(deliver_emails, ids[start:start + per_job])


def hand_over_outbox() -> int:
    """The relay: every email that is due goes to the workers."""
    with db.session() as session:
        return outbox.hand_over(session, dispatch, current_app.config["SETTINGS"])


def sweep_outbox() -> int:
    """Emails claimed by a worker that died mid-send are queued again."""
    with db.session() as session:
        released = outbox.sweep(session)
        session.commit()
        return released


ACTORS = (deliver_emails,)

JOBS = (
    Job("hand_over_outbox", hand_over_outbox, every=1, timeout=60),
    Job("sweep_outbox", sweep_outbox, every=30, timeout=60),
)
