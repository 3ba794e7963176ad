"""Forms and lists as data: create them from a spec, publish immutable versions, look them up."""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.fields import BUILTIN_FIELDS, TYPES
from listserver.models import Field, Form, FormVersion, MailingList

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")

DEFAULT_CONSENT = (
    "I agree to receive {lists} by email{frequency}. You can unsubscribe with one click in "
    "every email. We keep your data only for this purpose and never share or sell it."
)


class SpecError(ValueError):
    """A list or form spec is not usable; the message names the part."""


def ensure_field_library(session: so.Session) -> None:
    """Add the built-in fields that are not in the library yet."""
    known = set(session.scalars(sa.select(Field.key)))
    for key, spec in BUILTIN_FIELDS.items():
        if key not in known:
            session.add(Field(key=key, type=spec["type"], labels=spec["labels"], help=spec["help"],
                              rules=spec["rules"], personal=spec.get("personal", True)))
    session.flush()


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


def _field_entry(session: so.Session, entry: object) -> dict:
    spec = {"key": entry} if isinstance(entry, str) else dict(entry) if isinstance(entry, Mapping) else None
    if not spec or not isinstance(spec.get("key"), str):
        raise SpecError("each field must be a key or a mapping with 'key'")
    key = spec["key"]
    library = session.scalar(sa.select(Field).where(Field.key == key))
    if library is None:
        if spec.get("type") not in TYPES:
            raise SpecError(f"field {key!r} is not in the library; give it a 'type' of {', '.join(TYPES)}")
        library = Field(key=key, type=spec["type"], labels=_texts(spec.get("label"), key),
                        help=_texts(spec.get("help"), ""), rules=dict(spec.get("rules") or {}),
                        personal=bool(spec.get("personal", True)))
        session.add(library)
        session.flush()
    return {
        "key": key,
        "type": library.type,
        "labels": {**library.labels, **_texts(spec.get("label"), None)},
        "help": {**library.help, **_texts(spec.get("help"), None)},
        "rules": {**library.rules, **dict(spec.get("rules") or {})},
        "required": bool(spec.get("required", key == "email")),
        "personal": library.personal,
    }


def _texts(value: object, default: str | None) -> dict:
    """Label or help as {"en": ...}: a plain string is English."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, str):
        return {"en": value}
    return {"en": default} if default is not None else {}


def build_definition(session: so.Session, spec: Mapping, lists: list[MailingList]) -> dict:
    fields = [_field_entry(session, entry) for entry in spec.get("fields") or ["email"]]
    if "email" not in [f["key"] for f in fields]:
        raise SpecError("a form must ask for 'email'")
    frequency = spec.get("frequency")
    consent = spec.get("consent_text") or DEFAULT_CONSENT.format(
        lists=" and ".join(l.name for l in lists),
        frequency=f" ({frequency})" if frequency else "",
    )
    lead_magnet = spec.get("lead_magnet")
    if lead_magnet is not None and not (isinstance(lead_magnet, Mapping) and lead_magnet.get("title")):
        raise SpecError("'lead_magnet' needs at least a 'title'")
    return {
        "slug": spec["slug"],
        "name": str(spec.get("name") or spec["slug"]),
        "title": str(spec.get("title") or spec.get("name") or spec["slug"]),
        "intro": str(spec.get("intro") or ""),
        "language": str(spec.get("language") or "en"),
        "fields": fields,
        "fields_per_view": int(spec.get("fields_per_view") or len(fields)),
        "consent_text": consent,
        "frequency": frequency,
        "lead_magnet": dict(lead_magnet) if lead_magnet else None,
        "business_email_only": bool(spec.get("business_email_only", False)),
        "allowed_origins": list(spec.get("allowed_origins") or []),
        "lists": [{"id": l.id, "key": l.key, "name": l.name, "description": l.description} for l in lists],
        "success_message": str(spec.get("success_message") or ""),
    }


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
    current = form.current_version
    if current is not None and current.definition == json.loads(json.dumps(definition)):
        return current
    number = (session.scalar(sa.select(sa.func.max(FormVersion.number)).where(FormVersion.form_id == form.id))
              or 0) + 1
    version = FormVersion(form_id=form.id, number=number, definition=definition,
                          consent_text_hash=hashlib.sha256(definition["consent_text"].encode()).hexdigest())
    session.add(version)
    session.flush()
    form.current_version_id = version.id
    form.current_version = version
    session.flush()
    return version


@dataclass(frozen=True)
class PublishedForm:
    """A form version as plain data, shaped like FormVersion; safe to share between requests."""

    id: int
    form_id: int
    number: int
    definition: dict
    consent_text_hash: str


_CURRENT_VERSION_ID = sa.select(Form.__table__.c.current_version_id).where(
    Form.__table__.c.slug == sa.bindparam("slug"))


class FormCache:
    """Published versions never change, so one read per version per process is enough; which
    version is current is looked up again after `ttl` seconds (0: on every request)."""

    def __init__(self, ttl: float = 0.0, size: int = 256):
        self.ttl, self.size = ttl, size
        self.versions: dict[int, PublishedForm] = {}
        self.current: dict[str, tuple[float, int | None]] = {}

    def published(self, session: so.Session, slug: str) -> PublishedForm | None:
        """The current version of a form, without a database round trip while the TTL holds."""
        now = time.monotonic()
        checked_at, version_id = self.current.get(slug, (-math.inf, None))
        if now - checked_at >= self.ttl:
            version_id = session.connection().execute(_CURRENT_VERSION_ID, {"slug": slug}).scalar()
            self._remember(self.current, slug, (now, version_id))
        if version_id is None:
            return None
        found = self.versions.get(version_id)
        if found is None:
            version = session.get(FormVersion, version_id)
            found = PublishedForm(version.id, version.form_id, version.number, version.definition,
                                  version.consent_text_hash)
            self._remember(self.versions, version_id, found)
        return found

    def _remember(self, store: dict, key, value) -> None:
        if key not in store and len(store) >= self.size:
            store.pop(next(iter(store)))
        store[key] = value


def current_version(session: so.Session, slug: str) -> FormVersion | None:
    return session.scalar(
        sa.select(FormVersion).join(Form, Form.current_version_id == FormVersion.id).where(Form.slug == slug)
    )
