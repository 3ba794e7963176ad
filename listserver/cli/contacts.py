"""`listserver contacts`: look at a contact, export the mailable ones, revoke a contact's links."""

from __future__ import annotations

import csv
import json

import click
from flask import current_app
from flask.cli import with_appcontext

from listserver.accounts import audit
from listserver.audience import exports
from listserver.contacts import links, queries, serialize
from listserver.errors import NotFound
from listserver.extensions import db

CONSENT = ("action", "list_id", "method", "form_version_id", "consent_text_hash", "ip", "user_agent", "at")


def _contact(session, email: str):
    contact = queries.find_contact(session, email)
    if contact is None:
        raise click.ClickException("no contact with that address")
    return contact


@click.group("contacts")
def contacts_group() -> None:
    """Contacts."""


@contacts_group.command("show")
@click.argument("email")
@with_appcontext
def contacts_show(email: str) -> None:
    """Print a contact: status, subscriptions, profile, consent proof and timeline, as JSON."""
    with db.session() as session:
        contact = _contact(session, email)
        data, history = serialize.contact(contact), serialize.history(session, contact)
    shown = {key: data[key] for key in ("email", "status", "email_check", "language", "created_at", "confirmed_at",
                                        "attributes", "attribute_sources", "quality_flags")}
    click.echo(json.dumps({
        **shown,
        "subscriptions": [{"list": s["list_key"], "status": s["status"]} for s in data["subscriptions"]],
        "consent": [{key: c[key] for key in CONSENT} for c in history["consent_records"]],
        "events": history["events"],
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
        contact = _contact(session, email)
        links.revoke_links(session, contact)
        session.commit()
    click.echo("links revoked; new emails carry new links")
