"""The field library: the built-in fields every form can ask for, and the types a form's own fields can have."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.forms.definition import FieldSpec
from listserver.languages import N_, in_every_language
from listserver.models import Field

# Defaults for the library; a form spec may add its own fields or override labels and rules.
# Labels and help are translated in the catalogs (listserver/translations) like every other text.
BUILTIN_FIELDS: dict[str, dict] = {
    "email": {
        "type": "email",
        "labels": in_every_language(N_("Email address")),
        "help": in_every_language(N_("We send one email to this address to confirm it is yours.")),
        "rules": {"max_length": 254},
    },
    "first_name": {
        "type": "name",
        "labels": in_every_language(N_("First name")),
        "help": in_every_language(N_("So we know how to greet you. Any alphabet is fine.")),
        "rules": {"max_length": 30},
    },
    "last_name": {
        "type": "name",
        "labels": in_every_language(N_("Last name")),
        "help": in_every_language(N_("Spaces, hyphens and apostrophes are fine, e.g. O'Reilly.")),
        "rules": {"max_length": 30},
    },
    "phone": {
        "type": "phone",
        "labels": in_every_language(N_("Phone number")),
        "help": in_every_language(N_("With the country code, e.g. +48 601 234 567.")),
        "rules": {},
    },
    "country": {
        "type": "country",
        "labels": in_every_language(N_("Country")),
        "help": in_every_language(N_("Where you live or work.")),
        "rules": {},
        "personal": False,
    },
    "postal_code": {
        "type": "postal_code",
        "labels": in_every_language(N_("Postal code")),
        "help": in_every_language(N_("As written on letters in your country.")),
        "rules": {"country_field": "country"},
    },
    "address": {
        "type": "address",
        "labels": in_every_language(N_("Postal address")),
        "help": in_every_language(N_("As on letters to you: street and number, town and postal code, and the state "
                                     "or province where your country uses one.")),
        "rules": {},
    },
    "company": {
        "type": "text",
        "labels": in_every_language(N_("Company")),
        "help": in_every_language(N_("The organisation you work for.")),
        "rules": {"max_length": 100},
    },
    "job_title": {
        "type": "text",
        "labels": in_every_language(N_("Job title")),
        "help": in_every_language(N_("Your role, e.g. Marketing manager.")),
        "rules": {"max_length": 100},
        "personal": False,
    },
}

TYPES = ("email", "name", "text", "phone", "country", "postal_code", "address", "date", "number",
         "select", "multi_select", "checkbox")


def builtin_spec(key: str) -> FieldSpec:
    """A built-in field as an optional question, where no form says how to ask it (the preference center)."""
    return FieldSpec.from_json({"key": key, "required": False, **BUILTIN_FIELDS[key]})


def ensure_field_library(session: so.Session) -> None:
    """Add the built-in fields that are not in the library yet."""
    known = {field.key: field for field in session.scalars(sa.select(Field).where(Field.key.in_(BUILTIN_FIELDS)))}
    for key, spec in BUILTIN_FIELDS.items():
        field = known.get(key)
        if field is None:
            session.add(Field(key=key, type=spec["type"], labels=spec["labels"], help=spec["help"],
                              rules=spec["rules"], personal=spec.get("personal", True)))
            continue
        # A library made before a language shipped gets that language, keeping what it says already.
        labels, help_ = {**spec["labels"], **field.labels}, {**spec["help"], **field.help}
        if labels != field.labels or help_ != field.help:
            field.labels, field.help = labels, help_
    session.flush()
