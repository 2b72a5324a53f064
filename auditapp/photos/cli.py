"""Housekeeping of the photo store: files no photo row refers to.

Files are written before their rows are committed (so the change lock is held for the rows only);
a crash or kill in between leaves files that no row refers to. `flask photos sweep` lists them, and
removes them with --delete, never touching a file younger than --min-age (an upload in progress).
"""

from __future__ import annotations

import time
from datetime import timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..core.jobs import run_once, skipped
from ..extensions import db
from .models import Photo
from .storage import photo_store

photos_cli = AppGroup("photos", help="The photo store.")


@photos_cli.command("sweep")
@click.option("--delete", is_flag=True, help="Remove the files (default: a dry run that only lists them).")
@click.option(
    "--min-age",
    type=click.IntRange(min=0),
    default=60,
    show_default=True,
    help="Minutes; younger files are never removed, as an upload may not have committed its rows yet.",
)
def sweep(delete: bool, min_age: int) -> None:
    """Photo files (and left-over temporary files) that no row of the photos table refers to."""
    if not delete:
        _sweep(delete, min_age)
        return
    # Hosts sharing one store remove its files one host at a time.
    with run_once("photos-sweep", lease=timedelta(hours=2)) as held:
        if not held:
            click.echo(skipped("photos-sweep"))
            return
        _sweep(delete, min_age)


def _sweep(delete: bool, min_age: int) -> None:
    store = photo_store()
    referenced = set(db.session.scalars(select(Photo.sha256).distinct()))
    cutoff = time.time() - min_age * 60
    count = total = 0
    for file in store.files():
        # A new upload of the same photo refreshes its files, so a young file may be about to be used.
        if (file.sha256 in referenced and not file.temporary) or file.modified > cutoff:
            continue
        if delete:
            store.remove(file.name)
        count, total = count + 1, total + file.size
        click.echo(f"{'removed' if delete else 'would remove'} {file.name} ({_size(file.size)})")
    verb = "Removed" if delete else "Would remove"
    click.echo(
        f"{verb} {count} files ({_size(total)}) older than {min_age} minutes that no photo refers to"
        + ("." if delete else " (dry run: nothing removed; --delete removes them).")
    )


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"
