"""Rules that guard people, each noticed by a test when it breaks (issue 18).

Mutating each of these rules once left the rest of the suite green: an address typed in
decomposed Unicode, a pending person switching topics on, angle brackets in a text field, the
consent of a new address's sign-up on each path, and a form that allows no other site. The
tests from "a person's own data" on kill mutants that mutmut found alive (bench/MUTATION.md).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata

import pytest
import sqlalchemy as sa

from listserver.accounts import users
from listserver.capture import signup
from listserver.cli import embedded
from listserver.contacts import lifecycle
from listserver.extensions import db
from listserver.forms import publishing
from listserver.models import (AuditEntry, ConsentRecord, Contact, ContactStatus, MailingList, OutboxMessage,
                               SubscriptionStatus)
from listserver.web.public.context import load_form
from tests.cli.test_cli import invoke
from tests.conftest import ON_POSTGRES, contact_of, publish, stamp
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


# --- a person's own data: all of it in the download, none of it left after erasure -------------

def _download(app, client, link, deliver, inbox, address):
    """Her data as the file she downloads through the link the data email brings."""
    client.post(f"{link}/data")
    deliver(app)
    [mail] = _mails(inbox, address, "data_export")
    inbox.messages.clear()
    return json.loads(client.post(inbox.link(mail, "data")).data)


def test_the_download_holds_her_whole_record(app, client, zoe, deliver, inbox):
    """What she would check against what she did: her profile and choices, each consent with its
    proof, her timeline and the emails sent to her, each with its date."""
    client.post(f"{zoe}/pause", data={"months": "1"}, headers={"User-Agent": "Firefox/140"},
                environ_base={"REMOTE_ADDR": "198.51.100.9"})
    client.post(f"{zoe}/topics", data={"topic": [], "frequency": "monthly"})
    client.post(f"{zoe}/profile", data={"first_name": "Zoë"})
    data = _download(app, client, zoe, deliver, inbox, COMPOSED)
    exported = dt.datetime.fromisoformat(data["exported_at"])
    profile = data["profile"]
    assert profile["email"] == COMPOSED and profile["status"] == "unsubscribed" and profile["language"] == "en"
    assert profile["frequency"] == "monthly"
    paused_until = dt.datetime.fromisoformat(profile["paused_until"])
    created, confirmed = (dt.datetime.fromisoformat(profile[k]) for k in ("created_at", "confirmed_at"))
    assert created <= confirmed <= exported
    assert profile["attributes"] == {"first_name": "Zoë"}
    assert profile["attribute_sources"]["first_name"]["source"] == "preference_center"
    [newsletter] = data["subscriptions"]
    assert newsletter["list"] == "The Monthly Letter" and newsletter["status"] == "unsubscribed"
    assert newsletter["since"] <= newsletter["confirmed_at"] <= newsletter["unsubscribed_at"]
    actions = [(c["action"], c["list"], c["method"]) for c in data["consent_records"]]
    letter = "The Monthly Letter"
    assert actions == [("granted", letter, "form"), ("confirmed", letter, "confirmation_link"),
                       ("paused", None, "preference_center"), ("withdrawn", letter, "preference_center")]
    granted, _, paused, _ = data["consent_records"]
    assert granted["form_version_id"] and re.fullmatch("[0-9a-f]{64}", granted["consent_text_sha256"])
    assert paused["ip"] == "198.51.100.9" and paused["user_agent"] == "Firefox/140"
    # "One month" is thirty days from the moment she asked.
    assert round((paused_until - dt.datetime.fromisoformat(paused["at"])) / dt.timedelta(hours=1)) == 30 * 24
    assert all(dt.datetime.fromisoformat(c["at"]) <= exported for c in data["consent_records"])
    kinds = [e["kind"] for e in data["events"]]
    assert kinds[0] == "submitted" and {"confirmed", "paused", "unsubscribed", "frequency_changed"} <= set(kinds)
    assert [e["data"] for e in data["events"] if e["kind"] == "frequency_changed"] == [{"frequency": "monthly"}]
    assert all(created <= dt.datetime.fromisoformat(e["at"]) <= exported for e in data["events"])
    sent = [(m["kind"], m["status"]) for m in data["emails_sent"]]
    assert sent[:2] == [("confirmation", "sent"), ("lead_magnet", "sent")] and sent[-1][0] == "data_export"
    assert all(m["at"] for m in data["emails_sent"])
    # ...and the download itself is on her record, so she (or an auditor) sees it was taken.
    again = _download(app, client, zoe, deliver, inbox, COMPOSED)
    assert [e["kind"] for e in again["events"]].count("data_exported") == 1


def test_a_mailbox_gets_at_most_three_links_of_each_kind_a_day(app, client, zoe, submit, deliver, inbox):
    """Whoever types her address again and again (from many networks: the page's own limit is per
    network) fills her inbox with three preference links a day, no more; her own data request still
    gets through, as it is counted on its own, and so does anybody else's link."""
    for _ in range(4):
        assert client.post("/preferences/new-link", data={"email": COMPOSED}).status_code == 200
    assert client.post(f"{zoe}/data").status_code == 303
    submit(PENDING_ADDRESS)
    client.post("/preferences/new-link", data={"email": PENDING_ADDRESS})
    deliver(app)
    assert len(_mails(inbox, COMPOSED, "preferences_link")) == 3
    assert len(_mails(inbox, COMPOSED, "data_export")) == 1
    assert len(_mails(inbox, PENDING_ADDRESS, "preferences_link")) == 1


# --- a console viewer learns no address ---------------------------------------------------------

@pytest.fixture
def viewer(make_app):
    """A console user with the viewer role, on an app whose emails stay in the embedded mailbox."""
    from tests.web.test_admin import PASSWORD, sign_in

    app = make_app(smtp_host="")
    with app.app_context(), db.session() as own:
        embedded.ensure_demo(own)
        users.create_user(own, "viewer@example-shop.net", PASSWORD, "viewer")
        own.commit()
    client = app.test_client()
    assert sign_in(client, "viewer@example-shop.net").status_code == 302
    return app, client


def test_a_viewer_sees_no_more_of_an_address_than_its_first_letters(viewer):
    """Two letters of a long name, one of a short one (two of three would nearly give it away), the
    domain's first letter and its last part: enough to tell rows apart, not to write to anyone."""
    app, client = viewer
    people = {"bob@mx.example-shop.net": "b***@m***.net", "anna@example-shop.net": "an***@e***.net",
              "jo@acme-widgets.org": "j***@a***.org"}
    for address in people:
        assert client.post("/f/demo", data={"email": address, "_ts": stamp(client)}).status_code == 200
    listing = client.get("/admin/outbox").text
    for address, masked in people.items():
        assert masked in listing and address not in listing
    assert not re.search(r"\*\*\*@\w\*\*\*\.(example-shop|acme-widgets)", listing)  # no more of the domain
    assert not re.search(r"(bo|jo|ann)\*\*\*@", listing)


def test_an_erasure_is_on_record_as_her_own_request_and_nothing_more(app, client, zoe, deliver, inbox, session):
    """The audit trail answers "who erased contact 1, and why is it gone": she did, through her link.
    It names the record by its number only, never by her address."""
    her_id = contact_of(session, COMPOSED).id
    client.post(f"{zoe}/erase")
    deliver(app)
    assert client.post(inbox.link(_mails(inbox, COMPOSED, "erase_request")[0], "erase")).status_code == 200
    entries = session.execute(sa.select(AuditEntry.actor, AuditEntry.action, AuditEntry.detail)).all()
    assert [tuple(entry) for entry in entries] == [("subscriber", "contact_erased", {"contact_id": her_id})]
    assert contact_of(session, COMPOSED) is None


def test_a_personal_page_names_a_long_address_by_its_first_letter_and_no_length(app, client, submit, deliver, inbox):
    """Whoever reads a forwarded email and opens its link learns the domain, not the name before it."""
    address = "margaretha.vandenberg@example-shop.net"
    submit(address)
    client.post("/preferences/new-link", data={"email": address})
    deliver(app)
    page = client.get(inbox.link(_mails(inbox, address, "preferences_link")[0], "preferences")).text
    assert "m••••••@example-shop.net" in page and "•••••••" not in page and "margaretha" not in page


def test_an_email_that_is_not_in_the_outbox_is_not_found_in_the_console(viewer):
    _, client = viewer
    for url in ("/admin/outbox/999999", "/admin/outbox/999999/html"):
        assert client.get(url).status_code == 404



def test_revoking_her_links_is_on_her_own_timeline(app, client, zoe):
    """Asked "did you stop my old links?", the marketer shows it in her record, with its date."""
    assert invoke(app, "contacts", "revoke-links", COMPOSED).exit_code == 0
    shown = invoke(app, "contacts", "show", COMPOSED)
    assert shown.exit_code == 0, shown.output
    [revoked] = [e for e in json.loads(shown.output)["events"] if e["kind"] == "links_revoked"]
    assert revoked["at"]


# --- what she changes in her profile is what changes ---------------------------------------------

def _confirmed_from(app, client, deliver, inbox, form: dict, address: str, **answers) -> str:
    """Signed up on `form` with `answers` and confirmed; her preference link."""
    publish(app, form)
    slug = form["slug"]
    client.post(f"/f/{slug}", data={"email": address, **answers, "_ts": stamp(client, slug)})
    deliver(app)
    client.post(inbox.link(_mails(inbox, address, "confirmation")[0], "confirm"))
    client.post("/preferences/new-link", data={"email": address})
    deliver(app)
    return inbox.link(_mails(inbox, address, "preferences_link")[0], "preferences")


def test_a_profile_save_changes_only_what_she_changed_and_says_so(app, client, deliver, inbox, session):
    """Answers she leaves as they were keep where they came from (the form she filled in); the one she
    changes is hers from now on, dated, and her timeline names that one alone."""
    address = "ada@example-shop.net"
    link = _confirmed_from(app, client, deliver, inbox, TEXT_FORM, address, company="Acme", job_title="CTO")
    before = contact_of(session, address).attribute_sources["company"]
    saved = client.post(f"{link}/profile", data={"company": "Acme", "job_title": "CEO"})
    assert saved.status_code == 303
    record = json.loads(invoke(app, "contacts", "show", address).output)
    assert record["attributes"] == {"company": "Acme", "job_title": "CEO"}
    assert record["attribute_sources"]["company"] == before and "form_version_id" in before
    changed = record["attribute_sources"]["job_title"]
    assert changed["source"] == "preference_center"
    assert dt.datetime.fromisoformat(changed["at"]) >= dt.datetime.fromisoformat(record["confirmed_at"])
    [event] = [e for e in record["events"] if e["kind"] == "profile_updated"]
    assert event["data"] == {"fields": ["job_title"], "source": "preference_center"}


def test_she_may_clear_an_answer_the_form_required(app, client, deliver, inbox, session):
    """A question the form made her answer is hers to take back afterwards."""
    form = {**TEXT_FORM, "slug": "quote", "fields": ["email", {"key": "company", "required": True}]}
    link = _confirmed_from(app, client, deliver, inbox, form, "ada@example-shop.net", company="Acme")
    assert client.post(f"{link}/profile", data={"company": ""}).status_code == 303
    assert contact_of(session, "ada@example-shop.net").attributes == {}


# --- her page shows what she is on, every list she is on, and what we hold about her ------------

def _checkbox(page: str, list_id: int) -> str | None:
    found = re.search(rf'<input type="checkbox" name="topic" value="{list_id}"[^>]*>', page)
    return found.group(0) if found else None


def test_her_page_ticks_exactly_the_lists_she_is_on_and_shows_every_one_of_them(app, client, deliver, inbox,
                                                                                   session):
    """A private list she is on is there to leave; one she is not on stays unseen; a public one she
    is not on is offered unticked. Saving the page as shown changes nothing."""
    lists = [{"key": "members", "name": "Members", "public": False},
             {"key": "staff", "name": "Staff notes", "public": False},
             {"key": "offers", "name": "Offers", "description": "Discounts, twice a month."}]
    form = {"slug": "members", "name": "Members", "title": "Join", "lists": ["newsletter", "members"],
            "fields": ["email"]}
    with app.app_context(), db.session() as own:
        for spec in lists:
            publishing.upsert_list(own, spec)
        own.commit()
    link = _confirmed_from(app, client, deliver, inbox, form, "ada@example-shop.net")
    ids = dict(session.execute(sa.select(MailingList.key, MailingList.id)).all())
    page = client.get(link).text
    assert all("checked" in _checkbox(page, ids[key]) for key in ("newsletter", "members"))
    assert "checked" not in _checkbox(page, ids["offers"]) and _checkbox(page, ids["staff"]) is None
    assert 'name="email"' not in page  # her address is not a profile answer to edit here
    ticked = re.findall(r'name="topic" value="(\d+)" checked', page)
    client.post(f"{link}/topics", data={"topic": ticked, "frequency": "all"})
    person = contact_of(session, "ada@example-shop.net")
    assert {s.mailing_list.key: s.status for s in person.subscriptions} == {
        "newsletter": SubscriptionStatus.ACTIVE, "members": SubscriptionStatus.ACTIVE}


def test_an_answer_her_form_no_longer_asks_is_still_hers_to_see_and_clear(app, client, deliver, inbox, session):
    """The form dropped the job title since she gave hers: her page still shows it, and lets it go."""
    link = _confirmed_from(app, client, deliver, inbox, TEXT_FORM, "ada@example-shop.net", company="Acme",
                           job_title="CTO")
    publish(app, {**TEXT_FORM, "fields": ["email", {"key": "company", "required": False}]})
    page = client.get(link).text
    assert re.search(r'<input[^>]*name="job_title"[^>]*value="CTO"', page)
    assert len(re.findall(r'<input[^>]*name="company"', page)) == 1
    assert client.post(f"{link}/profile", data={"company": "Acme", "job_title": ""}).status_code == 303
    assert contact_of(session, "ada@example-shop.net").attributes == {"company": "Acme"}


def test_her_fourth_data_link_of_the_day_is_refused_and_she_is_told_and_tomorrow_it_comes(app, client, zoe, deliver,
                                                                                            inbox, session):
    """The page tells her when the day's links are used up; a day later she gets one again. Her
    timeline shows each link she asked for."""
    answers = [client.post(f"{zoe}/data").location for _ in range(4)]
    assert [a.rsplit("done=", 1)[1] for a in answers] == ["data", "data", "data", "limit"]
    deliver(app)
    assert len(_mails(inbox, COMPOSED, "data_export")) == 3
    for message in session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "data_export")).all():
        message.created_at -= dt.timedelta(hours=25)  # as if asked yesterday
    session.commit()
    assert client.post(f"{zoe}/data").location.endswith("done=data")
    deliver(app)
    assert len(_mails(inbox, COMPOSED, "data_export")) == 4
    record = json.loads(invoke(app, "contacts", "show", COMPOSED).output)
    asked = [e["data"] for e in record["events"] if e["kind"] == "link_requested"]
    assert asked == [{"email": "data_export"}] * 4
