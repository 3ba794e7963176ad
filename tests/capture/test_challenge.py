"""The second step of a doubtful sign-up, without a browser: what people are asked, what scripts
still cannot get through, and what the console counts (issue 19). tests/test_browser_bots.py
shows the same steps done by a real browser."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import logging
import re
import time

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner
from limits.storage import storage_from_string

from listserver.accounts import users
from listserver.capture import bots
from listserver.capture.bots import Guard
from listserver.capture.challenge import ProofOfWork
from listserver.cli import embedded
from listserver.extensions import db
from listserver.models import Contact, OutboxMessage
from tests.conftest import REDIS_URL, stamp

ONE_MORE_STEP = "One more step"
CHECK_INBOX = "Check your inbox"
PASSWORD = "correct horse battery staple"


def solve(challenge: dict) -> str:
    """What a browser's challenge.js sends back, done in Python: the CPU a script pays too."""
    salt, target = challenge["salt"], challenge["challenge"]
    for number in range(challenge["maxnumber"] + 1):
        if hashlib.sha256(f"{salt}{number}".encode()).hexdigest() == target:
            return f"{salt}{number}.{challenge['signature']}"
    raise AssertionError("no number solves the challenge")


def stored(session) -> list[str]:
    return sorted(session.scalars(sa.select(Contact.email)).all())


def emails(session) -> int:
    return session.scalar(sa.select(sa.func.count(OutboxMessage.id)))


def challenge_in(page: str) -> dict:
    return json.loads(html.unescape(re.search(r"data-challenge='([^']+)'", page).group(1)))


def fields_of(page: str) -> dict:
    """The hidden and filled-in fields of the form on a page, as the browser would send them."""
    inputs = re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in inputs}


def old_stamp(app, slug: str = "demo", hours: float = 25) -> str:
    """The stamp of a form page rendered `hours` ago (a tab kept open), signed by the Guard's signer."""
    real = TimestampSigner.get_timestamp
    TimestampSigner.get_timestamp = lambda self: int(time.time() - hours * 3600)
    try:
        return Guard(app.config["SETTINGS"]).stamp(slug)
    finally:
        TimestampSigner.get_timestamp = real


# --- doubtful stamps: one more press (a page), or a resend after a moment (JSON) -----------------

def test_a_stamp_aged_25_hours_leads_to_one_more_press_not_a_loss(app, client, session):
    first = client.post("/f/demo", data={"email": "kept.open@example-shop.net", "first_name": "Åsa O'Brien",
                                         "_ts": old_stamp(app)})
    assert first.status_code == 200 and ONE_MORE_STEP in first.text and CHECK_INBOX not in first.text
    assert 'value="Åsa O&#39;Brien"' in first.text  # filled in again, escaped
    assert stored(session) == []
    second = client.post("/f/demo", data=fields_of(first.text))  # the one more press
    assert second.status_code == 200 and CHECK_INBOX in second.text
    assert stored(session) == ["kept.open@example-shop.net"] and emails(session) == 1


def test_the_embed_is_told_to_resend_with_a_fresh_stamp_after_the_minimum_age(make_app, session):
    app = make_app(form_min_seconds=1)
    client = app.test_client()
    fresh = client.post("/f/demo/next", json={}).json["stamp"]
    answer = client.post("/f/demo", json={"email": "at.once@example-shop.net", "_ts": fresh})
    assert answer.status_code == 200 and answer.json["status"] == "retry" and answer.json["after_ms"] == 1000
    assert stored(session) == []
    time.sleep(1.05)
    again = client.post("/f/demo", json={"email": "at.once@example-shop.net", "_ts": answer.json["stamp"]})
    assert again.json["status"] == "check_inbox" and stored(session) == ["at.once@example-shop.net"]


def test_a_recognised_visitor_sent_too_fast_sees_their_next_questions_again(make_app, session):
    app = make_app(form_min_seconds=2)
    client = app.test_client()
    signed_up = client.post("/f/demo", json={"email": "known@example-shop.net", "_ts": old_stamp(app, hours=1)})
    token = signed_up.json["profile_token"]
    page = client.post("/f/demo", data={"profile_token": token, "company": "Acme", "_ts": stamp(client)})
    assert ONE_MORE_STEP in page.text and 'name="email"' not in page.text
    assert 'name="company"' in page.text and 'value="Acme"' in page.text


@pytest.mark.parametrize("stamp_value", [None, "", "abc.def.ghi"], ids=["none", "empty", "forged"])
def test_json_without_a_stamp_of_ours_is_asked_to_resend(client, session, stamp_value):
    body = {"email": "raw@example-shop.net"} | ({} if stamp_value is None else {"_ts": stamp_value})
    answer = client.post("/f/demo", json=body)
    assert answer.json["status"] == "retry" and answer.json["stamp"] and stored(session) == []


# --- certain bots learn nothing ---------------------------------------------------------------

def test_a_filled_honeypot_gets_a_persons_answer_and_nothing_is_stored_or_mailed(app, client, session):
    person = client.post("/f/demo", json={"email": "person@example-shop.net", "_ts": stamp(client)}).json
    bot = client.post("/f/demo", json={"email": "bot@example-shop.net", "_ts": stamp(client), "_hp": "x"}).json
    assert person.pop("profile_token") and bot.pop("profile_token")
    assert bot == person and bot["status"] == "check_inbox"
    assert stored(session) == ["person@example-shop.net"] and emails(session) == 1


# --- over a rate limit: proof of work, which a script without it cannot get past ---------------

@pytest.fixture(params=["memory", "redis"])
def limited_app(request, make_app):
    """One network allowed 30 sign-ups a minute; counts in Redis or in this process's memory."""
    if request.param == "redis":
        request.getfixturevalue("redis_client")  # an empty Redis database
        return make_app(ratelimit_ip="30/minute", redis_url=REDIS_URL)
    return make_app(ratelimit_ip="30/minute")


def test_a_script_that_does_not_solve_gets_no_more_than_the_limit_through(limited_app, session):
    client = limited_app.test_client()
    pages = [client.post("/f/demo", data={"email": f"booth{n}@example-shop.net", "_ts": stamp(client)})
             for n in range(40)]
    assert [CHECK_INBOX in page.text for page in pages] == [True] * 30 + [False] * 10
    assert all(page.status_code == 200 and ONE_MORE_STEP in page.text for page in pages[30:])
    # Pressing again without the work, or with made-up work, changes nothing.
    for page in pages[30:]:
        sent = fields_of(page.text)
        assert sent["_pow"] == ""
        again = client.post("/f/demo", data=sent)
        forged = client.post("/f/demo", data=sent | {"_pow": "a" * 24 + f".{int(time.time()) + 60}.1.abc"})
        assert "data-challenge" in again.text and "data-challenge" in forged.text
    assert len(stored(session)) == 30 and emails(session) == 30


def test_each_solved_challenge_lets_one_submission_through_once(limited_app, session):
    client = limited_app.test_client()
    for n in range(30):
        client.post("/f/demo", data={"email": f"first{n}@example-shop.net", "_ts": stamp(client)})
    page = client.post("/f/demo", data={"email": "thirty.one@example-shop.net", "_ts": stamp(client)})
    started = time.perf_counter()
    solution = solve(challenge_in(page.text))
    took = time.perf_counter() - started
    passed = client.post("/f/demo", data=fields_of(page.text) | {"_pow": solution})
    assert CHECK_INBOX in passed.text and "thirty.one@example-shop.net" in stored(session)
    # The same work again, for another address: asked for new work, not let through.
    replayed = client.post("/f/demo", data={"email": "replay@example-shop.net", "_ts": stamp(client),
                                            "_pow": solution})
    assert "data-challenge" in replayed.text and "replay@example-shop.net" not in stored(session)
    print(f"\nPython solved one challenge in {took * 1000:.0f} ms")  # a script pays this per sign-up


def test_an_address_over_its_limit_is_challenged_and_passes_with_the_work_done(make_app, session):
    app = make_app(ratelimit_address="1/hour", confirmations_per_day=10)
    client = app.test_client()
    for name in ("Ann", "Bea"):  # the first sign-up of an address is not counted
        assert CHECK_INBOX in client.post("/f/demo", data={"email": "often@example-shop.net", "first_name": name,
                                                           "_ts": stamp(client)}).text
    page = client.post("/f/demo", data={"email": "often@example-shop.net", "first_name": "Cid",
                                        "_ts": stamp(client)})
    assert "data-challenge" in page.text and emails(session) == 2
    passed = client.post("/f/demo", data=fields_of(page.text) | {"_pow": solve(challenge_in(page.text))})
    assert CHECK_INBOX in passed.text and emails(session) == 3


def test_the_embed_gets_the_challenge_as_json(make_app, session):
    app = make_app(ratelimit_ip="1/minute")
    client = app.test_client()
    client.post("/f/demo", json={"email": "one@example-shop.net", "_ts": stamp(client)})
    ts = stamp(client)
    answer = client.post("/f/demo", json={"email": "two@example-shop.net", "_ts": ts}).json
    assert answer["status"] == "challenge" and answer["field"] == "_pow" and "stamp" not in answer
    assert set(answer["challenge"]) == {"algorithm", "challenge", "salt", "signature", "maxnumber"}
    assert answer["challenge"]["maxnumber"] == app.config["SETTINGS"].challenge_max_number
    done = client.post("/f/demo", json={"email": "two@example-shop.net", "_ts": ts,
                                        "_pow": solve(answer["challenge"])}).json
    assert done["status"] == "check_inbox" and stored(session) == ["one@example-shop.net", "two@example-shop.net"]


def test_a_solution_is_refused_when_expired_forged_or_spliced(app):
    work = ProofOfWork("key", 1000)
    then = time.time() - 3600
    expired = solve(work.issue(now=then).as_json())
    assert work.check(expired, now=then + 60) is not None and work.check(expired) is None
    good = solve(work.issue().as_json())
    assert work.check(good) is not None
    nonce, expires, number, signature = good.split(".")
    assert work.check(f"{nonce}.{expires}.{number}.{'0' * 64}") is None  # not our signature
    assert ProofOfWork("another key", 1000).check(good) is None
    # A digit moved from the number into the expiry would push it far into the future.
    assert work.check(f"{nonce}.{expires}{number[:1]}.{number[1:] or '0'}.{signature}") is None
    for junk in (None, 7, "", "a.b", "x" * 500, "..", "ä.1.2.3"):
        assert work.check(junk) is None


# --- what the console and the logs say ----------------------------------------------------------

def test_the_overview_counts_dropped_challenged_passed_and_failed_without_personal_data_in_logs(
        make_app, session, caplog):
    app = with_owner(make_app(ratelimit_ip="1/minute", smtp_host="", form_min_seconds=2))
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="listserver"):
        ts = stamp(client)
        time.sleep(2.1)
        client.post("/f/demo", data={"email": "bot@example-shop.net", "_ts": ts, "_hp": "x"})  # dropped
        client.post("/f/demo", data={"email": "fast@example-shop.net", "_ts": stamp(client)})  # second step
        client.post("/f/demo", data={"email": "first@example-shop.net", "_ts": ts})  # taken
        page = client.post("/f/demo", data={"email": "second@example-shop.net", "_ts": ts})  # challenged
        client.post("/f/demo", data={"email": "second@example-shop.net", "_ts": ts, "_pow": "wrong"})  # failed
        client.post("/f/demo", data={"email": "second@example-shop.net", "_ts": ts,
                                     "_pow": solve(challenge_in(page.text))})  # passed
    lines = [r.getMessage() for r in caplog.records if "bot check" in r.getMessage()]
    assert len(lines) == 6 and not any("@" in line or "127.0.0.1" in line for line in lines)
    assert bot_counts(client) == {"Dropped as certain bots": (1, 1), "Asked for one more step": (1, 1),
                                  "Challenged": (2, 2), "Passed a challenge": (1, 1), "Failed a challenge": (1, 1)}


def bot_counts(client) -> dict[str, tuple[int, int]]:
    """The console overview's bot figures (today, last 7 days), as the owner (made by the caller) sees them."""
    login = client.get("/admin/login").text
    token = re.search(r'name="csrf_token"[^>]* value="([^"]+)"', login).group(1)
    client.post("/admin/login", data={"csrf_token": token, "email": "owner@example-shop.net", "password": PASSWORD})
    overview = client.get("/admin/")
    assert overview.status_code == 200
    return {label: (int(today), int(week)) for label, today, week in re.findall(
        r'<th scope="row">([^<(]+?) ?(?:\([^<]*\))?</th><td>(\d+)</td><td>(\d+)</td>', overview.text)}


def with_owner(app):
    with app.app_context(), db.session() as db_session:
        embedded.ensure_demo(db_session)
        users.create_user(db_session, "owner@example-shop.net", PASSWORD, "admin")
        db_session.commit()
    return app


def test_the_weeks_bot_figures_include_the_days_before_today(make_app, redis_client):
    app = with_owner(make_app(redis_url=REDIS_URL, smtp_host=""))
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    week_ago = yesterday - dt.timedelta(days=6)  # the 8th day back: no longer in the week
    store = storage_from_string(REDIS_URL)  # as the counting of those days left it (the limits library's keys)
    store.incr(bots._tally_key(yesterday, bots.Tally.DROPPED), 86400, amount=4)
    store.incr(bots._tally_key(week_ago, bots.Tally.DROPPED), 86400, amount=50)
    client = app.test_client()
    client.post("/f/demo", data={"email": "bot@example-shop.net", "_ts": stamp(client), "_hp": "x"})
    assert bot_counts(client)["Dropped as certain bots"] == (1, 5)


def test_a_challenge_solved_while_the_limit_store_is_away_still_lets_her_in(make_app, session):
    # Nothing listens on port 1: Redis is away. She was challenged just before; her work must count.
    app = with_owner(make_app(redis_url="redis://127.0.0.1:1/0", smtp_host=""))
    client = app.test_client()
    solution = solve(Guard(app.config["SETTINGS"]).challenge().as_json())
    page = client.post("/f/demo", data={"email": "patient@example-shop.net", "_ts": stamp(client),
                                        "_pow": solution})
    assert CHECK_INBOX in page.text and stored(session) == ["patient@example-shop.net"]
    # Nor is anyone else challenged for want of a count: an outage must not cost sign-ups.
    page = client.post("/f/demo", data={"email": "plain@example-shop.net", "_ts": stamp(client)})
    assert CHECK_INBOX in page.text and "data-challenge" not in page.text
    # The console does not make up figures it cannot read.
    assert set(bot_counts(client).values()) == {(0, 0)}


def test_every_person_who_does_the_work_gets_through_not_only_the_first(make_app, session):
    client = make_app(ratelimit_ip="1/minute").test_client()
    client.post("/f/demo", data={"email": "first@example-shop.net", "_ts": stamp(client)})
    for name in ("ann", "bea"):
        page = client.post("/f/demo", data={"email": f"{name}@example-shop.net", "_ts": stamp(client)})
        assert "data-challenge" in page.text
        passed = client.post("/f/demo", data=fields_of(page.text) | {"_pow": solve(challenge_in(page.text))})
        assert CHECK_INBOX in passed.text
    assert stored(session) == ["ann@example-shop.net", "bea@example-shop.net", "first@example-shop.net"]
