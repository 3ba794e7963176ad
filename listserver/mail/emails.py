"""What each kind of email says: rendered at send time, in the contact's language."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy.orm as so
from flask import render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from listserver import languages
from listserver.contacts.links import Links
from listserver.forms.definition import FormDefinition, LeadMagnet
from listserver.models import Contact, ContactStatus, EmailKind, FormVersion, OutboxMessage, SubscriptionStatus
from listserver.tokens import Purpose

SUBJECTS = {
    EmailKind.CONFIRMATION: _l("Please confirm your subscription: %(title)s"),
    EmailKind.LEAD_MAGNET: _l("Here is what you asked for: %(title)s"),
    EmailKind.ALREADY_SUBSCRIBED: _l("You are already subscribed: %(title)s"),
    EmailKind.PREFERENCES_LINK: _l("Your link to manage your subscription"),
    EmailKind.DATA_EXPORT: _l("Download the data we keep about you"),
    EmailKind.ERASE_REQUEST: _l("Confirm that we should erase your data"),
    EmailKind.REPERMISSION: _l("Still want our letters?"),
    EmailKind.DATA_CHECK: _l("Is this still right?"),
}
# Emails about a form the person filled in; the others are about the person's own settings.
FORM_KINDS = (EmailKind.CONFIRMATION, EmailKind.LEAD_MAGNET, EmailKind.ALREADY_SUBSCRIBED)
# Emails the hygiene run sends to subscribers; by the time one goes out the person may have left.
SUBSCRIBER_KINDS = (EmailKind.REPERMISSION, EmailKind.DATA_CHECK)


class NothingToSend(Exception):
    """The email no longer makes sense (already confirmed, contact gone); the reason says why."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    unsubscribe_url: str
    list_key: str | None = None  # the list the email is about (a form's first), for List-Id
    list_name: str = ""


def _form_context(session: so.Session, message: OutboxMessage, contact: Contact, links: Links) -> dict:
    version = session.get(FormVersion, message.context.get("form_version_id"))
    if version is None:
        raise NothingToSend("form version gone")
    if message.kind == EmailKind.CONFIRMATION and not any(
        s.status == SubscriptionStatus.PENDING for s in contact.subscriptions
    ):
        raise NothingToSend("already confirmed")
    definition = FormDefinition.from_json(version.definition)
    return {
        "form": definition,
        "sender": definition.name,
        "title": definition.title_in(message.language) or definition.name,
        "lead_magnet": _lead_magnet(definition, message.context.get("magnet")),
        "step_magnet": isinstance(message.context.get("magnet"), int),
        "site_url": links.site(contact, definition.site_url),
        "confirm_url": links.confirm(contact, version.id) if message.kind == EmailKind.CONFIRMATION else None,
        "form_url": links.form(definition.slug),
    }


def _lead_magnet(definition: FormDefinition, step: object) -> LeadMagnet | None:
    """The form's lead magnet, or the one promised for a later set of answers."""
    if isinstance(step, int):
        return definition.profile_magnet(step)
    return definition.lead_magnet


def _link_context(message: OutboxMessage, contact: Contact, links: Links) -> dict:
    if message.kind in SUBSCRIBER_KINDS and contact.status != ContactStatus.SUBSCRIBED:
        raise NothingToSend(f"contact is {contact.status.value}")
    return {
        "form": None,
        "sender": "listserver",
        "title": "",
        "subscribed": message.kind in SUBSCRIBER_KINDS,
        "data_url": links.data_rights(contact, Purpose.DATA_EXPORT) if message.kind == EmailKind.DATA_EXPORT else None,
        "erase_url": links.data_rights(contact, Purpose.ERASE) if message.kind == EmailKind.ERASE_REQUEST else None,
        "keep_url": links.keep_subscribed(contact) if message.kind == EmailKind.REPERMISSION else None,
    }


def render(session: so.Session, message: OutboxMessage, contact: Contact | None, links: Links) -> Rendered:
    if contact is None:
        raise NothingToSend("contact erased")
    context = {
        "contact": contact,
        "language": message.language,
        "first_name": contact.attributes.get("first_name", ""),
        "preferences_url": links.preferences(contact),
        "unsubscribe_url": links.unsubscribe(contact),
    }
    if message.kind in FORM_KINDS:
        context.update(_form_context(session, message, contact, links))
    else:
        context.update(_link_context(message, contact, links))
    # RFC 2919 allows one List-Id: a form's emails name its first list.
    form = context["form"]
    about = form.lists[0] if form is not None and form.lists else None
    # A language we no longer ship (or never did) is read in English rather than not sent at all.
    with force_locale(languages.normalize(message.language) or languages.DEFAULT):
        return Rendered(
            subject=str(SUBJECTS[message.kind] % {"title": context["title"]}),
            text=render_template(f"emails/{message.template}.txt", **context),
            html=render_template(f"emails/{message.template}.html", **context),
            unsubscribe_url=context["unsubscribe_url"],
            list_key=about.key if about else None,
            list_name=about.name if about else "",
        )
