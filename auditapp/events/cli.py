"""flask events verify | checkpoint"""

import click
from flask.cli import AppGroup

from .checkpoints import check_against_checkpoints, checkpoint_file, write_checkpoint
from .replay import verify_records
from .services import unkeyed_entries, verify_chain

events_cli = AppGroup("events", help="Check the append-only event log.")


@events_cli.command("verify")
@click.option(
    "--records",
    is_flag=True,
    help="Also replay the history of completed audits, closed nonconformities and held reviews "
    "and compare it with their rows.",
)
def verify(records):
    """Check the keyed hash chain and the checkpoints outside the database (and with --records the rows
    against their history); report every problem found and exit 1."""
    checked, broken = verify_chain()
    if broken:
        click.echo(f"event log BROKEN at {broken} ({checked} entries before it are intact)", err=True)
        raise SystemExit(1)
    unkeyed = unkeyed_entries()
    click.echo(
        f"event log intact: {checked} entries, chain verified"
        + (f"; {unkeyed} entries were written before the log had a key (plain SHA-256)" if unkeyed else "")
    )
    count, problems = check_against_checkpoints(checked)
    for problem in problems:
        click.echo(f"CHECKPOINT: {problem}", err=True)
    if not problems:
        click.echo(
            f"checkpoints: {count} in {checkpoint_file()} agree with the log"
            if count
            else f"checkpoints: none in {checkpoint_file()} (run `flask events checkpoint` regularly)"
        )
    if records:
        report = verify_records()
        for line in report.skipped:
            click.echo(f"skipped: {line}")
        for line in report.differences:
            click.echo(f"RECORD: {line}", err=True)
        click.echo(f"records: {report.checked} compared with their history, {len(report.differences)} differences")
        problems = problems + report.differences
    if problems:
        raise SystemExit(1)


@events_cli.command("checkpoint")
def checkpoint():
    """Append a signed checkpoint of the chain head to the checkpoint file (run it from cron or a timer).

    Every host runs it, without the job lock: it only reads the database, and each host's checkpoint file
    then holds every checkpoint, so `events verify` and backups on any host see them all."""
    written = write_checkpoint()
    click.echo(f"checkpoint: entry {written.seq} {written.hash} at {written.at} -> {checkpoint_file()}")
