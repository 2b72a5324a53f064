"""Commands for the reports' kept summaries."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..extensions import db
from . import coverage

coverage_cli = AppGroup("coverage", help="The clause coverage map's summary, kept as audits complete and reopen.")


@coverage_cli.command("rebuild")
def rebuild() -> None:
    """Recount the summary from the records: after audits were changed by SQL behind the app's back.

    Safe at any time (it reads only completed audits); the map is right again when it commits."""
    coverage.rebuild_all()
    db.session.commit()
    click.echo("Clause coverage summary rebuilt from the completed audits.")
