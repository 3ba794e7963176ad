"""The scheduler: a job over its timeout, jobs at a time of day, one run between several schedulers."""

import datetime as dt
import threading

from listserver import schedule
from tests.conftest import REDIS_URL

DAWN = dt.time(3, 0)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=dt.UTC)


def lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "listserver.schedule"]


def test_a_job_over_its_timeout_is_logged_and_does_not_hold_up_the_others(make_app, caplog):
    app = make_app()
    release, runs = threading.Event(), []
    stuck = schedule.Job("stuck", lambda: runs.append("stuck") or release.wait(10), every=0, timeout=0.2)
    quick = schedule.Job("quick", lambda: runs.append("quick"), every=0, timeout=5)
    scheduler = schedule.Scheduler(app, [stuck, quick])
    with caplog.at_level("WARNING", logger="listserver.schedule"):
        scheduler.run_due()
        scheduler.run_due()  # the stuck run goes on: not started a second time beside it
        assert runs == ["stuck", "quick", "quick"]
        assert lines(caplog) == ["scheduled job stuck is over its timeout of 0.2s; not started again until it ends"]
        release.set()
        scheduler.overrunning["stuck"].thread.join(5)
        scheduler.run_due()
    assert runs == ["stuck", "quick", "quick", "stuck", "quick"]  # ended: due again
    assert lines(caplog)[1].startswith("scheduled job stuck ended after ")


def test_a_daily_job_runs_once_a_day_at_its_time_of_day(make_app):
    app = make_app()  # no Redis: remembered in the process
    runs = []
    job = schedule.Job("tidy", lambda: runs.append(1), daily_at=DAWN, timeout=5)
    assert str(job) == "tidy daily at 03:00 UTC"
    scheduler = schedule.Scheduler(app, [job])
    for moment in (at(1, 2, 59), at(1, 3, 0), at(1, 3, 1), at(1, 23, 0), at(2, 2, 0)):
        scheduler.run_due(moment)
    assert len(runs) == 1
    scheduler.run_due(at(2, 11, 30))  # not running at three: caught up when it runs again
    scheduler.run_due(at(2, 11, 31))
    assert len(runs) == 2


def test_two_schedulers_run_a_daily_job_once_between_them_and_not_again_after_a_restart(make_app, redis_client):
    app = make_app(redis_url=REDIS_URL)
    runs = []
    job = schedule.Job("tidy", lambda: runs.append(1), daily_at=DAWN, timeout=5)
    first, second = schedule.Scheduler(app, [job]), schedule.Scheduler(app, [job])
    start = threading.Barrier(2)

    def run_at_dawn(scheduler):
        start.wait()
        scheduler.run_due(at(1, 3, 0))

    both = [threading.Thread(target=run_at_dawn, args=(s,)) for s in (first, second)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join(10)
    assert len(runs) == 1
    restarted = schedule.Scheduler(app, [job])  # a new process, later that day
    restarted.run_due(at(1, 9, 0))
    first.run_due(at(1, 9, 0))
    assert len(runs) == 1
    second.run_due(at(2, 3, 0))
    restarted.run_due(at(2, 3, 0))
    assert len(runs) == 2
