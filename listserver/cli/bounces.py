"""`listserver bounces` and `listserver inbound`: bounce and complaint mail, read the way the workers read it,
taken in from an MTA's pipe, files, or SMTP/LMTP."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext

from listserver.bounces import intake, messages, receiver
from listserver.bounces import jobs as bounce_jobs
from listserver.cli.serve import stop_on_signal

EX_TEMPFAIL = 75  # sysexits.h: an MTA that piped the message keeps it and tries again
DATABASE_AWAY = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)


@click.group("bounces")
def bounces_group() -> None:
    """Bounce and complaint messages."""


@bounces_group.command("classify")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line: file, kind, recipient, status, reason.")
def bounces_classify(files: tuple[str, ...], as_json: bool) -> None:
    """Show what each message would do (hard, soft, other, complaint, ignored, unknown), storing nothing.

    One line per recipient a message names, so a bounce about several addresses gives several lines.
    """
    failed = False
    for path in files:
        try:
            with open(path, "rb") as file:
                raw = file.read(messages.TEXT_LIMIT * 4)  # read() looks at the first TEXT_LIMIT characters
        except OSError as exc:
            click.echo(f"listserver: cannot read {path}: {exc.strerror or type(exc).__name__}", err=True)
            failed = True
            continue
        for report in messages.read(raw):
            if as_json:
                click.echo(json.dumps({"file": path, "kind": report.kind.value, "recipient": report.recipient,
                                       "status": report.status, "reason": report.reason}, ensure_ascii=False))
            else:
                click.echo(f"{path}: {report.kind.value} {report.recipient or '-'} {report.status or '-'} "
                           f"{report.reason}".rstrip())
    if failed:
        sys.exit(1)


def store(app: Flask, arrivals: Sequence[intake.Arrival]) -> int:
    """bounce_jobs.take_in, from a thread of the receiver's (outside the app's context)."""
    with app.app_context():
        return bounce_jobs.take_in(arrivals)


@bounces_group.command("ingest")
@click.argument("files", nargs=-1, type=click.Path(allow_dash=True))
@with_appcontext
def bounces_ingest(files: tuple[str, ...]) -> None:
    """Store bounce messages to be read: each FILE is one message; none or - reads one from stdin (an MTA pipe).

    Exits 75 (try again later) when the database is away, 1 when a file could not be taken.
    """
    limit = current_app.config["SETTINGS"].inbound_max_bytes
    arrivals, refused = [], 0
    for name in files or ("-",):
        try:
            with click.open_file(name, "rb") as source:
                content = source.read(limit + 1)
        except OSError as exc:
            click.echo(f"listserver: cannot read {name}: {exc.strerror or type(exc).__name__}", err=True)
            refused += 1
            continue
        if len(content) > limit:
            click.echo(f"listserver: {name} is larger than {limit} bytes (LISTSERVER_INBOUND_MAX_BYTES); not stored",
                       err=True)
            refused += 1
            continue
        arrivals.append(receiver.arrival(content))
    try:
        new = bounce_jobs.take_in(arrivals)
    except DATABASE_AWAY as exc:
        click.echo(f"listserver: the database is unreachable ({type(exc).__name__}); nothing stored, "
                   "try again later", err=True)
        sys.exit(EX_TEMPFAIL)
    click.echo(f"{new} stored, {len(arrivals) - new} stored before, {refused} not taken")
    if refused:
        sys.exit(1)


@click.command("inbound")
@click.option("--lmtp", is_flag=True, help="Speak LMTP (for an MTA that hands mail over locally) instead of SMTP.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=2525, show_default=True, type=int)
@with_appcontext
def inbound(lmtp: bool, host: str, port: int) -> None:
    """Receive bounce mail for the return paths (bounces+...@ the bounce domain) until stopped."""
    app = current_app._get_current_object()
    settings = app.config["SETTINGS"]
    handler = receiver.Receiver(settings, lambda arrivals: store(app, arrivals))
    stop = stop_on_signal()
    controller = receiver.serve(handler, host, port, lmtp=lmtp)
    click.echo(f"receiving bounces for bounces+...@{settings.return_path_domain} with "
               f"{'LMTP' if lmtp else 'SMTP'} on {host}:{port}", err=True)
    try:
        stop.wait()
    finally:
        controller.stop()
