"""The `listserver` command: run, workers, scheduler, migrations, and data until the console exists.

Each command group lives in its own module; this one makes the app and puts the groups together.
"""

from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup

from listserver import create_app
from listserver.cli import accounts, bounces, contacts, database, forms, hygiene, serve
from listserver.settings import SettingsError


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


for command in (serve.run, serve.worker, serve.scheduler, database.db_group, forms.lists_group, forms.forms_group,
                contacts.contacts_group, accounts.tokens_group, accounts.users_group, bounces.bounces_group,
                bounces.inbound, hygiene.hygiene_group):
    main.add_command(command)
