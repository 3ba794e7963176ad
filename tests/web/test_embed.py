"""What the embed script talks to: the definition, CORS per form, profile tokens and profiling steps.

The browser side (embed.js on a page of another origin) is in test_browser_embed.py; these tests
speak HTTP to the same endpoints the way the script does, and look at what was stored.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from listserver.models import Contact, ContactStatus, MailingList, Subscription, SubscriptionStatus
from tests.cli.test_cli import invoke
from tests.conftest import contact_of, publish

SHOP = "https://shop.example-shop.net"
ELSEWHERE = "https://evil.example.org"
QUIZ_LISTS = [
    {"key": "newsletter", "name": "Newsletter"},
    {"key": "seo-tips", "name": "SEO tips", "double_opt_in": False},
    {"key": "ads-news", "name": "Ads news", "double_opt_in": True},
]
FORM = {
    "slug": "guide", "name": "Growth guide", "title": "Get the growth guide", "lists": ["newsletter"],
    "allowed_origins": [SHOP + "/"], "site_url": SHOP + "/blog?ref=mail",
    "fields_per_view": 2,
    "fields": [
        "email", {"key": "first_name", "required": False}, "company", "job_title",
        {"key": "topics", "type": "multi_select", "label": "What interests you?",
         "rules": {"choices": [{"value": "seo", "label": "SEO", "list": "seo-tips"},
                               {"value": "ads", "label": "Ads", "list": "ads-news"},
                               {"value": "other", "label": "Something else"}]}},
        {"key": "phone", "required": False},
    ],
    "lead_magnet": {"title": "The growth guide", "url": "/static/demo/checklist.html"},
    "profile_magnets": [{"after": ["company", "job_title"], "title": "Salary benchmark 2026",
                         "url": "https://shop.example-shop.net/benchmark.pdf"}],
    "display": {"mode": "panel", "trigger": "pageviews", "value": 2, "dismiss_days": 14},
}


@pytest.fixture
def guide(app):
    return publish(app, FORM, lists=QUIZ_LISTS)


def stamp_for(client, token=None, origin=SHOP):
    return client.post("/f/guide/next", json={"profile_token": token}, headers={"Origin": origin}).json


def post_json(client, answers: dict, origin=SHOP):
    stamp = stamp_for(client, answers.get("profile_token"), origin)["stamp"]
    return client.post("/f/guide", json={"_ts": stamp, **answers}, headers={"Origin": origin})


def contact(session, email="lena@example-shop.net") -> Contact:
    return contact_of(session, email)


def signed_up(client, deliver, app, inbox, email="lena@example-shop.net", confirm=True, **answers):
    """A visitor who signed up through the script (and confirmed); returns their profile token."""
    answer = post_json(client, {"email": email, **answers})
    assert answer.status_code == 200 and answer.json["status"] == "check_inbox", answer.json
    if confirm:
        deliver(app)
        client.post(inbox.link(inbox.to(email)[-1], "confirm"))
        deliver(app)
    return answer.json["profile_token"]


def test_definition_is_public_cacheable_and_in_queue_order(client, guide):
    answer = client.get("/f/guide/definition", headers={"Origin": SHOP})
    assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Origin" in answer.headers["Vary"] and "public" in answer.headers["Cache-Control"]
    body = answer.json
    assert [f["key"] for f in body["fields"]] == ["email", "first_name", "company", "job_title", "topics", "phone"]
    assert body["fields_per_view"] == 2 and body["display"] == {"mode": "panel", "trigger": "pageviews",
                                                                "value": 2, "dismiss_days": 14}
    topics = next(f for f in body["fields"] if f["key"] == "topics")
    assert topics["multiple"] and [c["label"] for c in topics["choices"]] == ["SEO", "Ads", "Something else"]
    assert "list_id" not in str(body) and "allowed_origins" not in body  # only what the script needs
    again = client.get("/f/guide/definition", headers={"Origin": SHOP, "If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_definition_changes_its_etag_when_the_form_changes(app, client, guide):
    before = client.get("/f/guide/definition").headers["ETag"]
    publish(app, {**FORM, "title": "Get the new growth guide"})
    answer = client.get("/f/guide/definition", headers={"If-None-Match": before})
    assert answer.status_code == 200 and answer.json["title"] == "Get the new growth guide"


def test_other_origins_are_refused_clearly(client, guide, session):
    for answer in (client.get("/f/guide/definition", headers={"Origin": ELSEWHERE}),
                   client.post("/f/guide/next", json={}, headers={"Origin": ELSEWHERE}),
                   client.options("/f/guide", headers={"Origin": ELSEWHERE,
                                                       "Access-Control-Request-Method": "POST"})):
        assert answer.status_code == 403 and answer.json["error"] == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in answer.headers
    stamp = stamp_for(client)["stamp"]
    refused = client.post("/f/guide", json={"email": "x@example-shop.net", "_ts": stamp},
                          headers={"Origin": ELSEWHERE})
    assert refused.status_code == 403 and contact(session, "x@example-shop.net") is None


def test_preflight_for_an_allowed_origin(client, guide):
    answer = client.options("/f/guide", headers={"Origin": SHOP, "Access-Control-Request-Method": "POST",
                                                 "Access-Control-Request-Headers": "content-type"})
    assert answer.status_code == 204 and answer.headers["Access-Control-Allow-Origin"] == SHOP
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    assert "content-type" in answer.headers["Access-Control-Allow-Headers"].lower()
    assert "Set-Cookie" not in answer.headers


def test_a_plain_html_post_from_any_site_still_works(client, guide, session):
    """Not CORS: a normal cross-site form post, guarded by the bot defences only."""
    first = client.post("/f/guide", data={"email": "plain@example-shop.net"}, headers={"Origin": ELSEWHERE})
    # A static snippet has no render stamp: the visitor sees the form filled in and presses once more.
    assert first.status_code == 200 and "One more step" in first.text and "plain@example-shop.net" in first.text
    assert contact(session, "plain@example-shop.net") is None
    stamp = re.search(r'name="_ts" value="([^"]+)"', first.text).group(1)
    second = client.post("/f/guide", data={"email": "plain@example-shop.net", "_ts": stamp},
                         headers={"Origin": ELSEWHERE})
    assert second.status_code == 200 and "Check your inbox" in second.text
    assert contact(session, "plain@example-shop.net").status == ContactStatus.PENDING


def test_new_visitor_then_next_questions_never_the_same_twice(app, client, guide, deliver, inbox, session):
    assert stamp_for(client) | {"stamp": None} == {"fields": ["email", "first_name"], "recognised": False,
                                                   "stamp": None}
    token = signed_up(client, deliver, app, inbox, first_name="Lena")
    assert stamp_for(client, token)["fields"] == ["company", "job_title"]
    step = post_json(client, {"profile_token": token, "company": "Acme", "job_title": "CMO"})
    assert step.status_code == 200 and step.json["status"] == "saved"
    assert step.json["next"] == ["topics", "phone"]
    assert step.json["lead_magnet"]["title"] == "Salary benchmark 2026"  # a second download for these answers
    assert stamp_for(client, step.json["profile_token"])["fields"] == ["topics", "phone"]
    person = contact(session)
    assert person.attributes == {"first_name": "Lena", "company": "Acme", "job_title": "CMO"}
    assert person.attribute_sources["company"]["form_version_id"] == guide.id
    assert person.email == "lena@example-shop.net"  # a profiling step never changes the address
    deliver(app)
    [magnet] = [m for m in inbox.to("lena@example-shop.net") if "Salary benchmark" in m.as_string()]
    assert "Thank you for your answers" in magnet.get_body(preferencelist=("plain",)).get_content()


def test_profiling_step_errors_name_the_field_and_keep_nothing(app, client, guide, deliver, inbox, session):
    token = signed_up(client, deliver, app, inbox)
    answer = post_json(client, {"profile_token": token, "company": "<script>alert(1)</script>", "job_title": "x"})
    assert answer.status_code == 422 and set(answer.json["errors"]) == {"company"}
    assert "company" not in contact(session).attributes and "job_title" not in contact(session).attributes


@pytest.mark.parametrize("forge", ["tamper", "garbage", "other_purpose", "huge"])
def test_forged_tokens_are_new_visitors(app, client, guide, deliver, inbox, session, forge):
    token = signed_up(client, deliver, app, inbox, confirm=False)
    deliver(app)
    bad = {
        "tamper": token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),
        "garbage": "not-a-token",
        "other_purpose": inbox.link(inbox.to("lena@example-shop.net")[0], "confirm").rsplit("/", 1)[1],
        "huge": "x" * 20_000,
    }[forge]
    assert stamp_for(client, bad)["recognised"] is False
    answer = post_json(client, {"profile_token": bad, "company": "Evil"})
    # Without a recognised token this is a sign-up, and a sign-up needs an address.
    assert answer.status_code == 422 and "email" in answer.json["errors"]
    assert "company" not in contact(session).attributes


def test_unproven_token_reveals_and_overwrites_nothing_of_a_confirmed_person(app, client, guide, deliver,
                                                                               inbox, session):
    owner = signed_up(client, deliver, app, inbox, first_name="Lena")
    post_json(client, {"profile_token": owner, "company": "Acme", "job_title": "CMO"})
    # Someone else types Lena's address into the form on their own browser.
    stranger = post_json(client, {"email": "lena@example-shop.net", "first_name": "Mallory"}).json
    assert stamp_for(client, stranger["profile_token"])["fields"] == ["company", "job_title"]  # as for anyone
    step = post_json(client, {"profile_token": stranger["profile_token"], "company": "Evil Corp", "job_title": "Spy"})
    assert step.json["status"] == "saved" and step.json["next"] == ["topics", "phone"]  # looks the same to them
    # ...but nothing reaches Lena's profile, not even the questions she has not answered yet.
    post_json(client, {"profile_token": step.json["profile_token"], "topics": ["seo"], "phone": "+48601234567"})
    assert contact(session).attributes == {"first_name": "Lena", "company": "Acme", "job_title": "CMO"}
    assert {s.mailing_list.key for s in contact(session).subscriptions} == {"newsletter"}


def test_a_recognised_browser_can_sign_up_another_address(app, client, guide, deliver, inbox, session):
    """"Not you?": a browser that holds Lena's token signs up Tom; Lena's profile is untouched."""
    lena = signed_up(client, deliver, app, inbox, first_name="Lena")
    answer = post_json(client, {"profile_token": lena, "email": "tom@example-shop.net", "first_name": "Tom"})
    assert answer.status_code == 200 and answer.json["status"] == "check_inbox"
    tom = contact(session, "tom@example-shop.net")
    assert tom.status == ContactStatus.PENDING and tom.attributes == {"first_name": "Tom"}
    assert [s.status for s in tom.subscriptions] == [SubscriptionStatus.PENDING]
    assert contact(session).attributes == {"first_name": "Lena"}  # the token's person is untouched
    deliver(app)
    [confirmation] = inbox.to("tom@example-shop.net")
    client.post(inbox.link(confirmation, "confirm"))
    assert contact(session, "tom@example-shop.net").status == ContactStatus.SUBSCRIBED


def test_sign_up_answers_say_nothing_about_the_address(app, client, guide, deliver, inbox):
    """New, already confirmed, or dropped by the bot checks: the same answer, and a profile token
    whose content nobody can read (a signed-only token would show the contact id and its state)."""
    signed_up(client, deliver, app, inbox)
    answers = {
        "new": post_json(client, {"email": "new@example-shop.net"}).json,
        "confirmed": post_json(client, {"email": "lena@example-shop.net"}).json,
        "dropped": post_json(client, {"email": "bot@example-shop.net", "_hp": "I am a bot"}).json,
    }
    tokens = {case: answer.pop("profile_token") for case, answer in answers.items()}
    assert answers["new"] == answers["confirmed"] == answers["dropped"]
    assert len({len(token) for token in tokens.values()}) == 1
    for token in tokens.values():
        assert URLSafeTimedSerializer("not our key").loads_unsafe(token)[1] is None


def test_email_links_recognise_the_subscriber_and_go_back_to_the_site(app, client, guide, deliver, inbox,
                                                                        session):
    post_json(client, {"email": "lena@example-shop.net", "first_name": "Lena"})
    deliver(app)
    page = client.post(inbox.link(inbox.to("lena@example-shop.net")[0], "confirm"))
    back = re.search(r'href="(https://shop\.example-shop\.net/blog\?[^"]+)"', page.text).group(1)
    deliver(app)
    [magnet] = [m for m in inbox.to("lena@example-shop.net") if m["X-Listserver-Kind"] == "lead_magnet"]
    in_mail = re.search(r"https://shop\.example-shop\.net/blog\?\S+", magnet.get_body(
        preferencelist=("plain",)).get_content()).group(0)
    for url in (back.replace("&amp;", "&"), in_mail):
        query = parse_qs(urlsplit(url).query)
        assert query["ref"] == ["mail"]
        assert stamp_for(client, query["ls_pt"][0]) | {"stamp": None} == {
            "fields": ["company", "job_title"], "recognised": True, "stamp": None}
    # The hosted page takes the same token: the next questions, and a way out for someone else.
    hosted = client.get(f"/f/guide?ls_pt={query['ls_pt'][0]}")
    assert 'name="company"' in hosted.text and 'name="email"' not in hosted.text and "Not you?" in hosted.text


def test_stale_answers_are_asked_again(app, client, deliver, inbox, session):
    spec = {**FORM, "fields": ["email", {"key": "job_title", "reask_after_days": 180}, "company"],
            "fields_per_view": 1}
    publish(app, spec, lists=QUIZ_LISTS)
    signed_up(client, deliver, app, inbox)
    magnet = next(m for m in inbox.to("lena@example-shop.net") if m["X-Listserver-Kind"] == "lead_magnet")
    token = parse_qs(urlsplit(re.search(r"https://shop\S+", magnet.get_body(
        preferencelist=("plain",)).get_content()).group(0)).query)["ls_pt"][0]
    assert post_json(client, {"profile_token": token, "job_title": "CMO"}).json["next"] == ["company"]
    post_json(client, {"profile_token": token, "company": "Acme"})
    assert stamp_for(client, token)["fields"] == []  # everything known and fresh
    person = contact(session)
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=200)).isoformat()
    session.execute(sa.update(Contact).where(Contact.id == person.id).values(
        attribute_sources={**person.attribute_sources, "job_title": {"form_version_id": 1, "at": long_ago}}))
    assert stamp_for(client, token)["fields"] == ["job_title"]


def test_quiz_answers_join_lists_by_their_opt_in_rule(app, client, guide, deliver, inbox, session):
    signed_up(client, deliver, app, inbox)
    magnet = next(m for m in inbox.to("lena@example-shop.net") if m["X-Listserver-Kind"] == "lead_magnet")
    token = parse_qs(urlsplit(re.search(r"https://shop\S+", magnet.get_body(
        preferencelist=("plain",)).get_content()).group(0)).query)["ls_pt"][0]
    post_json(client, {"profile_token": token, "company": "Acme", "job_title": "CMO"})
    inbox.messages.clear()
    answer = post_json(client, {"profile_token": token, "topics": ["seo", "ads"]})
    assert answer.json["status"] == "saved"
    status = dict(session.execute(sa.select(MailingList.key, Subscription.status).join(Subscription).where(
        Subscription.contact_id == contact(session).id)).all())
    # SEO tips needs no double opt-in and the address is proven; Ads news asks for one.
    assert status == {"newsletter": SubscriptionStatus.ACTIVE, "seo-tips": SubscriptionStatus.ACTIVE,
                      "ads-news": SubscriptionStatus.PENDING}
    deliver(app)
    [confirmation] = [m for m in inbox.to("lena@example-shop.net") if m["X-Listserver-Kind"] == "confirmation"]
    client.post(inbox.link(confirmation, "confirm"))
    assert session.scalar(sa.select(Subscription.status).join(MailingList).where(
        MailingList.key == "ads-news")) == SubscriptionStatus.ACTIVE


def test_frame_may_be_framed_by_allowed_sites_only(client, guide):
    frame = client.get("/f/guide/frame")
    assert frame.status_code == 200 and 'action="/f/guide/frame"' in frame.text and "frame.js" in frame.text
    assert f"frame-ancestors 'self' {SHOP};" in frame.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self';" in client.get("/f/guide").headers["Content-Security-Policy"]
    answer = client.post("/f/guide/frame", data={"email": "not-an-address", "_ts": stamp_for(client)["stamp"]})
    assert answer.status_code == 422 and "frame.js" in answer.text


def test_embed_script_is_served_for_existing_forms(client, guide):
    script = client.get("/f/guide/embed.js")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert "max-age=300" in script.headers["Cache-Control"] and script.headers.get("ETag")
    assert client.get("/f/nope/embed.js").status_code == 404


def test_revoked_links_revoke_profile_tokens_too(app, client, guide, deliver, inbox, session):
    token = signed_up(client, deliver, app, inbox)
    assert stamp_for(client, token)["recognised"] is True
    assert invoke(app, "contacts", "revoke-links", "lena@example-shop.net").exit_code == 0
    assert stamp_for(client, token)["recognised"] is False


def test_no_cookies_from_anything_the_script_calls(client, guide):
    token_answer = post_json(client, {"email": "c@example-shop.net"})
    for answer in (client.get("/f/guide/embed.js"), client.get("/f/guide/definition", headers={"Origin": SHOP}),
                   client.post("/f/guide/next", json={}, headers={"Origin": SHOP}), token_answer):
        assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
