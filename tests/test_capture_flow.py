"""The capture flow around a sign-up: quiz answers that join lists, held confirmations, the
"all set" view, the privacy policy beside the consent text, and a demo form that keeps its sites."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from listserver.extensions import db
from listserver.forms import publishing
from listserver.mail import jobs as mail_jobs
from listserver.mail import outbox
from listserver.models import ConsentRecord, ContactStatus, FormVersion, MailingList, Subscription
from listserver.models import SubscriptionStatus as Sub
from listserver.models._types import utcnow
from tests.cli.test_cli import LISTSERVER, clean_env, invoke
from tests.conftest import contact_of, free_port, publish, stamp

ADDRESS = "mara.quiz@example-shop.net"
SITE = "https://www.example-shop.net"
LISTS = [
    {"key": "seo-tips", "name": "SEO tips", "double_opt_in": False},
    {"key": "ads-news", "name": "Ads news"},
    {"key": "pro-news", "name": "Pro news"},
]
QUIZ = {
    "slug": "quiz", "name": "Quiz", "title": "Which letters suit you?", "lists": ["newsletter"],
    "site_url": f"{SITE}/welcome", "allowed_origins": [SITE],
    "fields": [
        "email",
        {"key": "topics", "type": "multi_select", "label": "What interests you?", "required": False,
         "rules": {"choices": [{"value": "seo", "label": "SEO", "list": "seo-tips"},
                               {"value": "ads", "label": "Ads", "list": "ads-news"},
                               {"value": "other", "label": "Something else"}]}},
        {"key": "plan", "type": "select", "label": "Your plan", "required": False,
         "rules": {"choices": [{"value": "pro", "label": "Pro", "list": "pro-news"},
                               {"value": "free", "label": "Free"}]}},
    ],
}


@pytest.fixture
def quiz(app):
    return publish(app, QUIZ, lists=LISTS)


def lists_of(session, address: str) -> dict[str, Sub]:
    contact = contact_of(session, address)
    return dict(session.execute(sa.select(MailingList.key, Subscription.status).join(Subscription)
                                .where(Subscription.contact_id == contact.id)).all())


def confirmations(inbox, address: str = ADDRESS) -> list:
    return [m for m in inbox.to(address) if m["X-Listserver-Kind"] == "confirmation"]


def relay_at(app, deliver, when: dt.datetime) -> None:
    """The relay's pass at a later moment (its own clock argument), then the workers send."""
    with app.app_context(), db.session() as session:
        outbox.hand_over(session, mail_jobs.dispatch, app.config["SETTINGS"], now=when)
    deliver(app)


def proven_token(client, inbox, address: str) -> str:
    """Confirm by the emailed link; the confirmed page's way back to the site carries the profile token."""
    done = client.post(inbox.link(confirmations(inbox, address)[-1], "confirm"))
    assert "You are subscribed" in done.text
    site_link = re.search(r'href="(https://www\.example-shop\.net/[^"]+)"', done.text).group(1)
    return parse_qs(urlsplit(site_link.replace("&amp;", "&")).query)["ls_pt"][0]


# Quiz answers on a first sign-up


def test_a_quiz_answer_on_a_first_sign_up_asks_for_its_list_and_one_link_confirms_all(
        app, client, quiz, deliver, inbox, session):
    page = client.post("/f/quiz", data={"email": ADDRESS, "topics": ["seo", "ads"], "plan": "pro",
                                        "_ts": stamp(client, "quiz")})
    assert "Check your inbox" in page.text
    # Nothing before the address is proven, not even the list that asks for no double opt-in.
    assert lists_of(session, ADDRESS) == {"newsletter": Sub.PENDING, "seo-tips": Sub.PENDING,
                                          "ads-news": Sub.PENDING, "pro-news": Sub.PENDING}
    deliver(app)
    [mail] = inbox.to(ADDRESS)
    assert mail["X-Listserver-Kind"] == "confirmation"
    client.post(inbox.link(mail, "confirm"))
    assert lists_of(session, ADDRESS) == {"newsletter": Sub.ACTIVE, "seo-tips": Sub.ACTIVE,
                                          "ads-news": Sub.ACTIVE, "pro-news": Sub.ACTIVE}
    # The consent proof names the quiz form's version for every list the answers asked for.
    contact = contact_of(session, ADDRESS)
    granted = session.execute(sa.select(ConsentRecord.list_id, ConsentRecord.form_version_id).where(
        ConsentRecord.contact_id == contact.id, ConsentRecord.action == "granted")).all()
    assert len(granted) == 4 and {version for _, version in granted} == {quiz.id}


def test_a_choice_without_a_list_joins_only_the_forms_lists(app, client, quiz, session):
    client.post("/f/quiz", data={"email": ADDRESS, "topics": "other", "plan": "free", "_ts": stamp(client, "quiz")})
    assert lists_of(session, ADDRESS) == {"newsletter": Sub.PENDING}


def test_a_quiz_answer_of_a_known_address_signing_up_again_waits_for_the_new_link(
        app, client, quiz, deliver, inbox, session):
    client.post("/f/quiz", data={"email": ADDRESS, "_ts": stamp(client, "quiz")})
    client.post("/f/quiz", data={"email": ADDRESS, "plan": "pro", "_ts": stamp(client, "quiz")})
    assert lists_of(session, ADDRESS) == {"newsletter": Sub.PENDING, "pro-news": Sub.PENDING}
    deliver(app)
    client.post(inbox.link(confirmations(inbox)[-1], "confirm"))
    assert lists_of(session, ADDRESS) == {"newsletter": Sub.ACTIVE, "pro-news": Sub.ACTIVE}


# Confirmations the invitation throttle holds back


def test_a_confirmation_held_back_is_sent_later_once_and_never_over_the_daily_cap(
        app, make_app, deliver, inbox, session):
    throttled = make_app(confirmations_per_day=2, confirmation_resend_seconds=30)
    client = throttled.test_client()

    def sign_up():
        page = client.post("/f/demo", data={"email": ADDRESS, "_ts": stamp(client)})
        assert "Check your inbox" in page.text

    started = utcnow()
    sign_up()
    deliver(throttled)
    assert len(confirmations(inbox)) == 1
    # Twice more at once: too soon after the first email, so one more waits (not two, not none).
    sign_up()
    sign_up()
    deliver(throttled)
    assert len(confirmations(inbox)) == 1
    relay_at(throttled, deliver, utcnow() + dt.timedelta(seconds=31))
    assert len(confirmations(inbox)) == 2
    # A third within the day would pass the cap of two: it waits a day after the first.
    sign_up()
    relay_at(throttled, deliver, utcnow() + dt.timedelta(hours=23))
    assert len(confirmations(inbox)) == 2
    relay_at(throttled, deliver, utcnow() + dt.timedelta(days=1, seconds=5))
    relay_at(throttled, deliver, utcnow() + dt.timedelta(days=3))  # nothing else was waiting
    first, second, third = confirmations(inbox)
    sent = [email.utils.parsedate_to_datetime(m["Date"]) for m in (first, second, third)]
    assert sent[2] - sent[0] > dt.timedelta(days=1) and sent[1] - sent[0] >= dt.timedelta(seconds=30)
    assert sent[0] >= started.replace(microsecond=0)
    # The email that waited still confirms.
    client.post(inbox.link(third, "confirm"))
    assert contact_of(session, ADDRESS).status == ContactStatus.SUBSCRIBED


def test_a_list_confirmation_from_a_quiz_step_the_throttle_holds_is_sent_later(
        app, make_app, quiz, deliver, inbox, session):
    publish(app, {**QUIZ, "slug": "steps", "fields_per_view": 1})  # the address first, one question a step
    throttled = make_app(confirmation_resend_seconds=30)
    client = throttled.test_client()
    client.post("/f/steps", data={"email": ADDRESS, "_ts": stamp(client, "steps")})
    deliver(throttled)
    token = proven_token(client, inbox, ADDRESS)
    # Right after confirming, the next questions: "Ads" asks for a list with double opt-in.
    assert "What interests you?" in client.get(f"/f/steps?ls_pt={token}").text
    saved = client.post("/f/steps", data={"profile_token": token, "topics": "ads", "_ts": stamp(client, "steps")})
    assert "Your answers are saved" in saved.text
    assert lists_of(session, ADDRESS)["ads-news"] == Sub.PENDING
    deliver(throttled)
    assert len(confirmations(inbox)) == 1  # too soon after the first: held, not dropped
    relay_at(throttled, deliver, utcnow() + dt.timedelta(seconds=31))
    assert len(confirmations(inbox)) == 2
    client.post(inbox.link(confirmations(inbox)[-1], "confirm"))
    assert lists_of(session, ADDRESS) == {"newsletter": Sub.ACTIVE, "ads-news": Sub.ACTIVE}


# A recognised visitor with nothing left to answer


SHORT = {"slug": "short", "name": "Short", "title": "The short letter", "lists": ["newsletter"],
         "site_url": f"{SITE}/welcome", "allowed_origins": [SITE],
         "fields": ["email", {"key": "first_name", "required": False}]}


def test_the_hosted_form_says_all_set_and_emails_the_preference_link_instead_of_showing_it(
        app, client, deliver, inbox, session):
    publish(app, SHORT)
    client.post("/f/short", data={"email": ADDRESS, "first_name": "Mara", "_ts": stamp(client, "short")})
    deliver(app)
    token = proven_token(client, inbox, ADDRESS)
    page = client.get(f"/f/short?ls_pt={token}")
    assert page.status_code == 200 and "You are all set" in page.text
    assert "A few more questions" not in page.text and 'type="email"' not in page.text
    # No link that opens the person's data is in the page; the offer leads to the page that emails one.
    assert not re.search(r"/preferences/(?!new-link)", page.text)
    offer = re.search(r'<a href="([^"]+)">Email me a link to my preferences</a>', page.text).group(1)
    assert offer == "/preferences/new-link"
    assert 'href="/f/short">Not you?' in page.text
    client.post(offer, data={"email": ADDRESS})
    deliver(app)
    [link_mail] = [m for m in inbox.to(ADDRESS) if m["X-Listserver-Kind"] == "preferences_link"]
    assert "/preferences/" in link_mail.get_body(preferencelist=("plain",)).get_content()


def test_the_iframe_says_all_set_unless_the_form_says_nothing(app, client, deliver, inbox):
    publish(app, SHORT)
    client.post("/f/short", data={"email": ADDRESS, "_ts": stamp(client, "short")})
    deliver(app)
    token = proven_token(client, inbox, ADDRESS)
    frame = client.get(f"/f/short/frame?ls_pt={token}")
    assert "You are all set" in frame.text and 'target="_blank"' in frame.text and "frame.js" in frame.text
    publish(app, {**SHORT, "when_complete": "nothing"})
    quiet = client.get(f"/f/short/frame?ls_pt={token}")
    assert quiet.status_code == 200 and "You are all set" not in quiet.text and "<form" not in quiet.text
    assert "You are all set" in client.get(f"/f/short?ls_pt={token}").text  # the hosted page always answers


def test_the_embed_learns_the_all_set_words_the_setting_and_the_spam_folder_hint(app, client):
    publish(app, {**SHORT, "when_complete": "nothing"})
    body = client.get("/f/short/definition", headers={"Origin": SITE}).json
    assert body["when_complete"] == "nothing"
    assert body["messages"]["all_set"] == "You are all set"
    assert "spam folder" in body["messages"]["spam"]
    assert publish(app, SHORT).definition["when_complete"] == "thanks"
    with app.app_context(), db.session() as s, pytest.raises(publishing.SpecError, match="when_complete"):
        publishing.publish_form(s, {**SHORT, "when_complete": "maybe"})


# The privacy policy beside the consent text


def test_the_privacy_policy_sits_beside_the_consent_text_and_in_the_consent_proof(
        app, client, deliver, inbox, session):
    version = publish(app, {**SHORT, "privacy_url": f"{SITE}/privacy"})
    link = f'<a href="{SITE}/privacy" target="_blank" rel="noopener">Privacy policy</a>'
    for path in ("/f/short", "/f/short/frame"):
        page = client.get(path).text
        consent = re.search(r'<p class="consent">(.*?)</p>', page, re.S).group(1)
        assert "unsubscribe with one click" in consent and link in consent
    assert client.get("/f/short/definition", headers={"Origin": SITE}).json["privacy_url"] == f"{SITE}/privacy"
    client.post("/f/short", data={"email": ADDRESS, "_ts": stamp(client, "short")})
    deliver(app)
    assert link in client.get(inbox.link(confirmations(inbox)[0], "confirm")).text
    record = session.scalar(sa.select(ConsentRecord).where(ConsentRecord.contact_id == contact_of(session, ADDRESS).id))
    assert session.get(FormVersion, record.form_version_id).definition["privacy_url"] == f"{SITE}/privacy"
    assert version.definition["privacy_url"] == f"{SITE}/privacy"
    # A form without one shows none.
    assert "Privacy policy" not in client.get("/f/demo").text


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,hi", "/privacy", "https://",
                                 "https://exa mple.com/", "http://[::1/", "ftp://example.com/privacy"])
def test_a_privacy_url_must_be_a_web_address(app, tmp_path, url):
    (tmp_path / "form.json").write_text(json.dumps({**SHORT, "privacy_url": url}))
    result = invoke(app, "forms", "create", str(tmp_path / "form.json"))
    assert result.exit_code != 0 and "'privacy_url' must be a web address" in result.output


# `make run` keeps what the user changed


def _run_until_ready(tmp_path, port: int, env: dict) -> subprocess.Popen:
    process = subprocess.Popen([LISTSERVER, "run", "--port", str(port)], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "Press Ctrl+C" in process.stdout.readline():
            return process
    process.terminate()
    pytest.fail("listserver run did not start")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(10)
    process.stdout.close()


def _definition_from(port: int, origin: str) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/f/demo/definition", headers={"Origin": origin})
    for _ in range(50):
        try:
            return urllib.request.urlopen(request, timeout=5).status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            time.sleep(0.1)
    raise AssertionError("no answer")


def test_the_embedded_run_keeps_the_sites_added_to_the_demo_form(tmp_path):
    env = clean_env(LISTSERVER_INSTANCE_PATH=str(tmp_path / "instance"))
    port = free_port()
    _stop(_run_until_ready(tmp_path, port, env))
    added = subprocess.run([LISTSERVER, "forms", "origins", "demo", "--allow", SITE], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stdout + added.stderr
    process = _run_until_ready(tmp_path, port, env)
    try:
        assert _definition_from(port, SITE) == 200  # still allowed after the restart
        assert _definition_from(port, "https://elsewhere.example.org") == 403
    finally:
        _stop(process)
