"""`listserver bounces`: bounce and complaint mail, read the way the workers read it."""

from __future__ import annotations

import json
import sys

import click

from listserver.bounces import messages


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
