"""How a question of the field library is shown: one description for pages and the embed script."""

from __future__ import annotations

from listserver import languages
from listserver.fields import country_names

INPUT_TYPES = {"email": "email", "phone": "tel", "date": "date"}
INPUT_MODES = {"email": "email", "phone": "tel", "number": "decimal"}
AUTOCOMPLETE = {"email": "email", "first_name": "given-name", "last_name": "family-name", "phone": "tel",
                "postal_code": "postal-code", "country": "country", "company": "organization",
                "job_title": "organization-title"}


def view(spec: dict, language: str) -> dict:
    """A question as a page or the embed script shows it; no rule that only the server needs."""
    rules = spec.get("rules", {})
    if spec["type"] == "country":
        choices = [{"value": code, "label": name} for code, name in country_names(language).items()]
    else:
        choices = [{"value": c["value"], "label": languages.pick(c["label"], language)}
                   for c in rules.get("choices", [])] or None
    return {
        "key": spec["key"],
        "type": spec["type"],
        "label": languages.pick(spec["labels"], language) or spec["key"],
        "help": languages.pick(spec["help"], language),
        "required": spec["required"],
        "max_length": rules.get("max_length"),
        "choices": choices,
        "multiple": spec["type"] == "multi_select",
        "input_type": INPUT_TYPES.get(spec["type"], "text"),
        "inputmode": INPUT_MODES.get(spec["type"]),
        "autocomplete": AUTOCOMPLETE.get(spec["key"], "on"),
    }
