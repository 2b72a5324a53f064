"""Housekeeping of the photo store: files no photo row refers to.

Files are written before their rows are committed (so the change lock is held for the rows only);
a crash or kill in between leaves files that no row refers to. `flask photos sweep` lists them, and
removes them with --delete, never touching a file younger than --min-age (an upload in progress).
`flask photos check` tries the configured store; `flask photos copy-to-s3` moves the folder to a bucket.
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ..core.jobs import run_once, skipped
from ..extensions import db
from .models import Photo
from .s3 import S3Store
from .storage import FolderStore, PhotoStore, StoredFile, photo_store

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
            if not _still_unused(store, file, cutoff):
                continue
            store.remove(file.name)
        count, total = count + 1, total + file.size
        click.echo(f"{'removed' if delete else 'would remove'} {file.name} ({_size(file.size)})")
    verb = "Removed" if delete else "Would remove"
    click.echo(
        f"{verb} {count} files ({_size(total)}) older than {min_age} minutes that no photo refers to"
        + ("." if delete else " (dry run: nothing removed; --delete removes them).")
    )


# What `photos check` writes, reads back and deletes: named by its hash like a photo, but never a JPEG,
# so no real photo (always re-encoded as one) can share its name.
_PROBE = b"auditapp photo store check"
_PROBE_SHA256 = hashlib.sha256(_PROBE).hexdigest()


@photos_cli.command("check")
def check() -> None:
    """Whether the configured photo store can be reached, written, read and deleted from (exit 1 if not)."""
    kind = current_app.config.get("PHOTO_STORAGE", "folder")
    store = photo_store()
    try:
        store.check()
        store.write(_PROBE_SHA256, _PROBE)
        read_back = store.read(_PROBE_SHA256)
        store.delete(_PROBE_SHA256)
    except OSError as err:
        raise click.ClickException(f"The photo store ({kind}) is not usable: {err}")
    if read_back != _PROBE:
        raise click.ClickException(f"The photo store ({kind}) did not give back what was written.")
    click.echo(f"The photo store ({kind}) is reachable and writable.")


@photos_cli.command("copy-to-s3")
def copy_to_s3() -> None:
    """Copy every photo of AUDITAPP_PHOTO_DIR to the AUDITAPP_S3_* bucket, checking each image's hash.

    Safe to run again (objects already there are skipped) and while the app runs; it stops at the first
    problem (exit 1). Switch the app to AUDITAPP_PHOTO_STORAGE=s3 after a clean run, then run it once more."""
    source = FolderStore(current_app.config["PHOTO_DIR"])
    target = S3Store.from_config(current_app.config)
    copied = present = 0
    try:
        target.check()
        # Thumbnails first, as a store saves them: a full image in the bucket always has its thumbnail.
        for file in sorted(source.files(), key=lambda f: not f.thumbnail):
            if file.temporary:
                continue
            if target.has(file.sha256, file.thumbnail):
                present += 1
                continue
            copied += _copy(source, target, file.sha256, file.thumbnail)
    except OSError as err:
        raise click.ClickException(f"Stopped after copying {copied} files: {err}")
    click.echo(f"Copied {copied} files to bucket {target.bucket!r}; {present} were there already.")


def _copy(source: FolderStore, target: S3Store, sha256: str, thumbnail: bool) -> bool:
    """Upload one file (True if it was still there); a full image must hash to its name before and after."""
    data = source.read(sha256, thumbnail)
    if data is None:  # removed since it was listed: nothing refers to it
        return False
    if not thumbnail and hashlib.sha256(data).hexdigest() != sha256:
        raise click.ClickException(f"{sha256}.jpg in {source.folder} does not match its hash: not copied.")
    target.write(sha256, data, thumbnail)
    if not thumbnail and hashlib.sha256(target.read(sha256) or b"").hexdigest() != sha256:
        raise click.ClickException(f"{sha256}.jpg read back from the bucket does not match its hash.")
    return True


def _still_unused(store: PhotoStore, file: StoredFile, cutoff: float) -> bool:
    """Asked again just before removing: a listing can be minutes old on a large bucket, and meanwhile
    an upload of the same photo may have refreshed the file or committed its row."""
    modified = store.modified(file.name)
    if modified is None or modified > cutoff:
        return False
    return file.temporary or not db.session.scalar(select(Photo.id).where(Photo.sha256 == file.sha256).limit(1))


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"
