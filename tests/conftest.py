"""Fixtures: a fresh database per test (PostgreSQL or SQLite), real Redis, a loopback SMTP
server, a loopback DNS server, and a running listserver for the browser."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
import sqlalchemy.orm as so
from aiosmtpd.controller import Controller
from dnslib.server import DNSLogger, DNSServer
from dnslib.zoneresolver import ZoneResolver
from werkzeug.serving import make_server

from listserver import create_app, migrate, services
from listserver.cli import embedded
from listserver.db import Base, make_engine
from listserver.extensions import db
from listserver.forms import publishing
from listserver.bounces import jobs as bounce_jobs
from listserver.mail import jobs as mail_jobs
from listserver.models import Contact
from listserver.settings import Settings
from tests.chromium import CHROMIUM, CHROMIUM_ARGS, HostSite, Phone

# Which database the suite runs against: the test command runs it once for each.
DATABASE = os.environ.get("LISTSERVER_TEST_DATABASE", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LISTSERVER_TEST_REDIS", "redis://127.0.0.1:6379/15")
ON_POSTGRES = DATABASE.startswith("postgresql")

# The world's DNS, faked at its edge by a real DNS server on loopback: these domains exist.
DNS_ZONE = """
example-shop.net.     60 IN MX 10 mx.example-shop.net.
mx.example-shop.net.  60 IN A 93.184.216.34
acme-widgets.org.     60 IN MX 10 mx.acme-widgets.org.
mx.acme-widgets.org.  60 IN A 93.184.216.35
null-mx-shop.net.     60 IN MX 0 .
gmail.com.            60 IN MX 5 gmail-smtp-in.l.google.com.
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_dns(zone: str) -> DNSServer:
    server = DNSServer(ZoneResolver(zone), port=free_port(), address="127.0.0.1",
                       logger=DNSLogger("-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False))
    server.start_thread()
    return server


@pytest.fixture(scope="session")
def dns_server():
    server = _start_dns(DNS_ZONE)
    yield f"127.0.0.1:{server.server.server_address[1]}"
    server.stop()


@pytest.fixture(scope="session")
def fake_dns():
    """More loopback DNS servers: fake_dns(zone) serves a zone ("" denies every name, as offline
    boxes and captive or broken resolvers do). One per zone, kept for the run, so that no port
    is used again by another zone while listserver may still remember what it answered."""
    servers: dict[str, DNSServer] = {}

    def _serve(zone: str) -> str:
        if zone not in servers:
            servers[zone] = _start_dns(zone)
        return f"127.0.0.1:{servers[zone].server.server_address[1]}"

    yield _serve
    for server in servers.values():
        server.stop()


class Inbox:
    """What the loopback SMTP server received."""

    def __init__(self):
        self.messages = []
        self.refused = set()  # addresses whose mail is refused after DATA, as a real server may
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            refused = self.refused.intersection(envelope.rcpt_tos)
            if refused:
                return f"554 5.7.1 <{min(refused)}>: Message refused by policy"
            self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default),
                                  envelope.mail_from))
        return "250 OK"

    def to(self, address: str):
        with self.lock:
            return [m for rcpts, m, _ in self.messages if address in rcpts]

    def senders_to(self, address: str) -> list[str]:
        """The envelope senders (MAIL FROM) of the emails to an address."""
        with self.lock:
            return [sender for rcpts, _, sender in self.messages if address in rcpts]

    def link(self, message, path: str) -> str:
        """The first link to `path` in the text part of a message."""
        text = message.get_body(preferencelist=("plain",)).get_content()
        return re.search(rf"https?://\S+(/{path}/\S+)", text).group(1)


@pytest.fixture(scope="session")
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=True)
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def inbox(smtp_server):
    _, inbox = smtp_server
    with inbox.lock:
        inbox.messages.clear()
        inbox.refused.clear()
    return inbox


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory):
    """The schema, built by the migrations once per run; each test gets it empty."""
    if ON_POSTGRES:
        # A database of this run's own, so that two runs on one server never meet.
        url = sa.make_url(DATABASE.replace("postgresql://", "postgresql+psycopg://", 1))
        name = f"listserver_test_{os.getpid()}"
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        own = url.set(database=name).render_as_string(hide_password=False)
        migrate.upgrade(Settings(database_url=own, secret_keys=("x",)))
        yield own
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        return
    template = tmp_path_factory.mktemp("db") / "template.sqlite"
    migrate.upgrade(Settings(database_url=f"sqlite:///{template}", secret_keys=("x",)))
    yield str(template)


@pytest.fixture
def database_url(migrated_database, tmp_path):
    if ON_POSTGRES:
        engine = make_engine(migrated_database)
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return migrated_database
    path = tmp_path / "listserver.sqlite"
    shutil.copy(migrated_database, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(database_url, tmp_path, smtp_server, dns_server) -> Settings:
    controller, _ = smtp_server
    return Settings(
        env="embedded",
        instance_path=str(tmp_path / "instance"),
        secret_keys=("test-secret-new", "test-secret-old"),
        database_url=database_url,
        base_url="http://127.0.0.1:5000",
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        form_min_seconds=0,
        form_cache_seconds=0,  # tests publish and look at once; test_forms covers the cache
        dns_nameservers=(dns_server,),
        dns_timeout=2,
        ratelimit_ip="1000/minute",
        ratelimit_address="100/hour",
        confirmation_resend_seconds=0,
    )


@pytest.fixture
def make_app(settings):
    apps = []

    def _make(**changes):
        app = create_app(settings.replace(**changes))
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield _make
    for app in apps:  # each app owns an engine; close its connections
        app.extensions["listserver.db"].engine.dispose()


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context(), db.session() as session:
        embedded.ensure_demo(session)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def deliver():
    """Hand over what is due, as the scheduler does every second, and run the jobs to completion
    with real Dramatiq worker threads."""

    def _deliver(app):
        with app.app_context():
            mail_jobs.hand_over_outbox()
        run_workers(app, mail_jobs.deliver_emails.queue_name)

    return _deliver


@pytest.fixture
def process_reports():
    """Read the stored delivery reports as production does: the scheduled pass wakes the workers
    if reports wait, and real Dramatiq worker threads read and apply them."""

    def _process(app):
        with app.app_context():
            bounce_jobs.take_waiting_reports()
        run_workers(app, bounce_jobs.process_reports.queue_name)

    return _process


def run_workers(app, queue_name: str) -> None:
    """Run the app's workers until its queue is empty."""
    queue = services.task_queue(app)
    worker = queue.worker(2)
    worker.start()
    try:
        queue.broker.join(queue_name, timeout=20_000)
        worker.join()
    finally:
        worker.stop()


@pytest.fixture
def session(app):
    """For the test's own checks: autocommit, so every query sees what was committed since."""
    engine = app.extensions["listserver.db"].engine.execution_options(isolation_level="AUTOCOMMIT")
    with so.Session(engine) as session:
        yield session


def contact_of(session: so.Session, address: str) -> Contact | None:
    """The contact of an address as the database has it now (not as this session saw it before)."""
    session.expire_all()
    return session.scalar(sa.select(Contact).where(Contact.email_key == address.lower()))


def contact_in(app, address: str) -> Contact | None:
    """The same, from a session of its own (for tests that drive a live server)."""
    with so.Session(app.extensions["listserver.db"].engine) as session:
        return contact_of(session, address)


def stamp(client, slug: str = "demo") -> str:
    page = client.get(f"/f/{slug}")
    return re.search(r'name="_ts" value="([^"]+)"', page.text).group(1)


@pytest.fixture
def submit(client):
    """Post the demo form the way a browser without JavaScript does."""

    def _submit(email: str, slug: str = "demo", **fields):
        return client.post(f"/f/{slug}", data={"email": email, "_ts": stamp(client, slug), **fields})

    return _submit


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis is not running at {REDIS_URL}; the test command starts it")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


class DisposableRedis:
    """A real redis-server of our own that a test may stop and start again."""

    def __init__(self, port: int, workdir: Path):
        self.port, self.workdir, self.process = port, workdir, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def hang(self) -> None:
        """Stop answering while keeping connections open, like a Redis stuck or cut off."""
        self.process.send_signal(signal.SIGSTOP)

    def answer_again(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process:
            self.answer_again()
            self.process.terminate()
            self.process.wait(5)
            self.process = None


@pytest.fixture
def disposable_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed; the test command installs it")
    server = DisposableRedis(free_port(), tmp_path)
    yield server
    server.stop()


@pytest.fixture
def live_server(app):
    """listserver on a real port, for the browser."""
    port = free_port()
    settings = app.config["SETTINGS"]
    live = create_app(settings.replace(base_url=f"http://127.0.0.1:{port}"))
    server = make_server("127.0.0.1", port, live, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield live, f"http://127.0.0.1:{port}"
    server.shutdown()
    live.extensions["listserver.db"].engine.dispose()


def publish(app, spec: dict, lists: list[dict] | None = None):
    with app.app_context(), db.session() as session:
        for list_spec in lists or []:
            publishing.upsert_list(session, list_spec)
        version = publishing.publish_form(session, spec)
        session.commit()
        return version


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module; the system's, never a downloaded one."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}; the test command installs it "
                    "(apt-get install chromium)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser):
    phone = Phone(browser)
    yield phone
    phone.close()
    assert phone.problems == [], "the browser ran into problems on these pages"


@pytest.fixture
def site():
    """The business's own website, on an origin of its own, for pages that embed a form."""
    site = HostSite()
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


SUBSCRIBER = "pref@example-shop.net"


@pytest.fixture
def subscriber(app, client, submit, deliver, inbox, session):
    """A confirmed subscriber, made the way a person becomes one; returns their links."""
    publish(app, {"slug": "demo", "name": "listserver demo", "title": "Get the list-building checklist",
                  "lists": ["newsletter", "offers"], "fields": ["email", {"key": "first_name", "required": False}],
                  "lead_magnet": {"title": "Checklist", "url": "/static/demo/checklist.html"}},
            lists=[{"key": "offers", "name": "Offers", "description": "Discounts, twice a month."}])
    submit(SUBSCRIBER, first_name="Pia")
    deliver(app)
    client.post(inbox.link(inbox.to(SUBSCRIBER)[0], "confirm"))
    deliver(app)
    [magnet] = [m for m in inbox.to(SUBSCRIBER) if m["X-Listserver-Kind"] == "lead_magnet"]
    inbox.messages.clear()
    return {
        "unsubscribe": magnet["List-Unsubscribe"].strip("<>").split("5000", 1)[1],
        "preferences": inbox.link(magnet, "preferences"),
    }
