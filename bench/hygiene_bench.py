"""The hygiene run over a million contacts on PostgreSQL: the soft-bounce, sunset and purge passes.

    .venv/bin/python bench/hygiene_bench.py            # about 3 minutes; exit code 1 if a target is missed

1. Recreates a dedicated PostgreSQL database (default `listserver_hygiene_bench`), runs the
   migrations and makes the demo list and form.
2. Generates the contacts with set-based SQL (generate_series), with what a list of that size
   holds: subscribers engaged lately and long ago, some asked "still want our letters?" weeks
   ago, never-confirmed sign-ups young and old, people who left, were cleaned or complained;
   one subscription, consent record and timeline event each, a confirmation email per pending
   sign-up, and delivery reports: deliveries, opens and clicks, runs of soft bounces (half of
   them with a delivery in between), blocks, hard bounces, complaints, auto-replies and reports
   nobody could classify.
3. Runs the hygiene rules as the daily job does (listserver.hygiene.jobs.run_rules, in this
   process, default batch size) and times the run: the soft-bounce, sunset (inactive, then the
   question) and purge passes together.
4. Checks each rule changed exactly whom the data was made for, prints seconds against the
   60 s target and the peak RSS of this process (before and after the run: memory stays flat
   when the run adds next to nothing), writes them as JSON to bench/results/, drops the database
   (unless --keep-db) and exits 1 if a target or a check is missed.

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth); no Redis (no worker runs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path

from listserver import create_app, migrate
from listserver.cli import embedded
from listserver.extensions import db
from listserver.hygiene import jobs
from listserver.settings import Settings
from submit_bench import drop_database, pg_connect, recreate_database  # the PostgreSQL helpers benches share

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TARGET_SECONDS = 60.0
DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "web.de", "gmx.de", "icloud.com", "example.org")

# Who each contact is, by n % 100 (n = its id): the share of each kind in percent.
#  0-69 subscribers engaged in the last 170 days      70-79 subscribers quiet for 181+ days (asked now)
# 80-82 asked 31-60 days ago, no answer (inactive)    83-85 never confirmed, last sign-up 31+ days ago (purged)
# 86-87 never confirmed, signed up lately             88-92 unsubscribed   93-94 cleaned   95 complained
# 96-99 inactive already
# Among the quiet (70-79), those of every tenth hundred have six soft bounces over 25 days, and those of every
# other one of these hundreds a delivery in between (so only half are cleaned, and those are not asked).
CONTACTS = """
INSERT INTO contact (id, email, email_key, status, attributes, attribute_sources, quality_flags, language,
                     confirm_version, link_version, frequency, created_at, updated_at, confirmed_at,
                     last_engaged_at, last_delivered_at, repermission_asked_at, source_form_id)
SELECT n, email, email, status, '{"first_name": "Ana"}', '{}', '[]', 'en', 1, 1, 'all', created, created,
       CASE WHEN status = 'pending' THEN NULL ELSE created + interval '1 hour' END,
       CASE WHEN b < 70 THEN now() - (n::bigint * 7919 % 170) * interval '1 day'
            WHEN b < 80 THEN now() - (181 + n % 300) * interval '1 day'
            WHEN b < 83 OR b >= 96 THEN now() - (250 + n % 100) * interval '1 day'
            WHEN b >= 88 THEN now() - (30 + n % 300) * interval '1 day' END,
       CASE WHEN b BETWEEN 70 AND 79 AND n / 100 % 20 = 0 THEN now() - interval '12 days'
            WHEN b < 70 AND n % 3 = 0 THEN now() - (n % 20) * interval '1 day' END,
       CASE WHEN b BETWEEN 80 AND 82 THEN now() - (31 + n % 30) * interval '1 day'
            WHEN b >= 96 THEN now() - (290 + n % 30) * interval '1 day' END,
       :form
FROM (
    SELECT n, n % 100 AS b, 'person' || n || '@' || (:domains)[1 + n / 100 % 8] AS email,
           CASE WHEN n % 100 < 83 THEN 'subscribed' WHEN n % 100 < 88 THEN 'pending'
                WHEN n % 100 < 93 THEN 'unsubscribed' WHEN n % 100 < 95 THEN 'cleaned'
                WHEN n % 100 = 95 THEN 'complained' ELSE 'inactive' END AS status,
           CASE WHEN n % 100 BETWEEN 83 AND 85 THEN now() - (31 + n % 200) * interval '1 day'
                WHEN n % 100 BETWEEN 86 AND 87 THEN now() - (n % 29) * interval '1 day'
                ELSE now() - (400 + n % 900) * interval '1 day' END AS created
    FROM generate_series(1, :contacts) AS n
) AS people
"""
STATEMENTS = [
    "SELECT setval(pg_get_serial_sequence('contact', 'id'), (SELECT max(id) FROM contact))",
    # One subscription each, as their status has it.
    """INSERT INTO subscription (contact_id, list_id, status, created_at, confirmed_at, unsubscribed_at)
       SELECT c.id, l.id, CASE c.status WHEN 'pending' THEN 'pending'
                                         WHEN 'unsubscribed' THEN 'unsubscribed' WHEN 'complained' THEN 'unsubscribed'
                                         ELSE 'active' END,
              c.created_at, c.confirmed_at, CASE WHEN c.status IN ('unsubscribed', 'complained') THEN now() END
       FROM contact c JOIN mailing_list l ON l.key = 'newsletter'""",
    # Consent proof and a timeline entry per sign-up; a confirmation email per pending one.
    """INSERT INTO consent_record (contact_id, list_id, action, method, ip, user_agent, form_version_id,
                                   consent_text_hash, created_at)
       SELECT c.id, (SELECT id FROM mailing_list WHERE key = 'newsletter'), 'granted', 'form',
              '203.0.113.' || (c.id % 250), 'Mozilla/5.0 (bench)', :version, md5('consent'), c.created_at
       FROM contact c""",
    """INSERT INTO event (contact_id, kind, data, created_at)
       SELECT id, 'submitted', '{"form": "demo", "method": "form"}', created_at FROM contact""",
    """INSERT INTO outbox_message (idempotency_key, contact_id, kind, recipient, template, context, language,
                                   status, attempts, created_at, next_attempt_at, sent_at)
       SELECT md5(random()::text || id), id, 'confirmation', email, 'confirmation',
              '{"form_version_id": :version}', 'en', 'sent', 1, created_at, created_at, created_at
       FROM contact WHERE status = 'pending'""",
]
# Delivery reports: (kind, contacts chosen by, reports per contact, days between them, status).
REPORTS = [
    ("delivery", "n % 100 < 70 AND n % 3 = 0", 1, 0, "250"),
    ("open", "n % 100 < 70 AND n % 7 = 0", 1, 0, None),
    ("click", "n % 100 < 70 AND n % 11 = 0", 1, 0, None),
    ("soft", "n % 100 BETWEEN 70 AND 79 AND n / 100 % 10 = 0", 6, 5, "4.2.2"),
    ("soft", "n % 100 < 70 AND n % 97 = 0", 3, 4, "4.4.1"),  # a few, recently: no rule applies
    ("other", "n % 100 < 70 AND n % 25 = 3", 4, 10, "5.7.1"),  # blocks: never held against anyone
    ("unknown", "n % 100 < 70 AND n % 200 = 5", 5, 7, None),
    ("hard", "n % 100 BETWEEN 93 AND 94 AND n % 10 = 0", 1, 0, "5.1.1"),
    ("complaint", "n % 100 = 95 AND n % 10 = 0", 1, 0, None),
    ("ignored", "n % 100 < 70 AND n % 150 = 7", 1, 0, None),
]
REPORT = """
INSERT INTO delivery_report (source, external_id, raw, received_at, processed_at, kind, contact_id,
                             recipient_domain, status, reason, machine, occurred_at)
SELECT 'webhook', 'bench-{kind}-' || c.id || '-' || k, '{{}}', at, at, '{kind}', c.id,
       split_part(c.email, '@', 2), {status}, NULL, false, at
FROM contact c, generate_series(0, {count} - 1) AS k,
     LATERAL (SELECT now() - ((k * {spacing}) + 1 + c.id % 3) * interval '1 day' AS at) AS t
WHERE {where}
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--database", default="listserver_hygiene_bench")
    parser.add_argument("--keep-db", action="store_true", help="leave the database in place afterwards")
    return parser.parse_args()


def generate(database: str, contacts: int) -> dict[str, int]:
    """Fill the tables in SQL; the rows of each table."""
    with pg_connect(database) as conn:
        form, version = conn.execute("SELECT f.id, max(v.id) FROM form f JOIN form_version v ON v.form_id = f.id "
                                     "GROUP BY f.id").fetchone()
        domains = "ARRAY[" + ", ".join(f"'{domain}'" for domain in DOMAINS) + "]"
        conn.execute(CONTACTS.replace(":form", str(form)).replace(":domains", domains)
                     .replace(":contacts", str(contacts)))
        for statement in STATEMENTS:
            conn.execute(statement.replace(":version", str(version)))
        for kind, where, count, spacing, status in REPORTS:
            conn.execute(REPORT.format(kind=kind, where=where.replace("n ", "c.id "), count=count, spacing=spacing,
                                       status="NULL" if status is None else f"'{status}'"))
        conn.execute("VACUUM ANALYZE")
        tables = ("contact", "subscription", "consent_record", "event", "outbox_message", "delivery_report")
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables}


def expected(contacts: int) -> dict[str, int]:
    """Whom each rule should change, counted from the recipe above (not from the rules' own queries)."""
    ids = range(1, contacts + 1)
    soft = sum(1 for n in ids if 70 <= n % 100 <= 79 and n // 100 % 10 == 0 and n // 100 % 20 != 0)
    return {
        "soft_bounces": soft,
        "sunset_inactive": sum(1 for n in ids if 80 <= n % 100 <= 82),
        "sunset_ask": sum(1 for n in ids if 70 <= n % 100 <= 79) - soft,
        "purge": sum(1 for n in ids if 83 <= n % 100 <= 85),
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    args = parse_args()
    url = f"postgresql://postgres@127.0.0.1:5432/{args.database}"
    settings = Settings(database_url=url, secret_keys=(secrets.token_urlsafe(48),),
                        instance_path=tempfile.mkdtemp(prefix="hygiene-bench-"))
    recreate_database(args.database)
    try:
        migrate.upgrade(settings)
        app = create_app(settings)
        with app.app_context(), db.session() as session:
            embedded.ensure_demo(session)
        started = time.monotonic()
        rows = generate(args.database, args.contacts)
        print(f"generated in {time.monotonic() - started:.0f} s: " + ", ".join(f"{n:,} {t}" for t, n in rows.items()))

        rss_before = peak_rss_mb()
        with app.app_context():
            started = time.monotonic()
            run = jobs.run_rules()
            seconds = time.monotonic() - started
        rss_peak = peak_rss_mb()
        app.extensions["listserver.db"].engine.dispose()
    finally:
        if not args.keep_db:
            drop_database(args.database)

    want = expected(args.contacts)
    got = {rule: entry["changed"] for rule, entry in run.summary.items()}
    for rule, entry in run.summary.items():
        mark = "" if got[rule] == want[rule] else f"   MISMATCH: expected {want[rule]:,}"
        print(f"  {rule:<16} {entry['changed']:>9,} changed in {entry['seconds']:6.1f} s{mark}")
    passed = seconds < TARGET_SECONDS
    print(f"hygiene run over {args.contacts:,} contacts: {seconds:.1f} s (target < {TARGET_SECONDS:.0f} s) "
          f"{'PASS' if passed else 'FAIL'}")
    print(f"peak RSS: {rss_peak:.0f} MB (before the run: {rss_before:.0f} MB, the run added "
          f"{rss_peak - rss_before:.0f} MB)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "hygiene_bench.json").write_text(json.dumps({
        "contacts": args.contacts, "rows": rows, "seconds": round(seconds, 2), "target_seconds": TARGET_SECONDS,
        "summary": run.summary, "expected": want, "peak_rss_mb": round(rss_peak, 1),
        "rss_before_run_mb": round(rss_before, 1), "cpus": os.cpu_count()}, indent=2))
    return 0 if passed and got == want else 1


if __name__ == "__main__":
    sys.exit(main())
