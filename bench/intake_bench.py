"""Bounce intake: reports a second per worker process, from arrival to the contact's new state.

One command, loopback PostgreSQL, about a minute:

    .venv/bin/python bench/intake_bench.py [--contacts 200000] [--reports 5000]

What it does:

1. Recreates a dedicated PostgreSQL database (default `listserver_bench_intake`), runs the
   migrations and generates subscribed contacts, each with one subscription and one email sent
   ten days ago, in set-based SQL.
2. DSN mail: `--reports` bounce messages in the style of Postfix (RFC 3464), 40 % "user
   unknown" (hard), 30 % "mailbox full" (soft), 30 % blocked by policy (other), half naming our
   email by its return path (VERP), half only by the Message-ID in the returned headers. Each
   arrives as `listserver inbound` takes one (stored and committed on its own), at `--web`
   receiver processes with `--senders` SMTP sessions each, while one worker process reads and
   applies what has arrived, as the process_reports actor does (intake.process, a batch per
   transaction). The clock runs from the first arrival to the last contact's new state.
   Then the same again with all of them stored first: the worker alone is timed (a backlog).
3. Webhook JSON: as many events of the generic hook (signed the Standard Webhooks way: 40 %
   bounces as above, 30 % opens, 20 % deliveries, 10 % complaints), each POSTed on its own to
   /hooks/generic through the app (signature check, JSON, storage; WSGI in `--web` processes),
   the same two ways. The worker's CPU time is printed beside each rate.
4. Checks the outcome (hard bounces cleaned, complaints complained, nobody else), prints reports
   a second for each input against the target (500) and GNU Mailman 3's 59 to 101 DSNs a second
   on this kind of machine, and exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from listserver import create_app, migrate, tokens  # noqa: E402
from listserver.bounces import intake  # noqa: E402
from listserver.extensions import db  # noqa: E402
from listserver.models import ReportSource  # noqa: E402
from listserver.settings import Settings  # noqa: E402

TARGET = 500.0
MAILMAN = "59 to 101"
SECRET = "whsec_" + base64.b64encode(b"bench-secret-bench-secret-bench!").decode()
HARD = ("hard", "5.1.1", "550 5.1.1 <{to}>: Recipient address rejected: User unknown in virtual mailbox table")
SOFT = ("soft", "4.2.2", "452 4.2.2 <{to}>: Mailbox full")
BLOCKED = ("other", "5.7.1", "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org")
SHAPES = [HARD] * 4 + [SOFT] * 3 + [BLOCKED] * 3

DSN = """Return-Path: <>
Delivered-To: {return_path}
From: MAILER-DAEMON@mx.bench.example (Mail Delivery System)
To: {return_path}
Subject: Undelivered Mail Returned to Sender
Message-ID: <{n}.bounce@mx.bench.example>
Date: Tue, 1 Dec 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B{n}"

--B{n}
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.bench.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--B{n}
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.bench.example
X-Postfix-Queue-ID: 4F{n}
Arrival-Date: Tue, 1 Dec 2026 09:59:58 +0000

Final-Recipient: rfc822; {to}
Original-Recipient: rfc822;{to}
Action: failed
Status: {status}
Remote-MTA: dns; mail.bench.example
Diagnostic-Code: smtp; {diagnostic}

--B{n}
Content-Type: text/rfc822-headers

From: listserver <noreply@bench.example>
To: {to}
Subject: Here is what you asked for
Message-ID: {message_id}

--B{n}--
"""


def recreate(dsn: str, name: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return dsn.rsplit("/", 1)[0] + "/" + name


def populate(engine: sa.Engine, contacts: int) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO mailing_list (key, name, description, public, double_opt_in, created_at) "
                             "VALUES ('news', 'News', '', true, true, now())"))
        conn.execute(sa.text("""
            INSERT INTO contact (email, email_key, status, language, attributes, attribute_sources, quality_flags,
                                 frequency, confirm_version, link_version, created_at, updated_at, confirmed_at,
                                 last_engaged_at)
            SELECT 'p' || g || '@bench.example', 'p' || g || '@bench.example', 'subscribed', 'en', '{}', '{}', '[]',
                   'all', 2, 1, now() - interval '100 days', now(), now() - interval '100 days',
                   now() - interval '100 days'
            FROM generate_series(1, :n) AS g"""), {"n": contacts})
        conn.execute(sa.text("""
            INSERT INTO subscription (contact_id, list_id, status, created_at, confirmed_at)
            SELECT id, 1, 'active', created_at, confirmed_at FROM contact"""))
        conn.execute(sa.text("""
            INSERT INTO outbox_message (idempotency_key, contact_id, kind, recipient, template, context, language,
                                        status, attempts, created_at, next_attempt_at, sent_at)
            SELECT md5(id::text), id, 'lead_magnet', email, 'lead_magnet', '{}', 'en', 'sent', 1,
                   now() - interval '10 days', now() - interval '10 days', now() - interval '10 days'
            FROM contact"""))
        conn.execute(sa.text("ANALYZE"))


def dsn_messages(settings: Settings, count: int) -> list[tuple[str, str, str]]:
    """(expected kind, external id, raw message), one contact each."""
    out = []
    for n in range(1, count + 1):
        kind, status, diagnostic = SHAPES[n % len(SHAPES)]
        to = f"p{n}@bench.example"
        message_id = f"<{hashlib.md5(str(n).encode()).hexdigest()}.{n}@bench.example>"
        return_path = tokens.return_path(n, settings) if n % 2 else "bounces@bench.example"
        raw = DSN.format(n=n, to=to, status=status, diagnostic=diagnostic.format(to=to), message_id=message_id,
                         return_path=return_path)
        out.append((kind, f"<{n}.bounce@mx.bench.example>", raw))
    return out


def hook_events(first: int, count: int) -> list[tuple[str, bytes]]:
    """(expected kind, JSON body) for contacts first.. first+count-1."""
    out = []
    now = dt.datetime.now(dt.UTC).isoformat()
    for n in range(first, first + count):
        to = f"p{n}@bench.example"
        slot = n % 10
        if slot < 4:
            kind, status, diagnostic = SHAPES[n % len(SHAPES)]
            event = {"type": "bounce", "email": to, "status": status, "reason": diagnostic.format(to=to)}
        elif slot < 7:
            kind, event = "open", {"type": "open", "email": to,
                                   "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/131.0"}
        elif slot < 9:
            kind, event = "delivery", {"type": "delivery", "email": to}
        else:
            kind, event = "complaint", {"type": "complaint", "email": to}
        event.update(timestamp=now, message_id=f"<{hashlib.md5(str(n).encode()).hexdigest()}.{n}@bench.example>")
        out.append((kind, json.dumps(event).encode()))
    return out


def signed(body: bytes, webhook_id: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": webhook_id, "webhook-timestamp": timestamp,
            "webhook-signature": "v1," + base64.b64encode(mac).decode(), "Content-Type": "application/json"}


def pipeline(settings: Settings, engine: sa.Engine, arrive, items: list, args, backlog: bool) -> tuple[float, float]:
    """Items arrive from `args.web` processes of `args.senders` threads each (receivers or web
    processes) while a worker process reads and applies them, as the process_reports actor does.
    With `backlog`, all of them arrive first and the clock times the worker alone.

    Returns the seconds from the first arrival (or the worker's start) to the last new state, and
    the worker's CPU seconds.
    """
    context = multiprocessing.get_context("fork")
    arrived = context.Event()
    cpu = context.Value("d", 0.0)
    worker = context.Process(target=work, args=(settings, arrived, cpu))
    shares = [items[i::args.web] for i in range(args.web)]

    def arrive_all():
        senders = [context.Process(target=send, args=(engine, arrive, share, args.senders)) for share in shares]
        [process.start() for process in senders]
        [process.join() for process in senders]

    if backlog:
        arrive_all()
        arrived.set()
    started = time.perf_counter()
    worker.start()
    if not backlog:
        arrive_all()
    arrived.set()
    worker.join()
    return time.perf_counter() - started, cpu.value


def send(engine: sa.Engine, arrive, items: list, threads: int) -> None:
    """A receiver or web process: its share of the reports, `threads` at once."""
    engine.dispose(close=False)  # the parent's pooled connections stay the parent's
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(arrive, items))
    os._exit(0)


def work(settings: Settings, arrived, cpu) -> None:
    """The worker process: read what arrived, a batch per transaction, until the senders are done."""
    app = create_app(settings)  # its own engine: none of the parent's connections is used here
    with app.app_context(), db.session() as session:
        while True:
            read = intake.process(session, settings)
            session.commit()
            if not read:
                if arrived.is_set() and not intake.waiting(session):
                    break
                time.sleep(0.005)
    app.extensions["listserver.db"].engine.dispose()
    cpu.value = time.process_time()
    os._exit(0)  # skip the finalizers of the parent's inherited connections: they are the parent's


def outcome(engine: sa.Engine, first: int, count: int) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(
            "SELECT status, count(*) FROM contact WHERE id BETWEEN :a AND :b GROUP BY status"),
            {"a": first, "b": first + count - 1}).all())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--reports", type=int, default=5_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="listserver_bench_intake")
    parser.add_argument("--web", type=int, default=2, help="receiver or web processes the reports arrive at")
    parser.add_argument("--senders", type=int, default=4, help="reports arriving at once at each of them")
    args = parser.parse_args()

    url = recreate(args.postgres, args.database)
    instance = tempfile.mkdtemp(prefix="listserver-intake-bench-")
    settings = Settings(env="embedded", instance_path=instance, database_url=url,
                        secret_keys=("bench-key-" + "x" * 40,), mail_from="listserver <noreply@bench.example>",
                        generic_webhook_secret=SECRET).completed()
    migrate.upgrade(settings)
    app = create_app(settings)
    logging.getLogger("listserver").setLevel(logging.WARNING)  # a line per request would be most of the output
    engine = app.extensions["listserver.db"].engine
    started = time.perf_counter()
    populate(engine, args.contacts)
    print(f"{args.contacts:,} contacts with a sent email each, generated in {time.perf_counter() - started:.1f}s")

    results: dict[str, tuple[float, float]] = {}
    n = args.reports
    messages = dsn_messages(settings, 2 * n)

    def store_message(item):
        _, external_id, raw = item
        with app.app_context(), db.session() as session:
            intake.receive(session, [intake.Arrival(ReportSource.MAIL, external_id, raw)])
            session.commit()

    results["dsn mail, arriving"] = pipeline(settings, engine, store_message, messages[:n], args, backlog=False)
    results["dsn mail, backlog"] = pipeline(settings, engine, store_message, messages[n:], args, backlog=True)
    dsn_states = outcome(engine, 1, 2 * n)
    expected_clean = sum(1 for kind, _, _ in messages if kind == "hard")

    events = hook_events(2 * n + 1, 2 * n)
    refused = multiprocessing.get_context("fork").Value("i", 0)

    def post_event(item):
        number, (_, body) = item
        answer = app.test_client().post("/hooks/generic", data=body, headers=signed(body, f"evt_{number}"))
        if answer.status_code != 200:
            with refused.get_lock():
                refused.value += 1

    numbered = list(enumerate(events))
    results["webhook json, arriving"] = pipeline(settings, engine, post_event, numbered[:n], args, backlog=False)
    results["webhook json, backlog"] = pipeline(settings, engine, post_event, numbered[n:], args, backlog=True)
    hook_states = outcome(engine, 2 * n + 1, 2 * n)
    hook_clean = sum(1 for kind, _ in events if kind == "hard")
    hook_complained = sum(1 for kind, _ in events if kind == "complaint")

    print(f"\nBounce intake, PostgreSQL on loopback, {args.contacts:,} contacts, one worker process "
          f"(target >= {TARGET:.0f}/s; GNU Mailman 3: {MAILMAN} DSNs/s on this kind of machine)")
    print(f"  'arriving': reports come in at {args.web} processes ({args.senders} at once each) while the worker reads")
    print("  them, timed from the first arrival to the last new state; 'backlog': all are stored first, the worker")
    print("  alone is timed.")
    ok = True
    for name, (seconds, cpu) in results.items():
        rate = n / seconds
        ok &= rate >= TARGET or name.endswith("arriving")  # arriving: the senders share the two cores
        print(f"  {name:23} {n:,} in {seconds:5.2f}s = {rate:5.0f}/s {'PASS' if rate >= TARGET else 'FAIL'}  "
              f"(worker CPU {cpu:.2f}s: {n / max(cpu, 1e-9):.0f} reports per CPU second)")
    checks = {
        "dsn: hard bounces cleaned": dsn_states.get("cleaned", 0) == expected_clean,
        "dsn: nobody else changed": dsn_states.get("subscribed", 0) == 2 * n - expected_clean,
        "hook: every event accepted": refused.value == 0,
        "hook: hard bounces cleaned": hook_states.get("cleaned", 0) == hook_clean,
        "hook: complaints complained": hook_states.get("complained", 0) == hook_complained,
    }
    for name, passed in checks.items():
        print(f"  {name}: {'yes' if passed else 'NO'}")
    print(f"  states after: dsn {dsn_states}, hook {hook_states}")
    return 0 if ok and all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
