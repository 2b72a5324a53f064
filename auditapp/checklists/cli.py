"""flask checklists check|sync"""

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from . import services

checklists_cli = AppGroup("checklists", help="Validate and import the YAML clause checklists.")


@checklists_cli.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def check(paths):
    """Validate checklist files (default: the checklist folder); exit 1 if any is invalid."""
    if not paths:
        paths = (Path(current_app.config["CHECKLIST_DIR"]),)
    files: list[Path] = []
    for path in paths:
        files.extend(services.checklist_files(path) if path.is_dir() else [path])
    if not files:
        raise click.ClickException(f"no checklist files (*.yaml) in {', '.join(map(str, paths))}")
    results = services.check_files(files)
    invalid = 0
    for loaded in results:
        if loaded.ok and loaded.data is not None:
            click.echo(f"{loaded.display_path}: ok, version {loaded.data['version']}, {loaded.item_count} items")
        else:
            invalid += 1
            for problem in loaded.problems:
                click.echo(str(problem), err=True)
    click.echo(f"{len(results) - invalid} valid, {invalid} invalid")
    if invalid:
        raise SystemExit(1)


@checklists_cli.command("sync")
def sync():
    """Import every valid checklist file; a changed file becomes a new version."""
    report = services.sync_directory(Path(current_app.config["CHECKLIST_DIR"]))
    for version in report.imported:
        click.echo(f"imported {version.checklist.key} version {version.number} ({len(version.items)} items)")
    for version in report.unchanged:
        click.echo(f"unchanged {version.checklist.key} version {version.number}")
    for problem in report.problems:
        click.echo(str(problem), err=True)
    for path in report.skipped_files:
        click.echo(f"skipped {path}", err=True)
    if report.skipped_files:
        raise SystemExit(1)
