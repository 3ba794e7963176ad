"""The postal address question: parts checked against each country's format (Google's address
data), on the hosted form without JavaScript, in the iframe, through the embed's JSON, in
profiling and in the preference center. The browser side is in test_browser_embed.py."""

from __future__ import annotations

import dataclasses
import re

import pytest

from listserver.contacts.links import Links
from listserver.forms.definition import FieldSpec
from listserver.forms.fields import clean_answers
from tests.conftest import contact_in, contact_of, publish, stamp
from tests.test_browser_embed import article, forgive

SHOP = "https://shop.example-shop.net"
LISTS = [{"key": "catalogue", "name": "The paper catalogue"}]
FORM = {"slug": "catalogue", "name": "Catalogue", "title": "Get the paper catalogue", "lists": ["catalogue"],
        "allowed_origins": [SHOP], "language": "auto", "fields": ["email", {"key": "address", "required": True}]}
ADDRESS = {"country": "US", "street": "1600 Amphitheatre Pkwy", "city": "Mountain View", "region": "California",
           "postal_code": "94043"}
SPEC = [FieldSpec.from_json({"key": "address", "type": "address", "required": True, "rules": {}})]


@pytest.fixture
def catalogue(app):
    return publish(app, FORM, LISTS)


def form_post(address: dict) -> dict:
    """An address as a browser without JavaScript posts it: one input per part."""
    return {f"address.{part}": value for part, value in address.items()}


@pytest.mark.parametrize("typed, stored", [
    (ADDRESS, {**ADDRESS, "region": "CA"}),
    ({"country": "PL", "street": "ul. Marszałkowska 1", "city": "Warszawa", "postal_code": "00-950"},
     {"country": "PL", "street": "ul. Marszałkowska 1", "city": "Warszawa", "postal_code": "00-950"}),
    ({"country": "GB", "street": "10 Downing Street", "city": "London", "postal_code": "sw1a  2aa"},
     {"country": "GB", "street": "10 Downing Street", "city": "London", "postal_code": "SW1A 2AA"}),
    ({"country": "IE", "street": "1 Main Street", "city": "Dublin"},  # Ireland: no postal code needed
     {"country": "IE", "street": "1 Main Street", "city": "Dublin"}),
])
def test_real_addresses_are_kept_as_the_person_wrote_them(app, typed, stored):
    with app.test_request_context():
        assert clean_answers(SPEC, {"address": typed}).values == {"address": stored}


@pytest.mark.parametrize("typed, errors", [
    ({**ADDRESS, "postal_code": "9404"}, {"postal_code": "Enter a postal code like 95014."}),
    ({**ADDRESS, "city": ""}, {"city": "Enter the town or city."}),
    ({**ADDRESS, "region": ""}, {"region": re.compile("state, province or region")}),
    ({**ADDRESS, "region": "Bavaria"}, {"region": re.compile("e.g. Alabama or AL")}),
    ({**ADDRESS, "region": "NY"}, {"postal_code": re.compile("not in the region")}),  # 94043 is Californian
    ({"country": "PL", "street": "", "city": "Warszawa", "postal_code": "00950"},
     {"street": "Enter the street and house number.", "postal_code": "Enter a postal code like 00-950."}),
    ({**ADDRESS, "country": "XX"}, {"country": "Choose a country from the list."}),
    ({**ADDRESS, "city": "<script>"}, {"city": re.compile("Angle brackets")}),
])
def test_each_wrong_part_gets_its_own_message(app, typed, errors):
    with app.test_request_context():
        found = clean_answers(SPEC, {"address": typed}).errors["address"]
    assert set(found) == set(errors)
    for part, message in errors.items():
        assert re.search(message, found[part]) if isinstance(message, re.Pattern) else found[part] == message


def test_an_address_left_blank_is_required_or_skipped(app):
    with app.test_request_context():
        assert clean_answers(SPEC, {"address": {"country": "US"}}).errors == {"address": "This field is required."}
        optional = [dataclasses.replace(SPEC[0], required=False)]
        assert clean_answers(optional, {"address": {"country": "US", "street": " "}}).values == {}
        assert clean_answers(SPEC, {"address": "1 Main St"}).errors == {"address": "Enter text here."}


def test_the_country_can_come_from_the_forms_own_country_question(app):
    spec = [FieldSpec.from_json({"key": "country", "type": "country", "required": True, "rules": {}}),
            FieldSpec.from_json({"key": "address", "type": "address", "required": True,
                                 "rules": {"country_field": "country"}})]
    parts = {"street": "Unter den Linden 1", "city": "Berlin", "postal_code": "1011"}
    with app.test_request_context():
        assert clean_answers(spec, {"country": "DE", "address": parts}).errors == {
            "address": {"postal_code": "Enter a postal code like 26133."}}
        assert clean_answers(spec, {"address": parts}).errors == {
            "address": "Choose your country first: the address is checked against its format.",
            "country": "This field is required."}
        assert clean_answers(spec, {"country": "DE", "address": {**parts, "postal_code": "10117"}}).values == {
            "country": "DE", "address": {"country": "DE", "street": "Unter den Linden 1", "city": "Berlin",
                                         "postal_code": "10117"}}


def test_hosted_form_without_javascript_asks_part_by_part_and_keeps_what_was_typed(client, catalogue, session):
    page = client.get("/f/catalogue")
    assert "<legend>Postal address</legend>" in page.text
    assert "street and number, town and postal code" in page.text
    for part, label in [("country", "Country"), ("street", "Street and house number"), ("city", "Town or city"),
                        ("region", "State, province or region"), ("postal_code", "Postal code")]:
        assert f'<label for="f-address-{part}">{label}</label>' in page.text
        assert f'name="address.{part}"' in page.text
    assert 'autocomplete="street-address"' in page.text

    wrong = client.post("/f/catalogue", data={"email": "ines@example-shop.net", "_ts": stamp(client, "catalogue"),
                                             **form_post({**ADDRESS, "postal_code": "9404"})})
    assert wrong.status_code == 422
    assert re.search(r'id="f-address-postal_code"[^>]*aria-invalid="true" aria-describedby="f-address-postal_code-'
                     r'error"', wrong.text)
    assert '<p class="error" id="f-address-postal_code-error">Enter a postal code like 95014.</p>' in wrong.text
    assert 'value="Mountain View"' in wrong.text and 'value="1600 Amphitheatre Pkwy"' in wrong.text
    assert '<option value="US" selected>' in wrong.text
    assert contact_of(session, "ines@example-shop.net") is None

    right = client.post("/f/catalogue", data={"email": "ines@example-shop.net", "_ts": stamp(client, "catalogue"),
                                             **form_post(ADDRESS)})
    assert right.status_code == 200 and "Check your inbox" in right.text
    assert contact_of(session, "ines@example-shop.net").attributes == {"address": {**ADDRESS, "region": "CA"}}


def test_the_iframe_asks_the_same(client, catalogue):
    frame = client.get("/f/catalogue/frame")
    assert frame.status_code == 200
    assert 'name="address.postal_code"' in frame.text and "<legend>Postal address</legend>" in frame.text


def test_embed_definition_describes_the_parts_and_json_errors_name_them(client, catalogue, session):
    definition = client.get("/f/catalogue/definition?lang=de", headers={"Origin": SHOP}).json
    [address] = [f for f in definition["fields"] if f["key"] == "address"]
    assert [p["key"] for p in address["parts"]] == ["country", "street", "city", "region", "postal_code"]
    assert {"value": "DE", "label": "Deutschland"} in address["parts"][0]["choices"]
    assert address["parts"][4] == {"key": "postal_code", "label": "Postleitzahl", "autocomplete": "postal-code",
                                   "max_length": 32}

    stamp_ = client.post("/f/catalogue/next", json={}, headers={"Origin": SHOP}).json["stamp"]
    answer = client.post("/f/catalogue", headers={"Origin": SHOP}, json={
        "_ts": stamp_, "email": "jun@example-shop.net", "address": {**ADDRESS, "city": "", "postal_code": "x"}})
    assert answer.status_code == 422
    assert answer.json["errors"] == {"address": {"city": "Enter the town or city.",
                                                 "postal_code": "Enter a postal code like 95014."}}
    assert contact_of(session, "jun@example-shop.net") is None


def test_profiling_asks_for_the_address_later(app, client, session):
    publish(app, {**FORM, "fields": ["email", "first_name", {"key": "address", "required": False}],
                  "fields_per_view": 2}, LISTS)
    client.post("/f/catalogue", data={"email": "ada@example-shop.net", "first_name": "Ada",
                                      "_ts": stamp(client, "catalogue")})
    contact = contact_of(session, "ada@example-shop.net")
    token = Links(app.config["SETTINGS"]).profile_token(contact, proven=True)

    page = client.get(f"/f/catalogue?ls_pt={token}")
    assert 'name="address.street"' in page.text and 'name="email"' not in page.text
    wrong = client.post("/f/catalogue", data={"profile_token": token, "_ts": stamp(client, "catalogue"),
                                              **form_post({**ADDRESS, "region": "Bavaria"})})
    assert wrong.status_code == 422 and "We do not know this region in this country" in wrong.text
    saved = client.post("/f/catalogue", data={"profile_token": token, "_ts": stamp(client, "catalogue"),
                                              **form_post(ADDRESS)})
    assert saved.status_code == 200 and "Your answers are saved" in saved.text
    assert contact_of(session, "ada@example-shop.net").attributes == {
        "first_name": "Ada", "address": {**ADDRESS, "region": "CA"}}


def test_preference_center_shows_and_changes_the_address(app, client, catalogue, session):
    client.post("/f/catalogue", data={"email": "ines@example-shop.net", "_ts": stamp(client, "catalogue"),
                                      **form_post(ADDRESS)})
    link = Links(app.config["SETTINGS"]).preferences(contact_of(session, "ines@example-shop.net"))
    path = link.split("5000", 1)[1]
    page = client.get(path)
    assert 'value="Mountain View"' in page.text and '<option value="US" selected>' in page.text

    moved = {"country": "PL", "street": "ul. Długa 5", "city": "Gdańsk", "postal_code": "80-827"}
    bad = client.post(path + "/profile", data=form_post({**moved, "postal_code": "80827"}))
    assert bad.status_code == 422 and "Enter a postal code like 00-950." in bad.text
    assert 'value="ul. Długa 5"' in bad.text
    client.post(path + "/profile", data=form_post(moved))
    assert contact_of(session, "ines@example-shop.net").attributes == {"address": moved}


@pytest.mark.browser
def test_the_embed_script_asks_part_by_part_and_points_at_the_wrong_part(app, live_server, site, phone):
    from tests.chromium import expect

    live_app, base = live_server
    publish(app, {**FORM, "language": "en", "allowed_origins": [site.origin]}, LISTS)
    page = phone.page
    page.goto(site.add("/shop", article(base, "catalogue", title="Our shop")))

    address = page.get_by_role("group", name="Postal address")
    expect(address).to_have_accessible_description(re.compile("street and number, town and postal code"))
    page.get_by_label("Email address").fill("kai@example-shop.net")
    address.get_by_label("Country").select_option("US")
    address.get_by_label("Street and house number").fill("1600 Amphitheatre Pkwy")
    address.get_by_label("Town or city").fill("Mountain View")
    address.get_by_label("State, province or region").fill("California")
    postal_code = address.get_by_label("Postal code")
    postal_code.fill("9404")
    phone.assert_fits_the_screen()
    page.get_by_role("button", name="Sign up").click()

    # The wrong part, not the whole address: marked, explained, announced, and the cursor is there.
    expect(postal_code).to_have_attribute("aria-invalid", "true")
    expect(postal_code).to_have_accessible_description("Enter a postal code like 95014.")
    expect(postal_code).to_be_focused()
    expect(address.get_by_label("Town or city")).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_have_text(re.compile("Postal code: Enter a postal code like 95014"))
    assert contact_in(live_app, "kai@example-shop.net") is None

    postal_code.fill("94043")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("we have sent you an email")).to_be_visible()
    assert contact_in(live_app, "kai@example-shop.net").attributes == {"address": {**ADDRESS, "region": "CA"}}
    forgive(phone, r"^422 for .*/f/catalogue$")
