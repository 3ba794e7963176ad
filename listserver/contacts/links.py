"""Public links for emails and exports: every one carries a signed, purpose-bound token.
Links makes them; load_link reads one back to the contact it names; revoke_links ends all of a
contact's links at once."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
import sqlalchemy.orm as so

from listserver.contacts import lifecycle
from listserver.errors import Gone
from listserver.models import Contact, EventKind
from listserver.settings import Settings
from listserver.tokens import Key, Purpose, Signer


class Links:
    def __init__(self, settings: Settings):
        self.base = settings.base_url.rstrip("/")
        self.signer = Signer(settings)

    def confirm(self, contact: Contact, form_version_id: int) -> str:
        token = self.signer.sign(Purpose.CONFIRM, {Key.CONTACT: contact.id, Key.VERSION: contact.confirm_version,
                                                   Key.FORM: form_version_id})
        return f"{self.base}/confirm/{token}"

    def preferences(self, contact: Contact) -> str:
        token = self.signer.sign(Purpose.PREFERENCES, {Key.CONTACT: contact.id, Key.VERSION: contact.link_version})
        return f"{self.base}/preferences/{token}"

    def unsubscribe(self, contact: Contact, list_id: int | None = None) -> str:
        """One-click unsubscribe from one list, or from everything when list_id is None."""
        token = self.signer.sign(Purpose.UNSUBSCRIBE, {Key.CONTACT: contact.id, Key.VERSION: contact.link_version,
                                                       Key.LIST: list_id})
        return f"{self.base}/unsubscribe/{token}"

    def keep_subscribed(self, contact: Contact) -> str:
        """The sunset email's button: a page whose POST keeps (or brings back) the subscriber."""
        token = self.signer.sign(Purpose.KEEP_SUBSCRIBED, {Key.CONTACT: contact.id, Key.VERSION: contact.link_version})
        return f"{self.base}/keep/{token}"

    def data_rights(self, contact: Contact, purpose: Purpose) -> str:
        """A short-lived link, sent to the address itself, to download or erase everything."""
        token = self.signer.sign(purpose, {Key.CONTACT: contact.id, Key.VERSION: contact.link_version})
        path = {Purpose.DATA_EXPORT: "data", Purpose.ERASE: "erase"}[purpose]
        return f"{self.base}/{path}/{token}"

    def list_unsubscribe_headers(self, contact: Contact, list_id: int | None = None) -> dict[str, str]:
        """The RFC 8058 headers, ready for any sending tool."""
        return {"List-Unsubscribe": f"<{self.unsubscribe(contact, list_id)}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}

    def form(self, slug: str) -> str:
        return f"{self.base}/f/{slug}"

    def profile_token(self, contact, *, proven: bool, writes: bool = True,
                      asked: Mapping[str, int] | None = None) -> str:
        """Recognises a returning visitor for progressive profiling (see listserver.capture.profiling);
        for no contact (a dropped submission), one that recognises nobody."""
        return self.signer.sign(Purpose.PROFILE, {
            Key.CONTACT: contact.id if contact is not None else None,
            Key.VERSION: contact.link_version if contact is not None else 0, Key.PROVEN: proven, Key.WRITES: writes,
            Key.ASKED: dict(asked or {}),
        })

    def site(self, contact: Contact, url: str | None) -> str | None:
        """A link to the form's site (its `site_url`) that the embed script there recognises (`ls_pt`);
        None for a form without one."""
        if not url:
            return None
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True) + [("ls_pt", self.profile_token(contact, proven=True))]
        return urlunsplit(parts._replace(query=urlencode(query)))


class LinkRevoked(Gone):
    """A genuine link whose contact has since revoked every link sent so far."""

    code = "link_revoked"


def contact_for_link(session: so.Session, purpose: Purpose, token: str, settings: Settings, *,
                     lock: bool = False) -> Contact | None:
    """The contact a subscriber link is for; None if erased. TokenInvalid/TokenExpired/LinkRevoked."""
    return load_link(session, purpose, token, settings, lock=lock)[0]


def load_link(session: so.Session, purpose: Purpose, token: str, settings: Settings, *,
              lock: bool = False) -> tuple[Contact | None, dict]:
    """The contact a signed link names (None if erased) and what else it carries."""
    payload = Signer(settings).load(purpose, token)
    contact_id = payload.get(Key.CONTACT)
    if not isinstance(contact_id, int):
        return None, payload
    query = sa.select(Contact).where(Contact.id == contact_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    contact = session.scalars(query).one_or_none()
    if contact is not None and payload.get(Key.VERSION) != contact.link_version:
        raise LinkRevoked()
    return contact, payload


def revoke_links(session: so.Session, contact: Contact) -> None:
    """Make every preference, unsubscribe and data link sent so far stop working."""
    contact.link_version += 1
    lifecycle.record_event(session, contact, EventKind.LINKS_REVOKED)
    session.flush()


def list_id_of(token: str, settings: Settings) -> int | None:
    """Which list an unsubscribe link is about (None: everything); call after contact_for_link."""
    list_id = Signer(settings).load(Purpose.UNSUBSCRIBE, token).get(Key.LIST)
    return list_id if isinstance(list_id, int) else None
