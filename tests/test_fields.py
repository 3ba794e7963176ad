"""Field rules that accept real people and catch real mistakes."""

import pytest

from listserver import create_app
from listserver.settings import Settings

from listserver.fields import (
    FieldError,
    clean_answers,
    clean_country,
    clean_email,
    clean_name,
    clean_phone,
    clean_postal_code,
    suggest_email,
)


@pytest.fixture(scope="module", autouse=True)
def _request_context(tmp_path_factory):
    # Error messages are translated, so the rules run inside a request; no database is needed.
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(Settings(instance_path=str(instance), database_url="sqlite://", secret_keys=("k",)))
    with app.test_request_context():
        yield


@pytest.mark.parametrize("name", ["Zoë", "O'Reilly", "van der Berg", "Jean-Luc", "Мария", "李小龍", "Siti Nurhaliza",
                                  "陳美玲", "Ngũgĩ", "D’Angelo", "José María"])
def test_names_in_any_script(name):
    assert clean_name(name, 30) == name


@pytest.mark.parametrize("name", ["R2D2", "<b>", "Bob; DROP TABLE", "   ", "'-'", "x" * 31])
def test_names_that_are_not_names(name):
    with pytest.raises(FieldError):
        clean_name(name, 30)


def test_name_length_is_configurable():
    assert clean_name("x" * 40, 40) == "x" * 40


def test_names_are_trimmed_and_nfc_normalised():
    assert clean_name("  Zoe\u0308   Smith ", 30) == "Zoë Smith"


@pytest.mark.parametrize("address", ["first.last+tag@example-shop.net", "用户@例子.广告",
                                     "a" * 64 + "@example-shop.net", "Zoë@Example-Shop.net"])
def test_emails_people_really_have(address):
    assert clean_email(address).address == address


@pytest.mark.parametrize("address", ["a" * 65 + "@example-shop.net", "no-at-sign", "two@@example-shop.net",
                                     "space in@example-shop.net", "x@localhost"])
def test_emails_that_cannot_work(address):
    with pytest.raises(FieldError):
        clean_email(address)


def test_email_key_is_lowercase_nfc():
    assert clean_email("Zoe\u0308@Example-Shop.NET").key == "zoë@example-shop.net"


@pytest.mark.parametrize("typed, suggested", [("anna@gmial.com", "anna@gmail.com"),
                                              ("bob@hotmial.com", "bob@hotmail.com"),
                                              ("c@yahoo.con", "c@yahoo.com"), ("d@outlok.com", "d@outlook.com")])
def test_typo_domains_get_a_suggestion(typed, suggested):
    assert suggest_email(clean_email(typed)) == suggested


@pytest.mark.parametrize("address", ["a@gmail.com", "a@mail.com", "a@ymail.com", "a@example-shop.net"])
def test_real_domains_get_no_suggestion(address):
    assert suggest_email(clean_email(address)) is None


def test_business_only_rejects_free_mail():
    with pytest.raises(FieldError, match="work email"):
        clean_email("boss@gmail.com", business_only=True)
    assert clean_email("boss@acme-widgets.org", business_only=True)


@pytest.mark.parametrize("typed, e164", [("+48 601 234 567", "+48601234567"), ("+1 (415) 555-2671", "+14155552671"),
                                         ("+49 30 901820", "+4930901820")])
def test_phones_are_stored_in_e164(typed, e164):
    assert clean_phone(typed, None) == e164


def test_phone_with_default_region():
    assert clean_phone("601 234 567", "PL") == "+48601234567"


@pytest.mark.parametrize("typed", ["12345", "+48 601", "call me", "+1" + "2" * 25])
def test_phones_that_do_not_exist(typed):
    with pytest.raises(FieldError):
        clean_phone(typed, None)


@pytest.mark.parametrize("country, code", [("PL", "00-950"), ("DE", "10115"), ("GB", "SW1A 1AA"), ("US", "94103"),
                                           ("NL", "1012 JS")])
def test_postal_codes_by_country(country, code):
    assert clean_postal_code(code, country) == code


@pytest.mark.parametrize("country, code", [("PL", "00950"), ("DE", "1011"), ("US", "ABCDE")])
def test_postal_codes_that_do_not_match_the_country(country, code):
    with pytest.raises(FieldError, match="like"):
        clean_postal_code(code, country)


def test_country_codes():
    assert clean_country("pl") == "PL"
    with pytest.raises(FieldError):
        clean_country("XX")


def test_all_errors_are_reported_at_once():
    specs = [{"key": "email", "type": "email", "required": True, "rules": {}},
             {"key": "first_name", "type": "name", "required": True, "rules": {"max_length": 30}},
             {"key": "country", "type": "country", "required": False, "rules": {}},
             {"key": "postal_code", "type": "postal_code", "required": False, "rules": {"country_field": "country"}}]
    result = clean_answers(specs, {"email": "", "first_name": "1", "country": "PL", "postal_code": "1"})
    assert set(result.errors) == {"email", "first_name", "postal_code"}
    assert "00-950" in result.errors["postal_code"]
