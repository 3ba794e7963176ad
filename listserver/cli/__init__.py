"""The `listserver` command: run, workers, scheduler, migrations, and data until the console exists."""

from __future__ import annotations

import csv
import json
import signal
import sys
import threading
from pathlib import Path

import click
import sqlalchemy as sa
import yaml
from flask import current_app, render_template
from flask.cli import FlaskGroup, with_appcontext

from listserver import create_app, migrate, schedule
from listserver.accounts import users
from listserver.audience import exports
from listserver.cli import embedded
from listserver.contacts.links import Links
from listserver.extensions import db
from listserver.forms import publishing
from listserver.models import ConsentRecord, Event
from listserver.settings import SettingsError
from listserver.subscriber import preferences
from listserver.tasks import get_queue


def _create_app():
    try:
        return create_app()
    except SettingsError as exc:
        click.echo(f"listserver: {exc}", err=True)
        sys.exit(2)


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False,
             load_dotenv=False)
def main() -> None:
    """listserver: lead capture and mailing lists with double opt-in."""


def _settings():
    return current_app.config["SETTINGS"]


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def run(host: str, port: int) -> None:
    """Start everything in one process: web server, workers, scheduler (embedded mode)."""
    from werkzeug.serving import run_simple

    app = current_app._get_current_object()
    settings = _settings()
    migrate.upgrade(settings)
    with db.session() as session:
        embedded.ensure_demo(session, settings.base_url)
        password = embedded.ensure_admin(session, settings.instance_path)
    background = embedded.start_background(app, settings.worker_threads)
    base = f"http://{host}:{port}"
    click.echo(
        f"\nlistserver is running at {base}\n"
        f"  demo form:  {base}/f/demo  (embedded in a web page: {base}{embedded.DEMO_SITE})\n"
        f"  console:    {base}/admin/  (sign in as {embedded.ADMIN_EMAIL} / {password})\n"
        f"  mail sent:  {base}/admin/outbox  (nothing leaves this machine; copies in {settings.mail_dir})\n"
        f"  data:       {settings.database_url}\n"
        "Press Ctrl+C to stop.\n"
    )
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        background.shutdown()


@main.command()
@click.option("--threads", default=None, type=int, help="Worker threads (default: LISTSERVER_WORKER_THREADS).")
@with_appcontext
def worker(threads: int | None) -> None:
    """Process background jobs (sending email) until stopped."""
    settings = _settings()
    if not settings.redis_url:
        raise click.ClickException("a separate worker needs LISTSERVER_REDIS_URL; `listserver run` has its own")
    w = get_queue().worker(threads or settings.worker_threads)
    w.start()
    click.echo(f"worker started with {threads or settings.worker_threads} threads")
    _wait_for_signal()
    w.stop()


@main.command()
@with_appcontext
def scheduler() -> None:
    """Hand emails to the workers and run periodic jobs; one per deployment (a Redis lock keeps extra ones idle)."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo("scheduler started: " + ", ".join(f"{j.name} every {j.every_seconds}s" for j in schedule.JOBS))
    schedule.run_forever(current_app._get_current_object(), stop)


@main.group("db")
def db_group() -> None:
    """Schema migrations."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    migrate.upgrade(_settings(), revision)
    click.echo("database is up to date")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Undo migrations down to REVISION."""
    migrate.downgrade(_settings(), revision)


def _read_spec(path: str) -> object:
    text = Path(path).read_text(encoding="utf-8")
    try:
        return json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise click.ClickException(f"{path} is not valid {'JSON' if path.endswith('.json') else 'YAML'}: {exc}")


@main.group("lists")
def lists_group() -> None:
    """Mailing lists (topics)."""


@lists_group.command("create")
@click.argument("spec_file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def lists_create(spec_file: str) -> None:
    """Create or update lists from a YAML/JSON file (one list or a sequence of them)."""
    specs = _read_spec(spec_file)
    with db.session() as session:
        try:
            for spec in specs if isinstance(specs, list) else [specs]:
                mailing_list = publishing.upsert_list(session, spec if isinstance(spec, dict) else {})
                click.echo(f"list {mailing_list.key}: {mailing_list.name}")
        except publishing.SpecError as exc:
            raise click.ClickException(str(exc))
        session.commit()


@main.group("forms")
def forms_group() -> None:
    """Opt-in forms."""


@forms_group.command("create")
@click.argument("spec_file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def forms_create(spec_file: str) -> None:
    """Create or update a form from a YAML/JSON file; publishes a new version if it changed."""
    spec = _read_spec(spec_file)
    with db.session() as session:
        try:
            version = publishing.publish_form(session, spec if isinstance(spec, dict) else {})
        except publishing.SpecError as exc:
            raise click.ClickException(str(exc))
        session.commit()
        slug = version.definition["slug"]
        click.echo(f"form {slug} version {version.number}: {_settings().base_url.rstrip('/')}/f/{slug}")


@forms_group.command("origins")
@click.argument("slug")
@click.option("--allow", multiple=True, metavar="ORIGIN", help="A site that may embed the form, e.g. https://www.example.com.")
@click.option("--disallow", multiple=True, metavar="ORIGIN", help="A site that may no longer embed it.")
@with_appcontext
def forms_origins(slug: str, allow: tuple[str, ...], disallow: tuple[str, ...]) -> None:
    """Show or change the sites whose pages may embed a form (its embed script and iframe)."""
    with db.session() as session:
        try:
            version = publishing.change_allowed_origins(session, slug, list(allow), list(disallow))
        except publishing.SpecError as exc:
            raise click.ClickException(str(exc))
        session.commit()
        origins = version.definition.get("allowed_origins") or []
        sites = ", ".join(origins) or "(no other site)"
        click.echo(f"form {slug} version {version.number} may be embedded on: {sites}")


@forms_group.command("embed")
@click.argument("slug")
@with_appcontext
def forms_embed(slug: str) -> None:
    """Print the snippets that put a form on another site: script, iframe, plain HTML."""
    with db.session() as session:
        if publishing.current_version(session, slug) is None:
            raise click.ClickException(f"there is no form {slug!r}")
    form_url = Links(_settings()).form(slug)
    click.echo(render_template("embed_snippets.txt", form_url=form_url, slug=slug))


@main.group("contacts")
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
            for row in exports.export_rows(session, _settings(), list_key, actor="cli"):
                writer.writerow(row)
        except LookupError as exc:
            raise click.ClickException(str(exc))


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
    click.echo("links revoked; new emails carry new links")


@main.group("tokens")
def tokens_group() -> None:
    """API bearer tokens."""


@tokens_group.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, default=["contacts:read"], show_default=True,
              type=click.Choice(users.API_SCOPES))
@with_appcontext
def tokens_create(name: str, scopes: tuple[str, ...]) -> None:
    """Create an API token; it is shown once."""
    with db.session() as session:
        _, plaintext = users.create_api_token(session, name, list(scopes))
        session.commit()
    click.echo(plaintext)


@main.group("users")
def users_group() -> None:
    """Console users."""


@users_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "marketer", "viewer"]), default="admin", show_default=True)
@click.password_option()
@with_appcontext
def users_create(email: str, role: str, password: str) -> None:
    """Create a console user."""
    with db.session() as session:
        try:
            users.create_user(session, email, password, role)
        except ValueError as exc:
            raise click.ClickException(str(exc))
        session.commit()
    click.echo(f"user {email} ({role}) created")


@users_group.command("set-password")
@click.argument("email")
@click.password_option()
@with_appcontext
def users_set_password(email: str, password: str) -> None:
    """Give a console user a new password; the user's sessions end everywhere."""
    with db.session() as session:
        user = users.find_user(session, email)
        if user is None:
            raise click.ClickException("no console user with that address")
        try:
            users.set_password(session, user, password)
        except ValueError as exc:
            raise click.ClickException(str(exc))
        session.commit()
    click.echo(f"new password set for {email}; their sessions have ended")
