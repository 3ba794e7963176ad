"""The issue's reference point: a minimal hand-written sign-up endpoint, for comparison only.

"Four inserts, one commit and one Redis push": it reads the address from the same `POST /f/demo`
the benchmark sends, writes a contact, a subscription, a consent record and an event with
plain psycopg on one connection per worker, commits, and pushes the contact id onto a Redis
list. No validation, bot checks, rate limits, templates or languages: it shows what the stack
(gunicorn, Flask, psycopg, redis-py, PostgreSQL, Redis) costs on this machine before any of
listserver's own work. Its tables live in their own database (REFERENCE_DATABASE_URL, created
by bench/submit_bench.py), its list under REFERENCE_QUEUE in Redis (REFERENCE_REDIS_URL).
"""

import json
import os

import psycopg
import redis
from flask import Flask, request

app = Flask(__name__)

BODY = "<!doctype html><title>Check your inbox</title><p>Check your inbox</p>\n"
QUEUE = "listserver:reference"
SCHEMA = """
CREATE TABLE IF NOT EXISTS contact (id bigserial PRIMARY KEY, email text UNIQUE NOT NULL, status text NOT NULL,
                                    created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS subscription (id bigserial PRIMARY KEY, contact_id bigint NOT NULL REFERENCES contact,
                                         list_id int NOT NULL, status text NOT NULL);
CREATE TABLE IF NOT EXISTS consent_record (id bigserial PRIMARY KEY, contact_id bigint REFERENCES contact,
                                           ip text, user_agent text, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS event (id bigserial PRIMARY KEY, contact_id bigint REFERENCES contact, kind text NOT NULL,
                                  data json NOT NULL);
"""

_connection: psycopg.Connection | None = None
_redis = redis.Redis.from_url(os.environ.get("REFERENCE_REDIS_URL", "redis://127.0.0.1:6379/14"))


def connection() -> psycopg.Connection:
    global _connection
    if _connection is None:  # one per worker process, opened after the fork
        _connection = psycopg.connect(os.environ["REFERENCE_DATABASE_URL"])
    return _connection


def create_schema() -> None:
    with psycopg.connect(os.environ["REFERENCE_DATABASE_URL"], autocommit=True) as conn:
        conn.execute(SCHEMA)


@app.route("/f/<slug>", methods=["GET", "POST"])
def submit(slug: str):
    if request.method == "GET":
        return '<input name="_ts" value="unused">'
    email = request.form.get("email", "")
    conn = connection()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO contact (email, status) VALUES (%s, 'pending') RETURNING id", (email,))
        (contact_id,) = cur.fetchone()
        cur.execute("INSERT INTO subscription (contact_id, list_id, status) VALUES (%s, 1, 'pending')",
                    (contact_id,))
        cur.execute("INSERT INTO consent_record (contact_id, ip, user_agent) VALUES (%s, %s, %s)",
                    (contact_id, request.remote_addr, request.user_agent.string))
        cur.execute("INSERT INTO event (contact_id, kind, data) VALUES (%s, 'submitted', %s)",
                    (contact_id, json.dumps({"form": slug})))
    conn.commit()
    _redis.lpush(QUEUE, contact_id)
    return BODY
