"""Names and addresses through the forms: links refused as names, a work address asked for where
only one will do, and likely fake names kept but marked for the marketer (never refused)."""

from __future__ import annotations

import json

import pytest

from listserver.contacts.links import Links
from tests.cli.test_cli import invoke
from tests.conftest import contact_of, publish, stamp

SHOP = "https://shop.example-shop.net"
LISTS = [{"key": "letters", "name": "Letters"}]
PEOPLE = {"slug": "people", "name": "People", "title": "Letters", "lists": ["letters"], "allowed_origins": [SHOP],
          "fields": ["email", {"key": "first_name", "required": False}, {"key": "last_name", "required": False}]}
# The name questions come one at a time after the address: answered through profiling.
LATER = {**PEOPLE, "slug": "later", "fields_per_view": 1}
WORK_HELP = "Use your work email address: addresses at free mail services such as Gmail or Outlook.com"


@pytest.fixture
def people(app):
    publish(app, LATER, LISTS)
    return publish(app, PEOPLE, LISTS)


def sign_up(client, email: str, slug: str = "people", **names):
    return client.post(f"/f/{slug}", data={"email": email, "_ts": stamp(client, slug), **names})


@pytest.mark.parametrize("name", ["www.cheap-pills.example", "Claim prize at evil.example", "a@b.c"])
def test_a_link_typed_as_a_name_is_refused_next_to_the_field_and_nobody_is_mailed(app, client, people, session,
                                                                                  deliver, inbox, name):
    page = sign_up(client, "target@example-shop.net", first_name=name, last_name="Smith")
    assert page.status_code == 422
    assert ('<p class="error" id="first_name-error">A name cannot contain a web address, a domain or an email '
            'address.</p>') in page.text
    assert contact_of(session, "target@example-shop.net") is None
    deliver(app)
    assert inbox.to("target@example-shop.net") == []

    stamp_ = client.post("/f/people/next", json={}, headers={"Origin": SHOP}).json["stamp"]
    answer = client.post("/f/people", headers={"Origin": SHOP, "Accept-Language": "de"},
                         json={"_ts": stamp_, "email": "target@example-shop.net", "last_name": name})
    assert answer.status_code == 422 and set(answer.json["errors"]) == {"last_name"}


def test_a_business_only_form_asks_for_a_work_address_before_the_visitor_types(app, client, session):
    publish(app, {**PEOPLE, "slug": "b2b", "business_email_only": True}, LISTS)
    publish(app, {**PEOPLE, "slug": "anyone"}, LISTS)
    for path in ("/f/b2b", "/f/b2b/frame"):
        assert WORK_HELP in client.get(path).text
    definition = client.get("/f/b2b/definition", headers={"Origin": SHOP}).json
    [email] = [f for f in definition["fields"] if f["key"] == "email"]
    assert email["help"].startswith(WORK_HELP)
    # Other forms keep the usual help.
    assert WORK_HELP not in client.get("/f/anyone").text
    assert "We send one email to this address" in client.get("/f/anyone").text
    refused = sign_up(client, "boss@gmail.com", slug="b2b")
    assert refused.status_code == 422 and "Please use your work email address" in refused.text


@pytest.mark.parametrize("first, last", [("Mickey", "Mouse"), ("asdf", "qwerty"), ("test", "test"), ("aaa", ""),
                                         ("Qwerty", "Kowalski"), ("John", "Doe")])
def test_a_likely_fake_name_is_taken_mailed_and_marked(app, client, people, session, deliver, inbox, first, last):
    # Never a refusal: a real person may be called Test; the marketer filters on the mark later.
    address = f"{first.lower()}.{last.lower() or 'x'}@example-shop.net"
    page = sign_up(client, address, first_name=first, last_name=last)
    assert page.status_code == 200 and "Check your inbox" in page.text
    deliver(app)
    [mail] = inbox.to(address)
    assert f"Hello {first}," in mail.get_body(preferencelist=("plain",)).get_content()
    assert contact_of(session, address).quality_flags == ["fake_name"]


@pytest.mark.parametrize("first, last", [("Zoë", "Smith"), ("Na", "Eun-ji"), ("Mario", "Rossi"), ("Gal·la", "Puig"),
                                         ("J.R.R.", "Tolkien"), ("李", "小龍"), ("Ng", "Wei")])
def test_real_names_are_not_marked(client, people, session, first, last):
    address = "real.person@example-shop.net"
    assert sign_up(client, address, first_name=first, last_name=last).status_code == 200
    contact = contact_of(session, address)
    assert contact.attributes == {"first_name": first, "last_name": last}
    assert contact.quality_flags == []


def test_the_mark_follows_the_names_as_they_change(app, client, people, session, deliver, inbox):
    address = "mark@example-shop.net"
    sign_up(client, address, first_name="Mickey", last_name="Mouse")
    assert contact_of(session, address).quality_flags == ["fake_name"]
    # Still unconfirmed, the person signs up again with their real name: the mark goes with the old one.
    sign_up(client, address, first_name="Mark", last_name="Mäuser")
    assert contact_of(session, address).quality_flags == []

    # Confirmed, in the preference center: a joke name is marked again, and unmarked when corrected.
    deliver(app)
    client.post(inbox.link(inbox.to(address)[-1], "confirm"))
    path = Links(app.config["SETTINGS"]).preferences(contact_of(session, address)).split("5000", 1)[1]
    assert client.post(path + "/profile", data={"first_name": "test", "last_name": "test"}).status_code == 303
    assert contact_of(session, address).quality_flags == ["fake_name"]
    client.post(path + "/profile", data={"first_name": "Mark", "last_name": "Mäuser"})
    assert contact_of(session, address).quality_flags == []


def test_names_answered_later_through_profiling_are_marked_too(app, client, people, session):
    address = "later@example-shop.net"
    assert sign_up(client, address, slug="later").status_code == 200
    assert contact_of(session, address).quality_flags == []
    token = Links(app.config["SETTINGS"]).profile_token(contact_of(session, address), proven=True)
    saved = client.post("/f/later", data={"profile_token": token, "_ts": stamp(client, "later"),
                                          "first_name": "Donald"})
    assert saved.status_code == 200
    assert contact_of(session, address).quality_flags == []
    client.post("/f/later", data={"profile_token": token, "_ts": stamp(client, "later"), "last_name": "Duck"})
    contact = contact_of(session, address)
    assert contact.attributes == {"first_name": "Donald", "last_name": "Duck"}
    assert contact.quality_flags == ["fake_name"]


def test_contacts_show_prints_the_marks(app, client, people):
    sign_up(client, "asdf@example-shop.net", first_name="asdf", last_name="qwerty")
    result = invoke(app, "contacts", "show", "asdf@example-shop.net")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["quality_flags"] == ["fake_name"]
    assert shown["attributes"] == {"first_name": "asdf", "last_name": "qwerty"}  # kept as typed
