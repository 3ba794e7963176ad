"""The published version of a form: looked up by slug, kept per process since versions never change."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.forms.definition import FormDefinition
from listserver.memo import Memo
from listserver.models import Form, FormVersion


@dataclass(frozen=True, slots=True)
class PublishedForm:
    """A form version as plain data, with its definition read once; safe to share between requests."""

    id: int
    form_id: int
    number: int
    definition: FormDefinition
    consent_text_hash: str

    @classmethod
    def of(cls, version: FormVersion | sa.Row) -> PublishedForm:
        """A FormVersion, or a row of its columns, with its stored definition read."""
        return cls(version.id, version.form_id, version.number, FormDefinition.from_json(version.definition),
                   version.consent_text_hash)


_CURRENT_VERSION_ID = sa.select(Form.__table__.c.current_version_id).where(
    Form.__table__.c.slug == sa.bindparam("slug"))
_VERSION = sa.select(*(FormVersion.__table__.c[name] for name in (
    "id", "form_id", "number", "definition", "consent_text_hash"))).where(
    FormVersion.__table__.c.id == sa.bindparam("id"))


class FormCache:
    """Published versions never change, so one read per version per process is enough; which
    version is current is looked up again after `ttl` seconds (0: on every request)."""

    def __init__(self, ttl: float = 0.0, size: int = 256):
        self.ttl = ttl
        self.versions = Memo(size)  # version id -> PublishedForm, its definition read once
        self.current = Memo(size)  # slug -> (checked at, current version id)

    def published(self, engine: sa.Engine, slug: str) -> PublishedForm | None:
        """The current version of a form, without a database round trip while the TTL holds.

        It reads on a connection of its own, given back at once: the request's session stays
        untouched (so a new address's sign-up can run in autocommit, lifecycle.sign_up_new_address).
        """
        now = time.monotonic()
        checked_at, version_id = self.current.get(slug, (-math.inf, None))
        fresh = now - checked_at < self.ttl
        found = self.versions.get(version_id) if fresh and version_id is not None else None
        if fresh and (version_id is None or found is not None):
            return found
        with engine.connect() as connection:
            if not fresh:
                version_id = connection.execute(_CURRENT_VERSION_ID, {"slug": slug}).scalar()
                self.current.put(slug, (now, version_id))
            if version_id is None:
                return None
            found = self.versions.get(version_id)
            if found is None:
                found = PublishedForm.of(connection.execute(_VERSION, {"id": version_id}).one())
                self.versions.put(version_id, found)
        return found


def current_version(session: so.Session, slug: str) -> FormVersion | None:
    return session.scalar(
        sa.select(FormVersion).join(Form, Form.current_version_id == FormVersion.id).where(Form.slug == slug)
    )
