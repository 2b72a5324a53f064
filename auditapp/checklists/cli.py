"""flask checklists check|sync|from-xlsx"""

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from ..core.sheets import MAX_FILE_BYTES
from . import services, spreadsheet
from .loader import Problem, group_problems

checklists_cli = AppGroup("checklists", help="Validate and import the YAML clause checklists.")


@checklists_cli.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--all", "every", is_flag=True, help="One line per problem, without grouping repeated mistakes.")
def check(paths, every):
    """Validate checklist files (default: the checklist folder); exit 1 if any is invalid.

    A mistake repeated in several items is printed once, naming the first few others and their
    lines; --all prints every problem on its own line."""
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
            _echo_problems(loaded.problems, every)
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
    _echo_problems(report.problems, False)
    for path in report.skipped_files:
        click.echo(f"skipped {path}", err=True)
    if report.skipped_files:
        raise SystemExit(1)


def _echo_problems(problems: list[Problem], every: bool) -> None:
    groups = group_problems(problems)
    for line in problems if every else groups:
        click.echo(str(line), err=True)
    if not every and len(groups) < len(problems):
        click.echo("(repeated mistakes are listed once; flask checklists check --all lists every line)", err=True)


@checklists_cli.command("from-xlsx")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--id", "checklist_id", default="", help="Checklist id (a CSV file holds items only).")
@click.option("--title", default="", help="Title, for a CSV file.")
@click.option("--version", default="", help="Version number, for a CSV file.")
@click.option("--standards", default="", help='Standards separated by ";", for a CSV file.')
@click.option("--description", default="", help="Description, for a CSV file.")
def from_xlsx(file, checklist_id, title, version, standards, description):
    """Print the YAML an XLSX or CSV checklist becomes; problems as Sheet!Cell: message. Imports nothing.

    Exit 1 when there are problems. Save the YAML in the checklist folder and run `sync`, or
    upload the spreadsheet on the Checklists from Excel page, to publish it."""
    details = {"id": checklist_id, "title": title, "version": version, "standards": standards}
    details["description"] = description
    with file.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    try:
        result = spreadsheet.read_checklist_upload(data, file.name, details, lambda f: f"--{f.key}")
    except spreadsheet.SpreadsheetRefused as err:
        raise click.ClickException(f"{file.name}: {err.message}")
    click.echo(result.yaml_text, nl=False)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    for problem in result.problems:
        click.echo(str(problem), err=True)
    if result.problems:
        click.echo(f"{len(result.problems)} problem(s); nothing was imported", err=True)
        raise SystemExit(1)
    assert result.data is not None  # no problems: the YAML validated
    click.echo(f"{file.name}: ok, version {result.data['version']}, {result.item_count} items", err=True)
