"""A form's definition as typed data: what its visitors see, frozen into every published version.

A definition is stored as JSON in FormVersion.definition with its schema number. Versions never
change once published and consent records point at them, so every schema ever stored stays
readable: a definition stored without a number is schema 1 (the keys added over time default to
what a form without them showed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from listserver import languages

SCHEMA = 1

# One text, or the same text in several languages: {language: text}.
Text = str | Mapping[str, str]


class DefinitionError(ValueError):
    """Stored JSON that is no form definition this code can read (a newer schema, a missing key)."""


@dataclass(frozen=True, slots=True)
class Choice:
    """A choice of a select field; with `list`, picking it joins that list (quiz-style)."""

    value: str
    label: Text
    list: str | None = None
    list_id: int | None = None

    @classmethod
    def from_json(cls, data: Mapping | str) -> Choice:
        if isinstance(data, str):  # the first forms stored their choices as they were typed
            return cls(data, data)
        return cls(data["value"], data.get("label") or data["value"], data.get("list"), data.get("list_id"))

    def to_json(self) -> dict:
        joins = {"list": self.list, "list_id": self.list_id} if self.list is not None else {}
        return {"value": self.value, "label": self.label, **joins}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One question of a form: the library's field with the form's own labels, rules and requirement."""

    key: str
    type: str
    labels: Mapping[str, str]
    help: Mapping[str, str]
    # The checking rules as the library and the form gave them (max_length, country_field,
    # default_country, default_region…), without the choices.
    rules: Mapping[str, object] = field(default_factory=dict)
    choices: tuple[Choice, ...] | None = None  # None: the rules name no choices
    required: bool = False
    personal: bool = True
    reask_after_days: int | None = None  # answers go stale: ask again after this many days

    @classmethod
    def from_json(cls, data: Mapping) -> FieldSpec:
        rules = dict(data.get("rules") or {})
        choices = rules.pop("choices", None)
        return cls(
            key=data["key"], type=data["type"], labels=data.get("labels") or {}, help=data.get("help") or {},
            rules=rules, choices=None if choices is None else tuple(Choice.from_json(c) for c in choices),
            required=bool(data.get("required", False)), personal=bool(data.get("personal", True)),
            reask_after_days=data.get("reask_after_days"))

    def to_json(self) -> dict:
        choices = {} if self.choices is None else {"choices": [c.to_json() for c in self.choices]}
        return {"key": self.key, "type": self.type, "labels": dict(self.labels), "help": dict(self.help),
                "rules": {**self.rules, **choices}, "required": self.required, "personal": self.personal,
                "reask_after_days": self.reask_after_days}

    @property
    def max_length(self) -> int | None:
        return self.rules.get("max_length")

    @property
    def country_field(self) -> str | None:
        """The form's country question that an address or postal code is checked against."""
        return self.rules.get("country_field")

    @property
    def default_country(self) -> str | None:
        return self.rules.get("default_country")

    @property
    def default_region(self) -> str | None:
        """Where a phone number without its country code is from."""
        return self.rules.get("default_region")

    def label_in(self, language: str) -> str:
        return languages.pick(self.labels, language) or self.key


@dataclass(frozen=True, slots=True)
class LeadMagnet:
    """A download promised for signing up, or, with `after`, for a further set of answers."""

    title: Text
    description: Text | None = None
    button: Text | None = None
    url: str | None = None  # a web address or a path on this server
    after: tuple[str, ...] | None = None  # the questions whose answers earn it (a profile magnet)
    extra: Mapping[str, object] = field(default_factory=dict)  # any other key the spec gave, kept as given

    LOCALIZABLE = ("title", "description", "button")
    _KNOWN = ("title", "description", "button", "url", "after")

    @classmethod
    def from_json(cls, data: Mapping) -> LeadMagnet:
        after = data.get("after")
        return cls(data.get("title") or "", data.get("description"), data.get("button"), data.get("url"),
                   None if after is None else tuple(after),
                   {key: value for key, value in data.items() if key not in cls._KNOWN})

    def to_json(self) -> dict:
        texts = {"title": self.title, "description": self.description}
        known = ({"after": list(self.after), "url": self.url, **texts, "button": self.button} if self.after is not None
                 else {**texts, "url": self.url, "button": self.button})  # in the order publishing writes them
        return {**{key: value for key, value in known.items() if value is not None}, **self.extra}

    def shown_in(self, language: str) -> dict:
        """The lead magnet with its texts in one language, as the embed script and JSON clients get it."""
        return {**self.to_json(), **{key: languages.pick(getattr(self, key), language) for key in self.LOCALIZABLE}}


@dataclass(frozen=True, slots=True)
class DisplayRules:
    """When and how the embed script shows the form on the host page."""

    mode: str = "inline"  # inline or panel
    trigger: str = "immediate"  # immediate, pageviews, seconds or scroll
    value: int = 0  # how many page views or seconds, or how far down (percent) the trigger waits for
    dismiss_days: int = 30  # a closed panel stays closed this long

    @classmethod
    def from_json(cls, data: Mapping | None) -> DisplayRules:
        return cls(**data) if data else cls()

    def to_json(self) -> dict:
        return {"mode": self.mode, "trigger": self.trigger, "value": self.value, "dismiss_days": self.dismiss_days}


@dataclass(frozen=True, slots=True)
class ListRef:
    """A list the form signs people up to, as it was named when the version was published."""

    id: int
    key: str
    name: str
    description: str

    @classmethod
    def from_json(cls, data: Mapping) -> ListRef:
        return cls(data["id"], data["key"], data["name"], data.get("description") or "")

    def to_json(self) -> dict:
        return {"id": self.id, "key": self.key, "name": self.name, "description": self.description}


@dataclass(frozen=True, slots=True)
class FormDefinition:
    """What a published form version shows and asks; `from_json` reads every schema ever stored."""

    slug: str
    name: str
    title: Text
    language: str  # a shipped language, or "auto": the visitor's
    fields: tuple[FieldSpec, ...]
    fields_per_view: int
    # The text in the form's own language (English for "auto" forms); FormVersion hashes this one.
    consent_text: str
    lists: tuple[ListRef, ...]
    intro: Text = ""
    consent_texts: Mapping[str, str] = field(default_factory=dict)  # {language: consent text}
    frequency: Text | None = None
    lead_magnet: LeadMagnet | None = None
    business_email_only: bool = False
    allowed_origins: tuple[str, ...] = ()  # sites that may embed the form: scheme://host[:port], or "*"
    display: DisplayRules = DisplayRules()
    site_url: str = ""  # where the form lives; email links lead back there
    profile_magnets: tuple[LeadMagnet, ...] = ()
    success_message: Text = ""
    # In the definition, so a consent record's form version names the policy the visitor could open.
    privacy_url: str | None = None
    when_complete: str = "thanks"  # what a recognised visitor with nothing left to answer sees: thanks, nothing

    @classmethod
    def from_json(cls, data: Mapping) -> FormDefinition:
        schema = data.get("schema", 1)
        if not isinstance(schema, int) or not 1 <= schema <= SCHEMA:
            raise DefinitionError(f"form definition schema {schema!r} is not one this version reads (1 to {SCHEMA})")
        try:
            fields = tuple(FieldSpec.from_json(spec) for spec in data["fields"])
            magnet = data.get("lead_magnet")
            return cls(
                slug=data["slug"], name=data["name"], title=data["title"],
                language=data.get("language") or languages.DEFAULT,
                fields=fields, fields_per_view=data.get("fields_per_view") or len(fields),
                consent_text=data["consent_text"], lists=tuple(ListRef.from_json(l) for l in data["lists"]),
                intro=data.get("intro") or "", consent_texts=data.get("consent_texts") or {},
                frequency=data.get("frequency"), lead_magnet=LeadMagnet.from_json(magnet) if magnet else None,
                business_email_only=bool(data.get("business_email_only", False)),
                allowed_origins=tuple(data.get("allowed_origins") or ()),
                display=DisplayRules.from_json(data.get("display")), site_url=data.get("site_url") or "",
                profile_magnets=tuple(LeadMagnet.from_json(m) for m in data.get("profile_magnets") or ()),
                success_message=data.get("success_message") or "", privacy_url=data.get("privacy_url"),
                when_complete=data.get("when_complete") or "thanks")
        except (KeyError, TypeError) as exc:
            raise DefinitionError(f"not a form definition: {exc!r}") from None

    def to_json(self) -> dict:
        return {
            "schema": SCHEMA,
            "slug": self.slug,
            "name": self.name,
            "title": self.title,
            "intro": self.intro,
            "language": self.language,
            "fields": [spec.to_json() for spec in self.fields],
            "fields_per_view": self.fields_per_view,
            "consent_text": self.consent_text,
            "consent_texts": dict(self.consent_texts),
            "frequency": self.frequency,
            "lead_magnet": self.lead_magnet.to_json() if self.lead_magnet else None,
            "business_email_only": self.business_email_only,
            "allowed_origins": list(self.allowed_origins),
            "display": self.display.to_json(),
            "site_url": self.site_url,
            "profile_magnets": [magnet.to_json() for magnet in self.profile_magnets],
            "lists": [mailing_list.to_json() for mailing_list in self.lists],
            "success_message": self.success_message,
            "privacy_url": self.privacy_url,
            "when_complete": self.when_complete,
        }

    def title_in(self, language: str) -> str:
        return languages.pick(self.title, language)

    def intro_in(self, language: str) -> str:
        return languages.pick(self.intro, language)

    def success_message_in(self, language: str) -> str:
        return languages.pick(self.success_message, language)

    def consent_in(self, language: str) -> tuple[str, str]:
        """The consent text a visitor in `language` is shown, and its SHA-256 for the consent proof."""
        shown = languages.pick(self.consent_texts, language) or self.consent_text
        return shown, hashlib.sha256(shown.encode()).hexdigest()

    @property
    def list_ids(self) -> list[int]:
        return [mailing_list.id for mailing_list in self.lists]

    def first_view(self) -> list[FieldSpec]:
        """The questions a new visitor sees: the first of the form's queue, email always among them."""
        first = list(self.fields[: self.fields_per_view])
        if "email" not in [spec.key for spec in first]:
            first = [spec for spec in self.fields if spec.key == "email"] + first[:-1]
        return first

    def after_first_view(self) -> list[FieldSpec]:
        """What a new subscriber is asked next: the same for everyone, so it reveals nothing."""
        first = {spec.key for spec in self.first_view()}
        return [spec for spec in self.fields if spec.key not in first][: self.fields_per_view]

    def chosen_lists(self, values: Mapping[str, object]) -> list[int]:
        """Lists that quiz-style answers map to (a choice with a list joins it)."""
        chosen: list[int] = []
        for spec in self.fields:
            answer = values.get(spec.key)
            picked = answer if isinstance(answer, list) else [answer]
            for choice in spec.choices or ():
                if choice.list_id and choice.value in picked and choice.list_id not in chosen:
                    chosen.append(choice.list_id)
        return chosen

    def profile_magnet(self, index: object) -> LeadMagnet | None:
        """The download promised for the `index`th further set of answers, if there is one."""
        if isinstance(index, int) and 0 <= index < len(self.profile_magnets):
            return self.profile_magnets[index]
        return None
