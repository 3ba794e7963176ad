"""Long-running processes: everything in one (`run`), the workers, the scheduler."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from listserver import migrate, schedule, services
from listserver.cli import embedded
from listserver.extensions import db


def stop_on_signal() -> threading.Event:
    """An event that SIGINT or SIGTERM sets, from now on: a process says it is ready after this."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def run(host: str, port: int) -> None:
    """Start everything in one process: web server, workers, scheduler (embedded mode)."""
    from werkzeug.serving import run_simple

    app = current_app._get_current_object()
    settings = current_app.config["SETTINGS"]
    migrate.upgrade(settings)
    with db.session() as session:
        embedded.ensure_demo(session, settings.base_url)
        password = embedded.ensure_admin(session, settings.instance_path)
    background = embedded.start_background(app, settings.worker_threads)
    base = f"http://{host}:{port}"
    click.echo(
        f"\nlistserver is running at {base}\n"
        f"  demo form:  {base}/f/demo  (embedded in a web page: {base}{embedded.DEMO_SITE})\n"
        f"  console:    {base}/admin/  (sign in as {embedded.ADMIN_EMAIL} / {password})\n"
        f"  mail sent:  {base}/admin/outbox  (nothing leaves this machine; copies in {settings.mail_dir})\n"
        f"  data:       {settings.database_url}\n"
        "Press Ctrl+C to stop.\n"
    )
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        background.shutdown()


@click.command()
@click.option("--threads", default=None, type=int, help="Worker threads (default: LISTSERVER_WORKER_THREADS).")
@with_appcontext
def worker(threads: int | None) -> None:
    """Process background jobs (sending email) until stopped."""
    settings = current_app.config["SETTINGS"]
    if not settings.redis_url:
        raise click.ClickException("a separate worker needs LISTSERVER_REDIS_URL; `listserver run` has its own")
    stop = stop_on_signal()
    w = services.task_queue().worker(threads or settings.worker_threads)
    w.start()
    click.echo(f"worker started with {threads or settings.worker_threads} threads")
    stop.wait()
    w.stop()


@click.command()
@with_appcontext
def scheduler() -> None:
    """Hand emails to the workers and run periodic jobs; one per deployment (a Redis lock keeps extra ones idle)."""
    stop = stop_on_signal()
    app = current_app._get_current_object()
    click.echo("scheduler started: " + ", ".join(str(job) for job in schedule.jobs_of(app)))
    schedule.Scheduler(app).run_forever(stop)
