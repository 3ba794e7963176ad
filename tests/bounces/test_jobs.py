"""Waking the report workers: a burst of arrivals makes one queued run, not one per report."""

from listserver import services
from listserver.bounces import jobs as bounce_jobs
from tests.conftest import REDIS_URL, run_workers

QUEUED = "listserver:default.msgs"  # Dramatiq's Redis broker keeps queued messages here


def test_a_burst_of_wake_ups_queues_one_run_and_a_started_run_takes_the_next(make_app, redis_client):
    app = make_app(redis_url=REDIS_URL)
    with app.app_context():
        for _ in range(50):  # fifty webhook requests in a row, each storing a report
            bounce_jobs.wake()
    assert redis_client.hlen(QUEUED) == 1
    run_workers(app, bounce_jobs.process_reports.queue_name)
    assert redis_client.hlen(QUEUED) == 0
    with app.app_context():
        bounce_jobs.wake()  # a report stored after the run started gets a run of its own
    assert redis_client.hlen(QUEUED) == 1
    services.task_queue(app).broker.flush_all()
