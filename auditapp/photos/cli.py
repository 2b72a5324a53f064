"""Housekeeping of the photo folder: files no photo row refers to.

Files are written before their rows are committed (so the change lock is held for the rows only);
a crash or kill in between leaves files that no row refers to. `flask photos sweep` lists them, and
removes them with --delete, never touching a file younger than --min-age (an upload in progress).
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ..extensions import db
from .models import Photo
from .storage import unreferenced_files

photos_cli = AppGroup("photos", help="The photo folder.")


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
    photo_dir = Path(current_app.config["PHOTO_DIR"])
    referenced = set(db.session.scalars(select(Photo.sha256).distinct()))
    cutoff = time.time() - min_age * 60
    count = total = 0
    for path in unreferenced_files(photo_dir, referenced):
        try:
            stat = path.stat()
            if stat.st_mtime > cutoff:  # checked again just before removing: a new upload touches its file
                continue
            if delete:
                path.unlink()
        except FileNotFoundError:
            continue
        count, total = count + 1, total + stat.st_size
        click.echo(f"{'removed' if delete else 'would remove'} {path.relative_to(photo_dir)} ({_size(stat.st_size)})")
    verb = "Removed" if delete else "Would remove"
    click.echo(
        f"{verb} {count} files ({_size(total)}) older than {min_age} minutes that no photo refers to"
        + ("." if delete else " (dry run: nothing removed; --delete removes them).")
    )


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"
