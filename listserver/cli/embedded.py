"""The embedded mode: demo data, a first console user, and workers inside the `run` process."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask

from listserver import schedule, services
from listserver.accounts import users
from listserver.forms import publishing, versions
from listserver.models import Role, User

ADMIN_EMAIL = "admin@localhost"

DEMO_LIST = {
    "key": "newsletter",
    "name": "The Monthly Letter",
    "description": "One email a month with what we learned about growing a mailing list.",
}
DEMO_FORM = {
    "slug": "demo",
    "name": "listserver demo",
    "title": "Get the list-building checklist",
    "intro": "Join the monthly letter and get our one-page checklist for forms people finish.",
    "language": "en",
    "lists": ["newsletter"],
    "frequency": "once a month",
    # The first view asks for the address and a name; a returning visitor is asked the next two.
    "fields": ["email", {"key": "first_name", "required": False}, {"key": "company", "required": False},
               {"key": "job_title", "required": False}],
    "fields_per_view": 2,
    "lead_magnet": {
        "title": "The list-building checklist (one page)",
        "description": "Twelve checks for sign-up forms that people finish and trust.",
        "url": "/static/demo/checklist.html",
        "button": "Open the checklist",
    },
}


def ensure_demo(session: so.Session, base_url: str = "http://127.0.0.1:5000") -> None:
    """The demo list and form, made once: what the user changed since (`forms origins`) stays."""
    if versions.current_version(session, DEMO_FORM["slug"]) is not None:
        return
    publishing.upsert_list(session, DEMO_LIST)
    # A page of a pretend website with the form embedded; links in the demo's emails lead back to it.
    publishing.publish_form(session, {**DEMO_FORM, "site_url": f"{base_url.rstrip('/')}{DEMO_SITE}"})
    session.commit()


DEMO_SITE = "/static/demo/site.html"


def ensure_admin(session: so.Session, instance_path: str) -> str:
    """The embedded console user's password, kept in the instance folder so it can be printed."""
    password_file = Path(instance_path) / "admin_password"
    exists = session.scalar(sa.select(User.id).where(User.email == ADMIN_EMAIL))
    if exists is None or not password_file.exists():
        password = secrets.token_urlsafe(12)
        if exists is not None:
            session.execute(sa.delete(User).where(User.id == exists))
        users.create_user(session, ADMIN_EMAIL, password, role=Role.ADMIN)
        session.commit()
        password_file.write_text(password)
        password_file.chmod(0o600)
    return password_file.read_text().strip()


@dataclass
class Background:
    """Worker threads and the scheduler loop running beside the web server."""

    worker: object
    stop: threading.Event
    scheduler: threading.Thread

    def shutdown(self) -> None:
        self.stop.set()
        self.worker.stop()
        self.scheduler.join(timeout=5)


def start_background(app: Flask, threads: int) -> Background:
    worker = services.task_queue(app).worker(threads)
    worker.start()
    stop = threading.Event()
    thread = threading.Thread(target=schedule.Scheduler(app).run_forever, args=(stop,), name="scheduler", daemon=True)
    thread.start()
    return Background(worker, stop, thread)
