"""Bot defences: bots get the friendly answer people get, and no email."""

import re

import pytest
import sqlalchemy as sa

from listserver.models import Contact, Event, OutboxMessage
from tests.conftest import REDIS_URL, stamp


def stored(session):
    return session.scalar(sa.select(sa.func.count(Contact.id)))


def test_honeypot_gets_the_same_answer_and_no_contact(app, client, session):
    human = client.post("/f/demo", data={"email": "human@example-shop.net", "_ts": stamp(client)})
    bot = client.post("/f/demo", data={"email": "bot@example-shop.net", "_ts": stamp(client), "_hp": "http://spam"})
    assert bot.status_code == human.status_code == 200
    assert bot.text == human.text
    assert session.scalars(sa.select(Contact.email)).all() == ["human@example-shop.net"]


def test_check_inbox_page_is_reused_and_stays_what_a_fresh_render_gives(app, client):
    pages = {}
    for path in ("/f/demo", "/f/demo/frame"):
        first = client.post(path, data={"email": "first@example-shop.net", "_ts": stamp(client)})
        again = client.post(path, data={"email": "again@example-shop.net", "_ts": stamp(client)})
        app.extensions["listserver.check_inbox_pages"].clear()  # the bot's answer is rendered anew
        bot = client.post(path, data={"email": "bot@example-shop.net", "_ts": stamp(client), "_hp": "x"})
        assert first.status_code == again.status_code == bot.status_code == 200
        assert first.text == again.text == bot.text and "Check your inbox" in first.text
        pages[path] = first.text
    assert "in-frame" in pages["/f/demo/frame"] and "in-frame" not in pages["/f/demo"]


ONE_MORE_STEP = "One more step"


def test_missing_or_forged_stamp_asks_one_more_step(client, session):
    for address, extra in (("nostamp@example-shop.net", {}), ("forged@example-shop.net", {"_ts": "abc.def.ghi"})):
        page = client.post("/f/demo", data={"email": address, **extra})
        assert page.status_code == 200 and ONE_MORE_STEP in page.text and f'value="{address}"' in page.text
    assert stored(session) == 0


def test_too_fast_asks_one_more_step(make_app, session):
    app = make_app(form_min_seconds=5)
    client = app.test_client()
    page = client.post("/f/demo", data={"email": "fast@example-shop.net", "_ts": stamp(client)})
    assert page.status_code == 200 and ONE_MORE_STEP in page.text and "Check your inbox" not in page.text
    assert 'data-wait-ms="5000"' in page.text  # a press before the fresh stamp is old enough waits for it
    assert stored(session) == 0


def test_stamp_of_another_form_is_dropped(app, client, session):
    from tests.conftest import publish

    publish(app, {"slug": "other", "name": "Other", "lists": ["newsletter"]})
    client.post("/f/demo", data={"email": "swap@example-shop.net", "_ts": stamp(client, "other")})
    assert stored(session) == 0


def test_per_ip_limit_is_shared_by_every_worker_through_redis(make_app, redis_client, session):
    # Two apps stand for two web workers (or hosts): one count in Redis, not one each.
    workers = [make_app(redis_url=REDIS_URL, ratelimit_ip="3/minute").test_client() for _ in range(2)]
    pages = []
    for n in range(6):
        client = workers[n % 2]
        page = client.post("/f/demo", data={"email": f"ip{n}@example-shop.net", "_ts": stamp(client)})
        pages.append(page.status_code == 200 and ("Check your inbox" in page.text, "data-challenge" in page.text))
    assert pages == [(True, False)] * 3 + [(False, True)] * 3  # past the limit, a challenge, not a loss
    assert stored(session) == 3


def test_every_window_of_the_per_ip_limit_counts(make_app, redis_client, session):
    app = make_app(redis_url=REDIS_URL, ratelimit_ip="100/minute;2/day")
    client = app.test_client()
    inbox_pages = 0
    for n in range(4):
        page = client.post("/f/demo", data={"email": f"day{n}@example-shop.net", "_ts": stamp(client)})
        inbox_pages += page.status_code == 200 and "Check your inbox" in page.text
    assert inbox_pages == stored(session) == 2  # the day's window, though the minute's has room


@pytest.mark.parametrize("in_redis", [False, True], ids=["memory", "redis"])
def test_limited_page_answers_429_once_its_limit_is_used(make_app, redis_client, in_redis):
    app = make_app(redis_url=REDIS_URL) if in_redis else make_app()
    client = app.test_client()
    answers = [client.post("/confirm/not-a-token/resend").status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]  # resending a link: 5 an hour per client
    assert client.get("/preferences/new-link").status_code == 200  # limits only the POST


def test_per_address_limit_counts_coming_back(make_app, session):
    """The first sign-up of an address is not counted; after it, 2 an hour."""
    app = make_app(ratelimit_address="2/hour", confirmations_per_day=10)
    client = app.test_client()
    for name in ("Ann", "Bea", "Cid", "Dee", "Eve"):
        page = client.post("/f/demo", data={"email": "often@example-shop.net", "_ts": stamp(client),
                                            "first_name": name})
        # Past the limit, a challenge: the form again, filled in, nothing written yet.
        assert page.status_code == 200 and ("Check your inbox" in page.text) == (name in ("Ann", "Bea", "Cid"))
        assert ("data-challenge" in page.text) == (name in ("Dee", "Eve"))
    assert session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 3
    [contact] = session.scalars(sa.select(Contact)).all()
    assert contact.attributes["first_name"] == "Cid"  # the refused two changed nothing
    assert session.scalar(sa.select(sa.func.count(Event.id)).where(Event.kind == "submitted")) == 3


def test_one_address_coming_back_does_not_use_up_anothers_limit(make_app, session):
    client = make_app(ratelimit_address="1/hour", confirmations_per_day=10).test_client()
    for address in ("often@example-shop.net", "other@example-shop.net"):
        for name in ("Ann", "Bea"):  # the first sign-up is not counted, the second is the one allowed
            page = client.post("/f/demo", data={"email": address, "_ts": stamp(client), "first_name": name})
            assert "Check your inbox" in page.text and "data-challenge" not in page.text
    assert session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 4


def test_form_page_carries_a_hidden_honeypot_and_a_stamp(client):
    page = client.get("/f/demo").text
    assert re.search(r'<div class="hp" aria-hidden="true">', page)
    assert 'name="_hp" tabindex="-1" autocomplete="off"' in page
    assert 'name="_ts" value="' in page
