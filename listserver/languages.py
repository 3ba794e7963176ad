"""The languages listserver speaks: which one a visitor gets, and texts given in several of them.

To add a language: add its code to LANGUAGES, run `make translations NEW=xx` (see the Makefile),
translate every message of listserver/translations/xx/LC_MESSAGES/messages.po and run
`make translations` again; tests/test_languages.py then checks the new language like the others.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path

from babel import Locale
from babel.support import NullTranslations, Translations

# Codes as Babel spells them; zh_Hant is Traditional Chinese as written in Taiwan.
LANGUAGES = ("en", "de", "ru", "id", "zh_Hant")
DEFAULT = "en"
AUTO = "auto"  # a form setting: the visitor's browser language, when we ship it
TRANSLATIONS = Path(__file__).parent / "translations"

_TRADITIONAL_REGIONS = {"tw", "hk", "mo"}
_ALIASES = {"in": "id"}  # the old ISO 639 code for Indonesian, still sent by some Android browsers


def _shipped(tag: str, *, exact: bool) -> str | None:
    """The shipped language a BCP 47 / POSIX tag asks for; with exact=False any Chinese is zh_Hant."""
    parts = tag.replace("_", "-").lower().split("-")
    primary = _ALIASES.get(parts[0], parts[0])
    if primary == "zh":
        rest = set(parts[1:])
        if not rest or "hant" in rest or rest & _TRADITIONAL_REGIONS or not exact:
            return "zh_Hant"
        return None
    return primary if primary in LANGUAGES else None


def normalize(code: str | None) -> str | None:
    """A shipped language code for `de-DE`, `zh-TW`, `zh_Hant`…; None when we do not ship it."""
    return _shipped(code, exact=True) if isinstance(code, str) and code.strip() else None


def negotiate(accepted: Iterable[str]) -> str | None:
    """The best shipped language for a browser's languages, most wanted first.

    A reader of Simplified Chinese gets Traditional Chinese only if no other language they
    accept is shipped: it is easier for them than English, but not what they asked for.
    """
    accepted = [tag for tag in accepted if isinstance(tag, str) and tag.strip() and tag != "*"]
    for exact in (True, False):
        for tag in accepted:
            found = _shipped(tag, exact=exact)
            if found:
                return found
    return None


def choose(setting: str | None, *, requested: str | None = None, accepted: Iterable[str] = ()) -> str:
    """The language a form is shown in: its fixed language, or for "auto" forms the ?lang= the
    page was asked for, else the browser's, else English."""
    if setting != AUTO:
        return normalize(setting) or DEFAULT
    return normalize(requested) or negotiate(accepted) or DEFAULT


def pick(texts: Mapping[str, str] | str | None, language: str | None) -> str:
    """One text from a {language: text} mapping: the language asked for, else English, else any."""
    if texts is None:
        return ""
    if isinstance(texts, str):
        return texts
    for code in (language, DEFAULT):
        if code and texts.get(code):
            return str(texts[code])
    return next((str(text) for text in texts.values() if text), "")


def html_lang(language: str) -> str:
    """The BCP 47 tag for <html lang>: zh_Hant is zh-Hant."""
    return language.replace("_", "-")


def direction(language: str) -> str:
    try:
        rtl = Locale.parse(language).character_order == "right-to-left"
    except (ValueError, LookupError):
        rtl = False
    return "rtl" if rtl else "ltr"


@functools.cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog of a language, for texts made outside a request (form definitions)."""
    return Translations.load(str(TRANSLATIONS), [language])


def gettext(language: str, message: str, **variables) -> str:
    """`message` translated into `language`, with %(name)s placeholders filled in."""
    text = translations(language).gettext(message)
    return text % variables if variables else text


def in_every_language(message: str, **variables) -> dict[str, str]:
    """{language: text} for every shipped language, as form definitions store labels and help."""
    return {language: gettext(language, message, **variables) for language in LANGUAGES}


def N_(message: str) -> str:  # the name pybabel extracts by default
    """Marks a message for the catalogs where it is translated later, by `gettext` above."""
    return message
