"""Forms and lists as data: create them from a spec and publish immutable versions of them."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import sqlalchemy as sa
import sqlalchemy.orm as so
from babel.lists import format_list

from listserver import languages
from listserver.errors import Invalid
from listserver.forms.definition import Choice, DisplayRules, FieldSpec, FormDefinition, LeadMagnet, ListRef
from listserver.forms.library import TYPES, ensure_field_library
from listserver.forms.versions import current_version
from listserver.inputs import whole_number
from listserver.languages import AUTO, LANGUAGES, N_
from listserver.models import Field, Form, FormVersion, MailingList

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")

# Frozen into every form version in every shipped language, so a proof names the exact words.
DEFAULT_CONSENT = N_(
    "I agree to receive %(lists)s by email. You can unsubscribe with one click in "
    "every email. We keep your data only for this purpose and never share or sell it."
)
DEFAULT_CONSENT_WITH_FREQUENCY = N_(
    "I agree to receive %(lists)s by email (%(frequency)s). You can unsubscribe with one click in "
    "every email. We keep your data only for this purpose and never share or sell it."
)
# Title, intro, success message and these lead magnet texts may be a string or a {language: text} mapping.
LEAD_MAGNET_LOCALIZABLE = LeadMagnet.LOCALIZABLE


class SpecError(Invalid):
    """A list or form spec is not usable; the message names the part."""

    code = "invalid_spec"


def upsert_list(session: so.Session, spec: Mapping) -> MailingList:
    key = spec.get("key")
    if not isinstance(key, str) or not SLUG.fullmatch(key):
        raise SpecError("list 'key' must be lowercase letters, digits and hyphens")
    mailing_list = session.scalar(sa.select(MailingList).where(MailingList.key == key))
    if mailing_list is None:
        mailing_list = MailingList(key=key)
        session.add(mailing_list)
    mailing_list.name = str(spec.get("name") or key)
    mailing_list.description = str(spec.get("description") or "")
    mailing_list.public = bool(spec.get("public", True))
    mailing_list.double_opt_in = bool(spec.get("double_opt_in", True))
    session.flush()
    return mailing_list


def _field_entry(session: so.Session, entry: object, language: str) -> FieldSpec:
    spec = {"key": entry} if isinstance(entry, str) else dict(entry) if isinstance(entry, Mapping) else None
    if not spec or not isinstance(spec.get("key"), str):
        raise SpecError("each field must be a key or a mapping with 'key'")
    key = spec["key"]
    library = session.scalar(sa.select(Field).where(Field.key == key))
    if library is None:
        if spec.get("type") not in TYPES:
            raise SpecError(f"field {key!r} is not in the library; give it a 'type' of {', '.join(TYPES)}")
        library = Field(key=key, type=spec["type"], labels=_texts(spec.get("label"), key, language),
                        help=_texts(spec.get("help"), "", language), rules=dict(spec.get("rules") or {}),
                        personal=bool(spec.get("personal", True)))
        session.add(library)
        session.flush()
    rules = {**library.rules, **dict(spec.get("rules") or {})}
    choices = rules.pop("choices", None)
    reask = spec.get("reask_after_days")
    if reask is not None and (not isinstance(reask, int) or reask < 1):
        raise SpecError(f"field {key!r}: 'reask_after_days' must be a whole number of days")
    return FieldSpec(
        key=key,
        type=library.type,
        labels={**library.labels, **_texts(spec.get("label"), None, language)},
        help={**library.help, **_texts(spec.get("help"), None, language)},
        rules=rules,
        # An empty list of choices is kept as given: the stored definition names it.
        choices=None if choices is None else tuple(_choice(session, key, choice) for choice in choices),
        required=bool(spec.get("required", key == "email")),
        personal=library.personal,
        reask_after_days=reask,
    )


def _choice(session: so.Session, key: str, choice: object) -> Choice:
    """A choice of a select field; with `list`, picking it joins that list (quiz-style)."""
    if isinstance(choice, str):
        choice = {"value": choice, "label": choice}
    if not isinstance(choice, Mapping) or not isinstance(choice.get("value"), str):
        raise SpecError(f"field {key!r}: each choice needs a 'value'")
    label = _localized(choice.get("label")) or choice["value"]
    if not choice.get("list"):
        return Choice(choice["value"], label)
    list_id = session.scalar(sa.select(MailingList.id).where(MailingList.key == choice["list"]))
    if list_id is None:
        raise SpecError(f"field {key!r}: choice {choice['value']!r} joins unknown list {choice['list']!r}")
    return Choice(choice["value"], label, choice["list"], list_id)


DISPLAY_MODES = ("inline", "panel")
DISPLAY_TRIGGERS = ("immediate", "pageviews", "seconds", "scroll")


def display_rules(spec: object) -> DisplayRules:
    """When and how the embed script shows the form on the host page."""
    display = {"mode": "inline", "trigger": "immediate", "value": 0, "dismiss_days": 30, **dict(spec or {})}
    if display["mode"] not in DISPLAY_MODES:
        raise SpecError(f"display 'mode' must be one of {', '.join(DISPLAY_MODES)}")
    if display["trigger"] not in DISPLAY_TRIGGERS:
        raise SpecError(f"display 'trigger' must be one of {', '.join(DISPLAY_TRIGGERS)}")
    for name in ("value", "dismiss_days"):
        if not isinstance(display[name], int) or display[name] < 0:
            raise SpecError(f"display {name!r} must be a whole number, 0 or more")
    if display["trigger"] == "scroll" and display["value"] > 100:
        raise SpecError("display 'value' for the scroll trigger is a percentage, 0 to 100")
    return DisplayRules(display["mode"], display["trigger"], display["value"], display["dismiss_days"])


def _origins(values: object) -> list[str]:
    """Allowed embedding origins as browsers send them: scheme://host[:port], or "*" for any."""
    origins = []
    for value in values or []:
        origin = str(value).strip().rstrip("/").lower()
        if origin != "*" and not re.fullmatch(r"https?://[a-z0-9.\-\[\]:]+", origin):
            raise SpecError(f"allowed origin {value!r} must look like https://www.example.com (no path)")
        origins.append(origin)
    return origins


def _profile_magnets(spec: object, fields: list[FieldSpec]) -> tuple[LeadMagnet, ...]:
    """Downloads promised for a further set of answers (a second lead magnet, and so on)."""
    keys = {f.key for f in fields}
    magnets = []
    for magnet in spec or []:
        after = magnet.get("after") if isinstance(magnet, Mapping) else None
        if not after or not isinstance(after, list) or not set(after) <= keys - {"email"} or not magnet.get("title"):
            raise SpecError("each of 'profile_magnets' needs a 'title' and 'after': a list of the form's fields")
        url = _web_url(magnet.get("url"), f"profile_magnets[{len(magnets)}].url", own_path=True)
        magnets.append(LeadMagnet(after=tuple(after), url=url,
                                  **{key: _localized(magnet.get(key)) for key in LEAD_MAGNET_LOCALIZABLE}))
    return tuple(magnets)


WHEN_COMPLETE = ("thanks", "nothing")  # what a recognised visitor with nothing left to answer sees


def _privacy_url(value: object) -> str | None:
    """The form's privacy policy, shown beside the consent text: a web address or nothing."""
    return _web_url(value, "privacy_url") or None


def _web_url(value: object, name: str, *, own_path: bool = False) -> str:
    """A link visitors follow from a page or an email: http(s), or with `own_path` a path on this
    server ("/static/guide.pdf"); "" for none."""
    if value in (None, ""):
        return ""
    # javascript:, data: and vbscript: links run code in the page that shows them; anything
    # relative ("guide.pdf", "www.shop.example") leads somewhere else on every site the form is on.
    # Backslashes and spaces are refused: browsers read "/\evil.example" as another host.
    fine = isinstance(value, str) and not re.search(r"[\s\x00-\x1f\x7f\\]", value)
    if fine:
        try:
            parts = urlsplit(value)
            fine = (parts.scheme.lower() in ("http", "https") and bool(parts.hostname)) or (
                own_path and not parts.scheme and not parts.netloc and value.startswith("/")
                and not value.startswith("//"))
        except ValueError:  # a broken [IPv6] part
            fine = False
    if not fine:
        raise SpecError(f"{name!r} must be a web address starting with https:// or http://"
                        + (" (or a path on this server starting with /)" if own_path else ""))
    return value


def _fields_per_view(value: object, count: int) -> int:
    if value in (None, "", 0):
        return count
    number = value if isinstance(value, int) and not isinstance(value, bool) else whole_number(value)
    if number is None or number < 1:
        raise SpecError("'fields_per_view' must be a whole number, 1 or more")
    return number


def _when_complete(value: object) -> str:
    value = "thanks" if value in (None, "") else value
    if value not in WHEN_COMPLETE:
        raise SpecError(f"'when_complete' must be one of {', '.join(WHEN_COMPLETE)}")
    return value


def _texts(value: object, default: str | None, language: str) -> dict:
    """Label or help as {language: text}: a plain string is in the form's language."""
    if isinstance(value, Mapping):
        return _localized(value)
    if isinstance(value, str):
        return {_text_language(language): value}
    return {_text_language(language): default} if default is not None else {}


def _text_language(form_language: str) -> str:
    """The language a form's plain-string texts are written in; "auto" forms are written in English."""
    return languages.DEFAULT if form_language == AUTO else form_language


def _localized(value: object) -> str | dict[str, str]:
    """A text as given in a spec: a string, or a {language: text} mapping with shipped codes as keys."""
    if isinstance(value, Mapping):
        return {languages.normalize(str(k)) or str(k): str(v) for k, v in value.items() if v}
    return str(value) if value else ""


def _form_language(value: object) -> str:
    if value in (None, ""):
        return languages.DEFAULT
    if value == AUTO:
        return AUTO
    code = languages.normalize(value) if isinstance(value, str) else None
    if code is None:
        raise SpecError(f"form 'language' must be 'auto' or one of {', '.join(LANGUAGES)}")
    return code


def _consent_texts(spec: Mapping, lists: list[MailingList], language: str) -> dict[str, str]:
    """{language: consent text}: the spec's own, else the default text in every shipped language."""
    given = _localized(spec.get("consent_text"))
    if given:
        return given if isinstance(given, dict) else {_text_language(language): given}
    frequency = _localized(spec.get("frequency"))
    texts = {}
    for code in LANGUAGES:
        names = format_list([l.name for l in lists], locale=code)
        how_often = languages.pick(frequency, code)
        texts[code] = (languages.gettext(code, DEFAULT_CONSENT_WITH_FREQUENCY, lists=names, frequency=how_often)
                       if how_often else languages.gettext(code, DEFAULT_CONSENT, lists=names))
    return texts


def build_definition(session: so.Session, spec: Mapping, lists: list[MailingList]) -> FormDefinition:
    language = _form_language(spec.get("language"))
    fields = [_field_entry(session, entry, language) for entry in spec.get("fields") or ["email"]]
    if "email" not in [f.key for f in fields]:
        raise SpecError("a form must ask for 'email'")
    consent_texts = _consent_texts(spec, lists, language)
    lead_magnet = spec.get("lead_magnet")
    if lead_magnet is not None and not (isinstance(lead_magnet, Mapping) and lead_magnet.get("title")):
        raise SpecError("'lead_magnet' needs at least a 'title'")
    if lead_magnet:
        lead_magnet = {key: _localized(value) if key in LEAD_MAGNET_LOCALIZABLE else value
                       for key, value in lead_magnet.items()}
        if "url" in lead_magnet:
            lead_magnet["url"] = _web_url(lead_magnet["url"], "lead_magnet.url", own_path=True)
    return FormDefinition(
        slug=spec["slug"],
        name=str(spec.get("name") or spec["slug"]),
        title=_localized(spec.get("title") or spec.get("name") or spec["slug"]),
        intro=_localized(spec.get("intro")),
        language=language,
        fields=tuple(fields),
        fields_per_view=_fields_per_view(spec.get("fields_per_view"), len(fields)),
        consent_text=languages.pick(consent_texts, _text_language(language)),
        consent_texts=consent_texts,
        frequency=_localized(spec.get("frequency")) or None,
        lead_magnet=LeadMagnet.from_json(lead_magnet) if lead_magnet else None,
        business_email_only=bool(spec.get("business_email_only", False)),
        allowed_origins=tuple(_origins(spec.get("allowed_origins"))),
        display=display_rules(spec.get("display")),
        site_url=_web_url(spec.get("site_url"), "site_url"),
        profile_magnets=_profile_magnets(spec.get("profile_magnets"), fields),
        lists=tuple(ListRef(l.id, l.key, l.name, l.description) for l in lists),
        success_message=_localized(spec.get("success_message")),
        privacy_url=_privacy_url(spec.get("privacy_url")),
        when_complete=_when_complete(spec.get("when_complete")),
    )


def publish_form(session: so.Session, spec: Mapping) -> FormVersion:
    """Create or update a form; a new immutable version only when what visitors see changed."""
    slug = spec.get("slug")
    if not isinstance(slug, str) or not SLUG.fullmatch(slug):
        raise SpecError("form 'slug' must be lowercase letters, digits and hyphens")
    ensure_field_library(session)
    list_keys = spec.get("lists") or []
    lists = list(session.scalars(sa.select(MailingList).where(MailingList.key.in_(list_keys))))
    missing = set(list_keys) - {l.key for l in lists}
    if missing or not list_keys:
        raise SpecError(f"form needs existing lists; unknown: {', '.join(sorted(missing)) or '(none given)'}")
    lists.sort(key=lambda l: list_keys.index(l.key))
    form = session.scalar(sa.select(Form).where(Form.slug == slug))
    if form is None:
        form = Form(slug=slug, name=str(spec.get("name") or slug))
        session.add(form)
        session.flush()
    form.name = str(spec.get("name") or slug)
    form.lists = lists
    definition = build_definition(session, spec, lists)
    return _publish_version(session, form, definition)


def _publish_version(session: so.Session, form: Form, definition: FormDefinition) -> FormVersion:
    """The form's current version, or a new immutable one when what visitors see changed."""
    current = form.current_version
    if current is not None and FormDefinition.from_json(current.definition) == definition:
        return current
    number = (session.scalar(sa.select(sa.func.max(FormVersion.number)).where(FormVersion.form_id == form.id))
              or 0) + 1
    version = FormVersion(form_id=form.id, number=number, definition=definition.to_json(),
                          consent_text_hash=hashlib.sha256(definition.consent_text.encode()).hexdigest())
    session.add(version)
    session.flush()
    form.current_version_id = version.id
    form.current_version = version
    session.flush()
    return version


def change_allowed_origins(session: so.Session, slug: str, allow: list[str], disallow: list[str]) -> FormVersion:
    """Publish the current version again with a changed list of embedding sites."""
    version = current_version(session, slug)
    if version is None:
        raise SpecError(f"there is no form {slug!r}")
    definition = FormDefinition.from_json(version.definition)
    removed = set(_origins(disallow))
    origins = [o for o in definition.allowed_origins if o not in removed]
    origins += [o for o in _origins(allow) if o not in origins]
    return _publish_version(session, session.get(Form, version.form_id),
                            dataclasses.replace(definition, allowed_origins=tuple(origins)))
