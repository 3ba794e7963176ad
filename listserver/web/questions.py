"""How a question of the field library is shown: one description for pages and the embed script."""

from __future__ import annotations

from flask_babel import gettext as _

from listserver import languages
from listserver.forms import addresses
from listserver.forms.definition import FieldSpec
from listserver.forms.fields import country_names
from listserver.forms.library import BUILTIN_FIELDS

INPUT_TYPES = {"email": "email", "phone": "tel", "date": "date"}
INPUT_MODES = {"email": "email", "phone": "tel", "number": "decimal"}
AUTOCOMPLETE = {"email": "email", "first_name": "given-name", "last_name": "family-name", "phone": "tel",
                "postal_code": "postal-code", "country": "country", "company": "organization",
                "job_title": "organization-title"}
ADDRESS_AUTOCOMPLETE = {"country": "country", "street": "street-address", "city": "address-level2",
                        "region": "address-level1", "postal_code": "postal-code"}


def _address_parts(spec: FieldSpec, language: str) -> list[dict]:
    """The inputs of an address question; its country part unless the form's country question serves."""
    labels = {"country": _("Country"), "street": _("Street and house number"), "city": _("Town or city"),
              "region": _("State, province or region"), "postal_code": _("Postal code")}
    parts = [] if spec.country_field else [{
        "key": "country", "choices": [{"value": code, "label": name} for code, name in country_names(language).items()],
        "default": spec.default_country}]
    parts += [{"key": part, "max_length": addresses.MAX_LENGTH[part]} for part in addresses.PARTS]
    return [{**part, "label": labels[part["key"]], "autocomplete": ADDRESS_AUTOCOMPLETE[part["key"]]}
            for part in parts]


def _help(spec: FieldSpec, language: str, business_only: bool) -> str:
    shown = languages.pick(spec.help, language)
    if business_only and spec.type == "email" and shown == languages.pick(BUILTIN_FIELDS["email"]["help"], language):
        # The usual help says nothing of the rule that refuses Gmail and the like: say it before the visitor types.
        return _("Use your work email address: addresses at free mail services such as Gmail or Outlook.com are "
                 "not accepted here.")
    return shown


def view(spec: FieldSpec, language: str, *, business_only: bool = False) -> dict:
    """A question as a page or the embed script shows it; no rule that only the server needs."""
    if spec.type == "country":
        choices = [{"value": code, "label": name} for code, name in country_names(language).items()]
    else:
        choices = [{"value": c.value, "label": languages.pick(c.label, language)}
                   for c in spec.choices or ()] or None
    return {
        "key": spec.key,
        "type": spec.type,
        "label": spec.label_in(language),
        "help": _help(spec, language, business_only),
        "required": spec.required,
        "max_length": spec.max_length,
        "choices": choices,
        "multiple": spec.type == "multi_select",
        "input_type": INPUT_TYPES.get(spec.type, "text"),
        "inputmode": INPUT_MODES.get(spec.type),
        "autocomplete": AUTOCOMPLETE.get(spec.key, "on"),
        "parts": _address_parts(spec, language) if spec.type == "address" else None,
    }
