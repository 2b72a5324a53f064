"""flask backup create | verify | restore"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click
from flask.cli import AppGroup

from .backup import CreateReport, check_archive, create_backup
from .databases import BackupError
from .restore import RestoreReport, check_for_restore, restore_backup

backup_cli = AppGroup("backup", help="Back up the database and photos into one archive; check it; restore it.")
ARCHIVE = click.Path(dir_okay=False, path_type=Path)


@backup_cli.command("create")
@click.argument("path", type=ARCHIVE)
@click.option(
    "--with-keys",
    is_flag=True,
    help="Also put the event log's key in the archive (whoever holds both can rewrite the log undetected).",
)
def create(path: Path, with_keys: bool) -> None:
    """Back up the database and photos into PATH, while the app serves.

    PATH ends in .tar, or .tar.gz to compress: a snapshot of the database, every photo its rows refer to, the
    checkpoint file and a manifest of SHA-256 hashes."""
    started = time.monotonic()
    try:
        report = create_backup(path, with_keys=with_keys)
    except (BackupError, OSError) as exc:  # OSError: the photo store (a bucket too) or the archive's disk
        click.echo(f"backup failed: {exc}", err=True)
        raise SystemExit(1)
    _say_created(report, time.monotonic() - started)


def _say_created(report: CreateReport, seconds: float) -> None:
    rows = sum(report.tables.values())
    click.echo(
        f"backup written: {report.path} ({report.size / 1024 / 1024:.1f} MB in {seconds:.1f} s): {report.kind} "
        f"database ({len(report.tables)} tables, {rows} rows), {report.photos} photos for {report.photo_rows} "
        "photo rows"
    )
    if report.snapshots > 1:
        click.echo(f"(photos were removed meanwhile: the snapshot was taken {report.snapshots} times)")
    if report.with_keys:
        click.echo("the event key is IN the archive: keep the archive as secret as the key")
    else:
        click.echo("the event key is not in the archive: a restore needs it from its safe copy (see README)")


@backup_cli.command("verify")
@click.argument("path", type=ARCHIVE)
def verify(path: Path) -> None:
    """Check the archive PATH; exit 1 on any problem.

    The manifest, every member's hash and size, the database snapshot, and every photo row's file."""
    with tempfile.TemporaryDirectory(prefix="auditapp-verify-") as work:
        check = check_archive(path, Path(work))
    for problem in check.problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    if check.problems:
        click.echo(f"{path}: {len(check.problems)} problems; do not rely on this backup", err=True)
        raise SystemExit(1)
    manifest = check.manifest
    click.echo(
        f"{path}: OK: {len(manifest['members'])} members match the manifest; {manifest['database']} snapshot "
        f"of {manifest['created_at']} (revision {manifest['alembic_revision']}) reads; "
        f"{check.photo_rows} photo rows, all {len(check.photo_shas)} photos present with their hash"
    )


@backup_cli.command("restore")
@click.argument("path", type=ARCHIVE)
@click.option("--force", is_flag=True, help="Restore into an instance that holds data: its database is WIPED first.")
@click.option("--yes", is_flag=True, help="With --force: do not ask for confirmation.")
def restore(path: Path, force: bool, yes: bool) -> None:
    """Restore the archive PATH into this empty instance; stop the app first.

    The database and the photo store named by this instance's settings must be empty (--force wipes the
    database). The archive is checked first; after the restore, rows and photos are checked against it."""
    with tempfile.TemporaryDirectory(prefix="auditapp-restore-") as work:
        try:
            check, held = check_for_restore(path, Path(work), force)
            if held:
                click.echo(f"--force: this instance holds {'; '.join(held)}; its database will be WIPED.")
                if not yes:
                    click.confirm("Wipe it and restore the backup?", abort=True)
        except (BackupError, OSError) as exc:  # OSError: the photo store (a bucket too) could not be read
            click.echo(f"restore refused: {exc}", err=True)
            raise SystemExit(1)
        try:
            report = restore_backup(path, check, wipe=bool(held))
        except (BackupError, OSError) as exc:
            click.echo(f"restore failed partway: {exc}", err=True)
            click.echo("the instance may hold part of the backup: fix the cause, then restore again with --force")
            raise SystemExit(1)
    _say_restored(report)


def _say_restored(report: RestoreReport) -> None:
    click.echo(
        f"restored: {report.kind} database at revision {report.revision} ({len(report.tables)} tables, "
        f"{sum(report.tables.values())} rows), {report.photo_rows} photo rows, {report.photos} photos"
        + (", the checkpoint file" if report.checkpoints else "")
    )
    click.echo(f"event key: {report.key}")
    for problem in report.problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    if report.problems:
        raise SystemExit(1)
    click.echo("next: `flask events verify`, then start the app (run `flask db upgrade` first if it is newer)")
