"""`listserver hygiene`: what the rules would change now, a run now, and the list's health."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from listserver.extensions import db
from listserver.hygiene import jobs, preview, report, rules

LABELS = {"hard": "hard bounces", "soft": "soft bounces", "blocked": "blocked", "complaints": "complaints"}


@click.group("hygiene")
def hygiene_group() -> None:
    """List hygiene: soft bounces, the sunset, never-confirmed sign-ups; list health."""


@hygiene_group.command("preview")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per rule.")
@with_appcontext
def hygiene_preview(as_json: bool) -> None:
    """Show how many contacts each rule would change now. Changes nothing."""
    with db.session() as session:
        forecasts = preview.preview(session, rules.Policy.of(current_app.config["SETTINGS"]))
    for forecast in forecasts:
        if as_json:
            click.echo(json.dumps({"rule": forecast.rule, "contacts": forecast.contacts, "why": forecast.why}))
        else:
            click.echo(f"{forecast.rule:<16} {forecast.contacts:>9}  {forecast.why}")


@hygiene_group.command("run")
@with_appcontext
def hygiene_run() -> None:
    """Run every rule now, as the daily job does, and print what each changed."""
    run = jobs.run_rules()
    if run is None:
        raise click.ClickException("another hygiene run holds the lock; nothing was done")
    for name, entry in run.summary.items():
        click.echo(f"{name:<16} {entry['changed']:>9}  {entry['why']}")


@hygiene_group.command("report")
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object.")
@with_appcontext
def hygiene_report(as_json: bool) -> None:
    """List health: bounce, block and complaint rates against the mailbox providers' limits, blocks per domain."""
    with db.session() as session:
        health = report.health(session, current_app.config["SETTINGS"])
    if as_json:
        click.echo(json.dumps(health.as_json(), indent=2))
        return
    click.echo(f"List health {health.since:%Y-%m-%d %H:%M} to {health.until:%Y-%m-%d %H:%M} UTC: "
               f"{health.sent} emails sent")
    for name, label in LABELS.items():
        rate = health.percent(name)
        line = f"  {label:<13} {health.counts[name]:>7}  {'-' if rate is None else f'{rate:.2f} %':>8}"
        if name in health.limits:
            verdict = "no emails sent" if rate is None else ("OVER" if name in health.over else "ok")
            line += f"  limit {health.limits[name]:g} %  {verdict}"
        click.echo(line)
    if health.blocks_by_domain:
        click.echo("Blocks by receiving domain:")
        for domain in health.blocks_by_domain:
            statuses = ", ".join(f"{status} x{n}" for status, n in domain.statuses.items())
            click.echo(f"  {domain.domain:<30} {domain.blocks:>7}  {statuses}")
    else:
        click.echo("No blocks reported.")
