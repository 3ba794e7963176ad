"""Rules that guard people, each noticed by a test when it breaks (issue 18).

Mutating each of these rules once left the rest of the suite green: an address typed in
decomposed Unicode, a pending person switching topics on, angle brackets in a text field, the
consent of a new address's sign-up on each path, and a form that allows no other site.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata

import pytest
import sqlalchemy as sa

from listserver.capture import signup
from listserver.contacts import lifecycle
from listserver.extensions import db
from listserver.forms import publishing
from listserver.models import ConsentRecord, Contact, ContactStatus, MailingList, OutboxMessage, SubscriptionStatus
from listserver.web.public.context import load_form
from tests.cli.test_cli import invoke
from tests.conftest import ON_POSTGRES, contact_of, publish
from tests.web.test_api import make_token

COMPOSED = "zo\u00eb@example-shop.net"
# The same address as macOS input methods and some copy-pastes send it: "e" plus a combining diaeresis.
DECOMPOSED = unicodedata.normalize("NFD", COMPOSED)
OTHER_SITE = "https://evil.example.org"


def _mails(inbox, address, kind):
    return [m for m in inbox.to(address) if m["X-Listserver-Kind"] == kind]


# --- an address is one person, however its letters were composed -------------------------------

@pytest.fixture
def zoe(app, submit, deliver, inbox):
    """Zoë signed up with a composed "ë" and confirmed; returns her preference link."""
    assert DECOMPOSED != COMPOSED and len(DECOMPOSED) == len(COMPOSED) + 1
    assert submit(COMPOSED).status_code == 200
    deliver(app)
    [confirmation] = _mails(inbox, COMPOSED, "confirmation")
    app.test_client().post(inbox.link(confirmation, "confirm"))
    deliver(app)
    [magnet] = _mails(inbox, COMPOSED, "lead_magnet")
    inbox.messages.clear()
    return inbox.link(magnet, "preferences")


def test_new_link_page_finds_a_decomposed_address(app, client, zoe, deliver, inbox):
    for typed in (DECOMPOSED, DECOMPOSED.upper()):
        assert client.post("/preferences/new-link", data={"email": typed}).status_code == 200
    deliver(app)
    mails = _mails(inbox, COMPOSED, "preferences_link")
    assert len(mails) == 2  # one per request: nobody is told "unknown address" for her own address
    assert "z••@example-shop.net" in client.get(inbox.link(mails[0], "preferences")).text


def test_api_finds_a_decomposed_address(app, client, runner, zoe):
    auth = {"Authorization": f"Bearer {make_token(app, runner)}"}
    answer = client.get(f"/api/v1/contacts/{DECOMPOSED}", headers=auth)
    assert answer.status_code == 200, answer.json
    assert answer.json["email"] == COMPOSED and answer.json["status"] == "subscribed"


def test_cli_finds_a_decomposed_address_and_revokes_her_links(app, client, zoe):
    shown = invoke(app, "contacts", "show", DECOMPOSED)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["email"] == COMPOSED
    assert client.get(zoe).status_code == 200
    revoked = invoke(app, "contacts", "revoke-links", DECOMPOSED)
    assert revoked.exit_code == 0, revoked.output
    assert client.get(zoe).status_code == 410  # the leaked link stops working, as she asked


def test_a_pause_and_its_end_are_in_the_persons_own_record(app, client, zoe):
    """What the marketer shows when asked for proof: the pause, its end and its date belong to her."""
    client.post(f"{zoe}/pause", data={"months": "3"})
    client.post(f"{zoe}/resume")
    shown = invoke(app, "contacts", "show", COMPOSED)
    assert shown.exit_code == 0, shown.output
    record = json.loads(shown.output)
    mine = [(c["action"], c["method"]) for c in record["consent"] if c["method"] == "preference_center"]
    assert mine == [("paused", "preference_center"), ("resumed", "preference_center")]
    [paused] = [e for e in record["events"] if e["kind"] == "paused"]
    until = dt.datetime.fromisoformat(paused["data"]["until"])
    assert 85 <= (until - dt.datetime.fromisoformat(paused["at"])).days <= 95
    assert paused["data"]["method"] == "preference_center"
    assert [e["kind"] for e in record["events"]][-2:] == ["paused", "resumed"]


def test_pages_opened_from_a_personal_link_are_not_kept_nor_passed_on(app, client, zoe, deliver, inbox, session):
    """The link in the address bar is the key to her data: no cache keeps the page, and no site she
    goes on to from it learns the link through the Referer header."""
    from listserver.contacts.links import Links

    unsubscribe = Links(app.config["SETTINGS"]).unsubscribe(contact_of(session, COMPOSED)).split("5000", 1)[1]
    client.post(f"{zoe}/data")
    deliver(app)
    data = inbox.link(_mails(inbox, COMPOSED, "data_export")[0], "data")
    for answer in (client.get(zoe), client.get(unsubscribe), client.get(data), client.post(data)):
        assert answer.status_code == 200
        assert answer.headers["Cache-Control"] == "no-store" and answer.headers["Referrer-Policy"] == "no-referrer"


def test_a_topic_switched_on_is_proven_in_the_persons_own_data(app, client, zoe, deliver, inbox, session):
    """Her download shows the new list with when she confirmed it, and the consent she gave for it."""
    with app.app_context(), db.session() as own:
        publishing.upsert_list(own, {"key": "offers", "name": "Offers", "description": "Discounts, twice a month."})
        own.commit()
    ids = dict(session.execute(sa.select(MailingList.key, MailingList.id)).all())
    saved = client.post(f"{zoe}/topics", data={"topic": [str(ids["newsletter"]), str(ids["offers"])]},
                        headers={"User-Agent": "Firefox/140"}, environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert saved.status_code == 303
    client.post(f"{zoe}/data")
    deliver(app)
    data = json.loads(client.post(inbox.link(_mails(inbox, COMPOSED, "data_export")[0], "data")).data)
    [offers] = [s for s in data["subscriptions"] if s["list"] == "Offers"]
    assert offers["status"] == "active" and offers["confirmed_at"] and offers["unsubscribed_at"] is None
    [consent] = [c for c in data["consent_records"] if c["list"] == "Offers"]
    assert consent["action"] == "granted" and consent["method"] == "preference_center"
    assert consent["ip"] == "198.51.100.9" and consent["user_agent"] == "Firefox/140"
    [event] = [e for e in data["events"] if e["kind"] == "subscribed"]
    assert event["data"] == {"list": ids["offers"], "method": "preference_center"}


@pytest.mark.parametrize("broken", ["expired", "invalid_link"])
def test_a_broken_personal_link_says_why_and_offers_a_fresh_one(make_app, zoe, broken):
    client = make_app(preferences_token_days=-1).test_client() if broken == "expired" else make_app().test_client()
    link = zoe if broken == "expired" else zoe[:-4] + "AAAA"
    page = client.get(link)
    assert page.status_code == {"expired": 410, "invalid_link": 404}[broken]
    words = {"expired": ("This link has expired", "For your safety, links stop working after a while."),
             "invalid_link": ("This link does not work", "It may be incomplete.")}[broken]
    assert all(w in page.text for w in words)
    assert 'action="/preferences/new-link"' in page.text and 'name="email"' in page.text
    script = client.get(link, headers={"Accept": "application/json"})
    assert script.json["error"] == broken and words[1] in script.json["message"]


# --- only a confirmed address chooses topics ----------------------------------------------------

PENDING_ADDRESS = "waiting@example-shop.net"


def test_a_pending_person_cannot_switch_topics_on(app, client, submit, deliver, inbox, session):
    """Whoever typed someone else's address gets no preference link by it, but the owner may ask
    for one before confirming: topics still wait for the confirmation."""
    submit(PENDING_ADDRESS)
    client.post("/preferences/new-link", data={"email": PENDING_ADDRESS})
    deliver(app)
    [mail] = _mails(inbox, PENDING_ADDRESS, "preferences_link")
    link = inbox.link(mail, "preferences")
    person = contact_of(session, PENDING_ADDRESS)
    lists = [str(s.list_id) for s in person.subscriptions]
    answer = client.post(f"{link}/topics", data={"topic": lists, "frequency": "monthly"})
    assert answer.status_code == 409 and "Please confirm your address first" in answer.text
    person = contact_of(session, PENDING_ADDRESS)
    assert person.status == ContactStatus.PENDING and person.confirmed_at is None
    assert {s.status for s in person.subscriptions} == {SubscriptionStatus.PENDING}
    assert person.frequency.value == "all"
    assert session.scalar(sa.select(sa.func.count(ConsentRecord.id))
                          .where(ConsentRecord.method == "preference_center")) == 0
    # ...and the confirmation email still works and is what subscribes her.
    client.post(inbox.link(_mails(inbox, PENDING_ADDRESS, "confirmation")[0], "confirm"))
    assert contact_of(session, PENDING_ADDRESS).status == ContactStatus.SUBSCRIBED


def test_the_state_machine_refuses_a_topic_for_a_pending_contact(app, submit, session):
    """The same rule one level down, for any future caller of lifecycle.set_topic."""
    submit(PENDING_ADDRESS)
    with app.app_context(), db.session() as own:
        person = own.scalar(sa.select(Contact).where(Contact.email_key == PENDING_ADDRESS))
        [subscription] = person.subscriptions
        with pytest.raises(lifecycle.InvalidTransition):
            lifecycle.set_topic(own, person, subscription.mailing_list, True, lifecycle.Proof("test"))
        own.rollback()
    assert contact_of(session, PENDING_ADDRESS).status == ContactStatus.PENDING


# --- markup never gets into a text field --------------------------------------------------------

TEXT_FORM = {
    "slug": "contact-us", "name": "Contact us", "title": "Talk to sales", "lists": ["newsletter"],
    "fields": ["email", {"key": "company", "required": False}, {"key": "job_title", "required": False},
               {"key": "team", "type": "text", "label": "Your team", "required": False}],
}
MARKUP = '<img src=x onerror="alert(1)">'


@pytest.mark.parametrize("key", ["company", "job_title", "team"])
def test_angle_brackets_in_a_text_field_are_refused_on_the_page(app, client, session, key):
    publish(app, TEXT_FORM)
    page = client.get("/f/contact-us")
    stamp = re.search(r'name="_ts" value="([^"]+)"', page.text).group(1)
    answer = client.post("/f/contact-us", data={"email": "mallory@example-shop.net", key: MARKUP, "_ts": stamp})
    assert answer.status_code == 422
    error = re.search(rf'id="{key}-error">([^<]*)<', answer.text)
    assert error and "Angle brackets" in error.group(1)
    assert MARKUP not in answer.text  # shown back escaped, never as markup
    assert contact_of(session, "mallory@example-shop.net") is None
    assert session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


def test_angle_brackets_in_a_text_field_are_refused_in_json(app, client, session):
    publish(app, TEXT_FORM)
    stamp = client.post("/f/contact-us/next", json={}).json["stamp"]
    answer = client.post("/f/contact-us", json={"email": "mallory@example-shop.net", "company": "Acme <b>",
                                                "team": "Growth", "_ts": stamp})
    assert answer.status_code == 422 and set(answer.json["errors"]) == {"company"}
    assert "Angle brackets" in answer.json["errors"]["company"]
    assert contact_of(session, "mallory@example-shop.net") is None


def test_angle_brackets_in_a_text_field_are_refused_in_the_preference_center(app, client, submit, deliver,
                                                                               inbox, session):
    publish(app, TEXT_FORM)
    page = client.get("/f/contact-us")
    stamp = re.search(r'name="_ts" value="([^"]+)"', page.text).group(1)
    client.post("/f/contact-us", data={"email": "ada@example-shop.net", "company": "Acme", "_ts": stamp})
    deliver(app)
    client.post(inbox.link(_mails(inbox, "ada@example-shop.net", "confirmation")[0], "confirm"))
    client.post("/preferences/new-link", data={"email": "ada@example-shop.net"})
    deliver(app)
    link = inbox.link(_mails(inbox, "ada@example-shop.net", "preferences_link")[0], "preferences")
    answer = client.post(f"{link}/profile", data={"company": MARKUP, "team": "Growth"})
    assert answer.status_code == 422
    error = re.search(r'id="[^"]*company-error">([^<]*)<', answer.text)
    assert error and "Angle brackets" in error.group(1)
    assert contact_of(session, "ada@example-shop.net").attributes == {"company": "Acme"}


# --- consent is granted, with its proof, whichever way a new address is written -----------------

def _sign_up(app, address: str, *, general_path: bool):
    """Sign a new address up the way the form view does; `general_path` opens the transaction first,
    which makes PostgreSQL take the general path too (SQLite always does)."""
    with app.test_request_context(), db.session() as session:
        version = load_form("demo")  # as the view reads it: on a connection of its own
        if general_path:
            session.execute(sa.select(1))
        assert session.in_transaction() == general_path
        visitor = signup.Visitor("198.51.100.7", "Firefox/140", "form", language="en")
        result = signup.submit(session, version, {"email": address}, visitor, app.config["SETTINGS"])
        assert result.outcome == signup.Outcome.ACCEPTED
        session.commit()
        return version.id, version.definition.consent_in("en")[1]


@pytest.mark.parametrize("path", ["one_statement", "general"])
def test_a_new_address_records_granted_consent_with_its_proof(app, path):
    if path == "one_statement" and not ON_POSTGRES:
        pytest.skip("the one-statement sign-up is PostgreSQL's; SQLite always takes the general path")
    address = f"{path.replace('_', '-')}@example-shop.net"
    version_id, text_hash = _sign_up(app, address, general_path=path == "general")
    shown = invoke(app, "contacts", "show", address)
    assert shown.exit_code == 0, shown.output
    record = json.loads(shown.output)
    assert record["status"] == "pending" and [s["status"] for s in record["subscriptions"]] == ["pending"]
    [consent] = record["consent"]
    assert consent["action"] == "granted"
    assert consent["list_id"] is not None and consent["method"] == "form"
    assert consent["form_version_id"] == version_id and consent["consent_text_hash"] == text_hash
    assert consent["ip"] == "198.51.100.7" and consent["user_agent"] == "Firefox/140"
    assert [e["kind"] for e in record["events"]] == ["submitted"]


# --- a form that allows no other site is used from no other site --------------------------------

NO_SITES = {"slug": "private", "name": "Private", "title": "Staff only", "lists": ["newsletter"],
            "fields": ["email"]}


@pytest.fixture
def private_form(app):
    version = publish(app, NO_SITES)
    assert version.definition.get("allowed_origins") in (None, [])
    return version


@pytest.mark.parametrize("origin", [OTHER_SITE, "null", "http://127.0.0.1:5001", "https://127.0.0.1:5000"])
def test_a_form_without_allowed_sites_refuses_every_other_origin(client, private_form, session, origin):
    own_stamp = client.post("/f/private/next", json={}).json["stamp"]
    answers = [
        client.get("/f/private/definition", headers={"Origin": origin}),
        client.post("/f/private/next", json={}, headers={"Origin": origin}),
        client.options("/f/private", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}),
        client.post("/f/private", json={"email": "x@example-shop.net", "_ts": own_stamp}, headers={"Origin": origin}),
    ]
    for answer in answers:
        assert answer.status_code == 403 and answer.json["status"] == "error"
        assert answer.json["error"] == "origin_not_allowed" and "form's settings" in answer.json["message"]
        assert "Access-Control-Allow-Origin" not in answer.headers
        # A shared cache must not hand this refusal to the form's own site, nor its answers to others.
        assert "origin" in answer.vary  # a header name, so in any case
    assert contact_of(session, "x@example-shop.net") is None


def test_a_form_without_allowed_sites_still_serves_its_own_site(client, private_form, session):
    own = "http://127.0.0.1:5000"  # the base URL of the test settings
    definition = client.get("/f/private/definition", headers={"Origin": own})
    assert definition.status_code == 200 and definition.headers["Access-Control-Allow-Origin"] == own
    stamp = client.post("/f/private/next", json={}, headers={"Origin": own}).json["stamp"]
    answer = client.post("/f/private", json={"email": "own@example-shop.net", "_ts": stamp}, headers={"Origin": own})
    assert answer.status_code == 200 and answer.json["status"] == "check_inbox"
    assert contact_of(session, "own@example-shop.net").status == ContactStatus.PENDING

