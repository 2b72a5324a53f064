"""Housekeeping commands for what the core owns."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from ..extensions import db
from .changes import prune_bodies
from .jobs import run_once, skipped

changes_cli = AppGroup("changes", help="The record of change ids applied once (offline replays).")


@changes_cli.command("prune")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Keep answers of changes newer than this (default: AUDITAPP_CHANGE_RETENTION_DAYS, 30).",
)
@click.option("--dry-run", is_flag=True, help="Only count what would be pruned.")
def prune(days: int | None, dry_run: bool) -> None:
    """Drop stored replay answers past the retention; change ids stay, so nothing applies twice."""
    days = days or current_app.config["CHANGE_RETENTION_DAYS"]
    if dry_run:
        count = prune_bodies(timedelta(days=days), dry_run=True)
        click.echo(f"{count} stored answers are older than {days} days (dry run: nothing changed).")
        return
    with run_once("changes-prune", lease=timedelta(hours=1)) as held:
        if not held:
            click.echo(skipped("changes-prune"))
            return
        count = prune_bodies(timedelta(days=days))
        db.session.commit()
    click.echo(f"Pruned the stored answers of {count} changes older than {days} days; their ids are kept.")
