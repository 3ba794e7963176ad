"""Form definitions as stored by every version of the code load into the same typed definition."""

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from listserver.forms.definition import SCHEMA, DefinitionError, FieldSpec, FormDefinition, LeadMagnet
from listserver.forms.versions import PublishedForm
from listserver.models import FormVersion
from listserver.web.public.embed import public_definition
from tests.conftest import publish

STORED = Path(__file__).parent / "definitions"
# Captured from FormVersion.definition as the code before typed definitions stored them: the
# embedded demo form, a form using every feature, and a form with its own consent text.
TODAY = ("demo", "rich", "eigen")


# The specs the captured "rich" and "eigen" definitions were published from.
LISTS = [{"key": "offers", "name": "Offers", "description": "Discounts, twice a month."},
         {"key": "b2b", "name": "Partner news", "description": "For resellers."}]
RICH = {
    "slug": "rich", "name": "Rich form",
    "title": {"en": "Everything we ask", "de": "Alles, was wir fragen"},
    "intro": {"en": "A form with every feature.", "de": "Ein Formular mit allem."},
    "language": "auto",
    "lists": ["newsletter", "offers"],
    "frequency": {"en": "twice a month", "de": "zweimal im Monat"},
    "fields": [
        "email",
        {"key": "first_name", "required": True, "label": {"en": "Your first name", "de": "Ihr Vorname"}},
        {"key": "company", "required": False, "reask_after_days": 180, "rules": {"max_length": 60}},
        {"key": "role", "type": "select", "label": "Your role", "help": "Pick the closest one.",
         "rules": {"choices": [{"value": "reseller", "label": {"en": "Reseller", "de": "Händler"}, "list": "b2b"},
                               "marketing", {"value": "other"}]}},
        {"key": "topics", "type": "multi_select", "label": {"en": "Topics"}, "personal": False,
         "rules": {"choices": ["forms", "deliverability"]}},
        "country",
        {"key": "address", "required": False, "rules": {"country_field": "country"}},
        "phone",
        {"key": "birthday", "type": "date", "label": "Birthday", "reask_after_days": 365},
        {"key": "team_size", "type": "number", "label": "Team size"},
        {"key": "terms", "type": "checkbox", "label": "I have read the terms", "required": True},
    ],
    "fields_per_view": "3",
    "lead_magnet": {"title": {"en": "The checklist", "de": "Die Checkliste"}, "description": "Twelve checks.",
                    "url": "https://www.example-shop.net/checklist.pdf", "button": {"en": "Open it"}},
    "business_email_only": True,
    "allowed_origins": ["https://www.example-shop.net/", "HTTPS://Shop.Example:8443"],
    "display": {"mode": "panel", "trigger": "scroll", "value": 40, "dismiss_days": 7},
    "site_url": "https://www.example-shop.net/newsletter?src=form",
    "profile_magnets": [{"after": ["company", "role"], "title": "The reseller guide",
                         "url": "/static/demo/checklist.html"},
                        {"after": ["topics"], "title": {"en": "Topic digest"}, "description": "Monthly.",
                         "url": "https://www.example-shop.net/digest", "button": "Read"}],
    "success_message": {"en": "Thanks! Check your inbox.", "de": "Danke! Schauen Sie in Ihr Postfach."},
    "privacy_url": "https://www.example-shop.net/privacy",
    "when_complete": "nothing",
}
OWN_CONSENT = {"slug": "eigen", "name": "Eigene Einwilligung", "title": "Neuigkeiten", "language": "de",
               "lists": ["newsletter"], "fields": ["email", "last_name"],
               "consent_text": "Ich möchte den Newsletter per E-Mail erhalten."}


def stored(name: str) -> dict:
    return json.loads((STORED / f"{name}.json").read_text())


def _countries_counted(seen: dict) -> dict:
    """What the embed's JSON shows, with each list of countries (CLDR's, not the form's) as its length."""
    for shown in seen.values():
        for field in shown["fields"]:
            if field["type"] == "country":
                field["choices"] = len(field["choices"])
            for part in field["parts"] or []:
                if part.get("choices"):
                    part["choices"] = len(part["choices"])
    return seen


@pytest.mark.parametrize("name", [*TODAY, "first"])
def test_visitors_see_what_the_stored_definition_showed_before(app, name):
    """The embed's JSON, made from the typed definition, as the code before made it from the dict
    (`<name>.seen.json`, captured then): title, fields, labels, choices, consent text, lead magnet."""
    version = PublishedForm(1, 1, 1, FormDefinition.from_json(stored(name)), "")
    seen = {}
    with app.test_request_context():
        for language in ("en", "de", "ru"):
            with force_locale(language):
                seen[language] = public_definition(version, language)
    assert _countries_counted(seen) == json.loads((STORED / f"{name}.seen.json").read_text())


def test_publishing_the_same_specs_stores_the_same_definitions_with_their_schema(app, session):
    publish(app, RICH, lists=LISTS)
    publish(app, OWN_CONSENT)
    for name in TODAY:
        version = session.scalars(sa.select(FormVersion).where(FormVersion.definition["slug"].as_string() == name)
                                  ).one()
        assert version.definition == {**stored(name), "schema": SCHEMA}
    # Published again unchanged: still the one version.
    assert publish(app, RICH).number == 1


@pytest.mark.parametrize("name", TODAY)
def test_a_stored_definition_reads_and_writes_back_the_same(name):
    assert "schema" not in stored(name)
    assert FormDefinition.from_json(stored(name)).to_json() == {**stored(name), "schema": SCHEMA}
    again = FormDefinition.from_json(stored(name)).to_json()
    assert FormDefinition.from_json(again) == FormDefinition.from_json(stored(name))


def test_every_feature_of_a_stored_form_is_typed():
    rich = FormDefinition.from_json(stored("rich"))
    assert (rich.slug, rich.language, rich.fields_per_view, rich.when_complete) == ("rich", "auto", 3, "nothing")
    assert rich.title_in("de") == "Alles, was wir fragen" and rich.title_in("ru") == "Everything we ask"
    assert rich.allowed_origins == ("https://www.example-shop.net", "https://shop.example:8443")
    assert rich.business_email_only and rich.privacy_url == "https://www.example-shop.net/privacy"
    assert (rich.display.mode, rich.display.trigger, rich.display.value, rich.display.dismiss_days) == (
        "panel", "scroll", 40, 7)
    assert [l.key for l in rich.lists] == ["newsletter", "offers"]
    role = next(spec for spec in rich.fields if spec.key == "role")
    assert [(c.value, c.list) for c in role.choices] == [("reseller", "b2b"), ("marketing", None), ("other", None)]
    assert rich.chosen_lists({"role": "reseller"}) == [role.choices[0].list_id]
    address = next(spec for spec in rich.fields if spec.key == "address")
    assert address.country_field == "country" and address.choices is None
    assert [spec.key for spec in rich.first_view()] == ["email", "first_name", "company"]
    assert [spec.key for spec in rich.after_first_view()] == ["role", "topics", "country"]
    assert rich.lead_magnet.shown_in("de") == {
        "title": "Die Checkliste", "description": "Twelve checks.", "button": "Open it",
        "url": "https://www.example-shop.net/checklist.pdf"}
    assert rich.profile_magnet(0).after == ("company", "role") and rich.profile_magnet(2) is None
    shown, digest = rich.consent_in("de")
    assert shown.startswith("Ich bin einverstanden, The Monthly Letter und Offers per E-Mail zu erhalten (zweimal")
    assert len(digest) == 64


def test_a_form_without_its_own_consent_text_in_a_language_shows_its_own():
    own = FormDefinition.from_json(stored("eigen"))
    assert own.consent_in("ru")[0] == own.consent_in("de")[0] == "Ich möchte den Newsletter per E-Mail erhalten."


def test_the_first_stored_shape_loads_as_schema_one_with_what_it_showed():
    """Definitions of the first releases have no display rules, site, profile magnets, privacy
    policy, consent texts per language or re-asking: they load with what such a form showed."""
    first = FormDefinition.from_json(stored("first"))
    assert first.consent_in("de")[0] == stored("first")["consent_text"]
    assert first.display.to_json() == {"mode": "inline", "trigger": "immediate", "value": 0, "dismiss_days": 30}
    assert (first.site_url, first.profile_magnets, first.privacy_url, first.when_complete) == ("", (), None, "thanks")
    assert first.lead_magnet == LeadMagnet(title="10 % off", url="https://www.example-shop.net/code")
    assert [spec.reask_after_days for spec in first.fields] == [None, None, None]
    assert FormDefinition.from_json(first.to_json()) == first


def test_a_definition_of_a_newer_schema_or_no_definition_is_refused_clearly():
    with pytest.raises(DefinitionError, match="schema 99"):
        FormDefinition.from_json({**stored("demo"), "schema": 99})
    with pytest.raises(DefinitionError, match="fields"):
        FormDefinition.from_json({"slug": "x"})


def test_a_lead_magnet_keeps_keys_it_does_not_know():
    magnet = {"title": {"en": "Guide"}, "url": "/static/guide.pdf", "format": "PDF"}
    assert LeadMagnet.from_json(magnet).to_json() == magnet
    assert LeadMagnet.from_json(magnet).shown_in("en") == {**magnet, "title": "Guide", "description": "",
                                                             "button": ""}


def test_a_library_field_is_a_spec_too():
    spec = FieldSpec.from_json({"key": "phone", "type": "phone", "labels": {"en": "Phone"}, "help": {},
                                "rules": {"default_region": "PL"}})
    assert (spec.default_region, spec.required, spec.personal, spec.label_in("de")) == ("PL", False, True, "Phone")
