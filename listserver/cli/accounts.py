"""`listserver users` and `listserver tokens`: console users and API bearer tokens."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from listserver.accounts import users
from listserver.errors import Invalid
from listserver.extensions import db
from listserver.models import Role


@click.group("tokens")
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


@click.group("users")
def users_group() -> None:
    """Console users."""


@users_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([role.value for role in Role]), default=Role.ADMIN.value, show_default=True)
@click.password_option()
@with_appcontext
def users_create(email: str, role: str, password: str) -> None:
    """Create a console user."""
    with db.session() as session:
        try:
            users.create_user(session, email, password, role)
        except Invalid as exc:
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
        except Invalid as exc:
            raise click.ClickException(str(exc))
        session.commit()
    click.echo(f"new password set for {email}; their sessions have ended")
