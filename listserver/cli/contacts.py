"""`listserver contacts`: look at a contact, export the mailable ones, revoke a contact's links."""

from __future__ import annotations

import csv
import json

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from listserver.accounts import audit
from listserver.audience import exports
from listserver.errors import NotFound
from listserver.extensions import db
from listserver.models import ConsentRecord, Event
from listserver.subscriber import preferences


@click.group("contacts")
def contacts_group() -> None:
    """Contacts."""


@contacts_group.command("show")
@click.argument("email")
@with_appcontext
def contacts_show(email: str) -> None:
    """Print a contact: status, subscriptions, profile, consent proof and timeline, as JSON."""
    with db.session() as session:
        contact = preferences.find_contact(session, email)
        if contact is None:
            raise click.ClickException("no contact with that address")
        consents = session.scalars(sa.select(ConsentRecord).where(ConsentRecord.contact_id == contact.id)
                                   .order_by(ConsentRecord.id))
        events = session.scalars(sa.select(Event).where(Event.contact_id == contact.id).order_by(Event.id))
        click.echo(json.dumps({
            "email": contact.email,
            "status": contact.status.value,
            "email_check": contact.email_check,
            "language": contact.language,
            "created_at": contact.created_at.isoformat(),
            "confirmed_at": contact.confirmed_at.isoformat() if contact.confirmed_at else None,
            "attributes": preferences.readable(contact.attributes),
            "attribute_sources": preferences.readable(contact.attribute_sources),
            "quality_flags": contact.quality_flags,  # marks such as fake_name: the data is kept, only marked
            "subscriptions": [{"list": s.mailing_list.key, "status": s.status.value} for s in contact.subscriptions],
            "consent": [{"action": c.action.value, "list_id": c.list_id, "method": c.method,
                         "form_version_id": c.form_version_id, "consent_text_hash": c.consent_text_hash,
                         "ip": c.ip, "user_agent": c.user_agent, "at": c.created_at.isoformat()} for c in consents],
            "events": [{"kind": e.kind, "data": e.data, "at": e.created_at.isoformat()} for e in events],
        }, indent=2, ensure_ascii=False))


@contacts_group.command("export")
@click.option("--list", "list_key", help="Only this list (its key); default: anyone mailable on any list.")
@click.option("--output", type=click.File("w", encoding="utf-8"), default="-", help="File to write (default: stdout).")
@with_appcontext
def contacts_export(list_key: str | None, output) -> None:
    """Write the mailable contacts as CSV, with unsubscribe and preference links for any sending tool."""
    writer = csv.DictWriter(output, fieldnames=exports.COLUMNS)
    writer.writeheader()
    with db.session() as session:
        try:
            export = exports.open_export(session, list_key)
        except NotFound as exc:
            raise click.ClickException(str(exc))
        exports.record_export(session, export, actor=audit.actor(audit.Actor.CLI))
        session.commit()  # on record before the first row goes out: an export cut short is on record too
        for row in exports.export_rows(session, current_app.config["SETTINGS"], export):
            writer.writerow(row)


@contacts_group.command("revoke-links")
@click.argument("email")
@with_appcontext
def contacts_revoke_links(email: str) -> None:
    """Make every preference and unsubscribe link sent to EMAIL stop working."""
    with db.session() as session:
        contact = preferences.find_contact(session, email)
        if contact is None:
            raise click.ClickException("no contact with that address")
        preferences.revoke_links(session, contact)
        session.commit()
    click.echo("links revoked; new emails carry new links")
