"""How runs behave: the preview changes nothing; a second run, a run beside another and a run after one
that was stopped half way change and count each thing once; every run leaves one summary."""

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

from listserver import schedule
from listserver.db import Base
from listserver.extensions import db
from listserver.hygiene import jobs
from listserver.models import EmailKind, EventKind, HygieneRun, ReportKind, RunOutcome
from listserver.models._types import utcnow
from tests.conftest import ON_POSTGRES, run_workers
from tests.hygiene.people import (
    add_people, add_reports, ago, changed, cli, emails_of, events_of, run_hygiene, statuses,
)

EXPECTED = {"soft_bounces": 1, "sunset_inactive": 2, "sunset_ask": 3, "purge": 2, "data_check": 1}


def everything_due(app) -> dict[str, list[int]]:
    """People for every rule: EXPECTED of each."""
    soft = add_people(app, 1, engaged_days_ago=100)
    add_reports(app, soft[0], ReportKind.SOFT, [30, 25, 20, 15, 10])
    unanswered = add_people(app, 2, engaged_days_ago=250, repermission_asked_at=ago(40))
    disengaged = add_people(app, 3, engaged_days_ago=200)
    stale = add_people(app, 2, engaged_days_ago=None, status="pending", updated_at=ago(45))
    answered_long_ago = add_people(app, 1, engaged_days_ago=20, attributes={"first_name": "Ana"}, attribute_sources={
        "first_name": {"form_version_id": 1, "at": ago(800).isoformat()},
        "city": {"form_version_id": 1, "at": ago(1).isoformat(), "skipped": True}})
    add_people(app, 2, engaged_days_ago=20, attributes={"first_name": "Bo"},
               attribute_sources={"first_name": {"form_version_id": 1, "at": ago(30).isoformat()}})  # fresh answers
    return {"soft_bounces": soft, "sunset_inactive": unanswered, "sunset_ask": disengaged, "purge": stale,
            "data_check": answered_long_ago}


def snapshot(session) -> dict[str, list]:
    session.expire_all()
    return {table.name: sorted(map(repr, session.execute(sa.select(table)).all()))
            for table in Base.metadata.sorted_tables}


def test_preview_shows_what_each_rule_would_change_and_changes_nothing(app, make_app, runner, session):
    app = make_app(hygiene_data_check_months=12)
    everything_due(app)
    before = snapshot(session)
    shown = cli(app, runner, "preview")
    as_json = cli(app, runner, "preview", "--json")
    assert shown.exit_code == as_json.exit_code == 0, shown.output
    assert snapshot(session) == before
    assert {line["rule"]: line["contacts"] for line in map(json.loads, as_json.output.splitlines())} == EXPECTED
    assert shown.output.splitlines()[0].split()[:2] == ["soft_bounces", "1"]
    assert "answers older than 12 months: data check email" in shown.output

    run = run_hygiene(app)
    assert changed(run) == EXPECTED  # the preview said what the run did
    assert run.outcome == RunOutcome.DONE and run.finished_at is not None


def test_the_data_check_is_off_by_default(app, runner):
    everything_due(app)
    preview = [json.loads(line)["rule"] for line in cli(app, runner, "preview", "--json").output.splitlines()]
    assert preview == ["soft_bounces", "sunset_inactive", "sunset_ask", "purge"]


def test_a_second_run_changes_and_counts_nothing(app, runner, session):
    people = everything_due(app)
    first = cli(app, runner, "run")
    assert first.exit_code == 0, first.output
    assert "sunset_ask               3  no engagement for 180 days: re-permission email" in first.output
    after_first = snapshot(session)
    second = run_hygiene(app)
    assert set(changed(second).values()) == {0}
    after_second = snapshot(session)
    assert {name: rows for name, rows in after_second.items() if name != "hygiene_run"} == {
        name: rows for name, rows in after_first.items() if name != "hygiene_run"}
    assert emails_of(session, people["sunset_ask"], EmailKind.REPERMISSION) == dict.fromkeys(people["sunset_ask"], 1)
    runs = session.scalars(sa.select(HygieneRun).order_by(HygieneRun.id)).all()
    assert [r.outcome for r in runs] == ["done", "done"]  # one summary per run


def test_two_runs_at_once_do_everything_once(app, session):
    """The second run starts while the first is held up half way: the lock turns it away, or (on
    SQLite, which lets one writer at a time) it runs after the first and finds nothing left."""
    people = everything_due(app)
    engine = app.extensions["listserver.db"].engine
    results = []

    def run():
        results.append(run_hygiene(app))

    with engine.connect() as blocker:
        if ON_POSTGRES:  # the first run waits for this row in its sunset_ask batch, holding the lock
            blocker.execute(sa.text("SELECT id FROM contact WHERE id = :id FOR UPDATE"),
                            {"id": people["sunset_ask"][0]})
        else:
            blocker.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: every writer waits
        first = threading.Thread(target=run)
        first.start()
        wait_for_a_waiting_statement(engine)
        second = threading.Thread(target=run)
        second.start()
        if ON_POSTGRES:
            second.join(30)
            assert results == [None]  # turned away at once, the first one still going
        blocker.rollback()
    first.join(30)
    second.join(30)
    done = [r for r in results if r is not None]
    totals = {rule: sum(changed(r)[rule] for r in done) for rule in changed(done[0])}
    assert totals == {rule: n for rule, n in EXPECTED.items() if rule != "data_check"}
    assert emails_of(session, people["sunset_ask"], EmailKind.REPERMISSION) == dict.fromkeys(people["sunset_ask"], 1)
    assert events_of(session, people["sunset_inactive"], EventKind.STATUS_CHANGED) == dict.fromkeys(
        people["sunset_inactive"], 1)


def wait_for_a_waiting_statement(engine, process: subprocess.Popen | None = None) -> None:
    if not ON_POSTGRES:
        time.sleep(0.5)
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
        for _ in range(1500):
            if watcher.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                       "AND wait_event_type = 'Lock'")).scalar():
                return
            if process is not None and process.poll() is not None:
                raise AssertionError(f"the run ended: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.02)
    raise AssertionError("the run never waited for the locked row")


REFUSE = {
    "postgresql": [
        "CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.contact_id = {id} THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER refuse_event BEFORE INSERT ON event FOR EACH ROW EXECUTE FUNCTION refuse_event()",
    ],
    "sqlite": ["CREATE TRIGGER refuse_event BEFORE INSERT ON event WHEN NEW.contact_id = {id} "
               "BEGIN SELECT RAISE(ABORT, 'refused'); END"],
}
ALLOW = {"postgresql": ["DROP TRIGGER refuse_event ON event", "DROP FUNCTION refuse_event()"],
         "sqlite": ["DROP TRIGGER refuse_event"]}


def test_a_run_stopped_half_way_keeps_what_it_did_and_the_next_does_the_rest(app, make_app, session):
    """The database refuses the third person's timeline entry: the run stops in its second batch. What
    the first batch did stands and is counted; the next run does the rest, and nobody gets two emails."""
    app = make_app(hygiene_batch_size=2)
    quiet = add_people(app, 5, engaged_days_ago=200)
    engine = app.extensions["listserver.db"].engine
    dialect = engine.dialect.name
    with engine.begin() as conn:
        for statement in REFUSE[dialect]:
            conn.exec_driver_sql(statement.replace("{id}", str(quiet[2])))
    try:
        with pytest.raises(sa.exc.DBAPIError) as refused:
            run_hygiene(app)
    finally:
        with engine.begin() as conn:
            for statement in ALLOW[dialect]:
                conn.exec_driver_sql(statement)
    [stopped] = session.scalars(sa.select(HygieneRun))
    assert stopped.outcome == RunOutcome.FAILED and changed(stopped)["sunset_ask"] == 2
    assert stopped.summary["error"] == type(refused.value).__name__  # the type only: no personal data
    assert emails_of(session, quiet, EmailKind.REPERMISSION) == {quiet[0]: 1, quiet[1]: 1, quiet[2]: 0, quiet[3]: 0,
                                                                 quiet[4]: 0}

    resumed = run_hygiene(app)
    assert changed(resumed)["sunset_ask"] == 3
    assert emails_of(session, quiet, EmailKind.REPERMISSION) == dict.fromkeys(quiet, 1)
    assert events_of(session, quiet, EventKind.REPERMISSION_ASKED) == dict.fromkeys(quiet, 1)


@pytest.mark.skipif(not ON_POSTGRES, reason="holds a row lock to stop a run half way, then kills its process")
def test_a_run_killed_outright_half_way_is_taken_over_and_counts_once(app, make_app, settings, session, tmp_path):
    app = make_app(hygiene_batch_size=2)
    quiet = add_people(app, 5, engaged_days_ago=200)
    engine = app.extensions["listserver.db"].engine
    env = {**os.environ, "LISTSERVER_DATABASE_URL": settings.database_url, "LISTSERVER_SECRET_KEYS": "k" * 40,
           "LISTSERVER_INSTANCE_PATH": str(tmp_path / "killed"), "LISTSERVER_HYGIENE_BATCH_SIZE": "2"}
    with engine.connect() as locker:
        locker.execute(sa.text("SELECT id FROM contact WHERE id = :id FOR UPDATE"), {"id": quiet[2]})
        process = subprocess.Popen([sys.executable, "-c", "from listserver.cli import main; main()", "hygiene", "run"],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for_a_waiting_statement(engine, process)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as admin:
            # The server would find the client gone on its own, later; end its session now.
            admin.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = current_database() AND wait_event_type = 'Lock'"))
        locker.rollback()

    [killed] = session.scalars(sa.select(HygieneRun))
    assert killed.outcome == RunOutcome.RUNNING and changed(killed)["sunset_ask"] == 2  # its first batch, counted
    assert run_hygiene(app) is None  # it still holds the lock: it may only be slow
    later = make_app(hygiene_stale_minutes=0)  # ...until it has been silent for hygiene_stale_minutes
    resumed = run_hygiene(later)
    assert changed(resumed)["sunset_ask"] == 3
    session.expire_all()
    assert session.get(HygieneRun, killed.id).outcome == RunOutcome.ABANDONED
    assert emails_of(session, quiet, EmailKind.REPERMISSION) == dict.fromkeys(quiet, 1)
    assert sum(changed(r)["sunset_ask"] for r in session.scalars(sa.select(HygieneRun))) == 5


def test_a_run_that_finds_the_lock_taken_says_so_and_does_nothing(app, runner, session):
    quiet = add_people(app, 1, engaged_days_ago=200)
    with app.app_context(), db.session() as s:
        s.add(HygieneRun(outcome=RunOutcome.RUNNING, progressed_at=utcnow(), summary={}))
        s.commit()
    refused = cli(app, runner, "run")
    assert refused.exit_code == 1 and "another hygiene run holds the lock" in refused.output
    assert emails_of(session, quiet, EmailKind.REPERMISSION) == {quiet[0]: 0}
    assert statuses(session, quiet) == ["subscribed"]


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks; SQLite lets one writer at a time, so nothing comes between")
def test_someone_who_answers_while_the_run_reaches_them_is_left_alone(app, session):
    """The run found them unanswered, then waited for their row while they pressed the button: under the
    lock it asks again, and they stay subscribed."""
    late, other = add_people(app, 2, engaged_days_ago=250, repermission_asked_at=ago(40))
    engine = app.extensions["listserver.db"].engine
    results = []
    with engine.connect() as person:
        person.execute(sa.text("SELECT id FROM contact WHERE id = :id FOR UPDATE"), {"id": late})
        running = threading.Thread(target=lambda: results.append(run_hygiene(app)))
        running.start()
        wait_for_a_waiting_statement(engine)
        # What the button writes (lifecycle.keep_subscribed), committed while the run waits.
        person.execute(sa.text("UPDATE contact SET last_engaged_at = now(), repermission_asked_at = NULL "
                               "WHERE id = :id"), {"id": late})
        person.commit()
    running.join(30)
    assert changed(results[0])["sunset_inactive"] == 1
    assert statuses(session, [late, other]) == ["subscribed", "inactive"]


def test_the_daily_job_hands_the_run_to_a_worker(app, session):
    """The scheduler starts the job once a day at 03:30 UTC; a worker runs the rules and leaves the summary."""
    quiet = add_people(app, 2, engaged_days_ago=200)
    job = next(job for job in schedule.jobs_of(app) if job.name == "hygiene")
    scheduler = schedule.Scheduler(app, [job])
    day = dt.datetime(2026, 12, 2, tzinfo=dt.UTC)
    scheduler.run_due(day.replace(hour=3))
    assert session.scalar(sa.select(sa.func.count()).select_from(HygieneRun)) == 0  # not yet due
    scheduler.run_due(day.replace(hour=3, minute=31))
    scheduler.run_due(day.replace(hour=9))  # once a day
    run_workers(app, jobs.run_hygiene.queue_name)
    [run] = session.scalars(sa.select(HygieneRun))
    assert run.outcome == RunOutcome.DONE and changed(run)["sunset_ask"] == 2
    assert emails_of(session, quiet, EmailKind.REPERMISSION) == dict.fromkeys(quiet, 1)
