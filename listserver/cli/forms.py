"""`listserver lists` and `listserver forms`: mailing lists and opt-in forms from YAML/JSON files."""

from __future__ import annotations

import json
from pathlib import Path

import click
import yaml
from flask import current_app, render_template
from flask.cli import with_appcontext

from listserver.contacts.links import Links
from listserver.extensions import db
from listserver.forms import publishing, versions
from listserver.forms.definition import FormDefinition


def _read_spec(path: str) -> object:
    text = Path(path).read_text(encoding="utf-8")
    try:
        return json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise click.ClickException(f"{path} is not valid {'JSON' if path.endswith('.json') else 'YAML'}: {exc}")


@click.group("lists")
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


@click.group("forms")
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
        slug = FormDefinition.from_json(version.definition).slug
        base_url = current_app.config["SETTINGS"].base_url
        click.echo(f"form {slug} version {version.number}: {base_url.rstrip('/')}/f/{slug}")


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
        origins = FormDefinition.from_json(version.definition).allowed_origins
        sites = ", ".join(origins) or "(no other site)"
        click.echo(f"form {slug} version {version.number} may be embedded on: {sites}")


@forms_group.command("embed")
@click.argument("slug")
@with_appcontext
def forms_embed(slug: str) -> None:
    """Print the snippets that put a form on another site: script, iframe, plain HTML."""
    with db.session() as session:
        if versions.current_version(session, slug) is None:
            raise click.ClickException(f"there is no form {slug!r}")
    form_url = Links(current_app.config["SETTINGS"]).form(slug)
    click.echo(render_template("embed_snippets.txt", form_url=form_url, slug=slug))
