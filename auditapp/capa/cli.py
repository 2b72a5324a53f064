"""flask actions remind"""

from datetime import date, timedelta

import click
from flask.cli import AppGroup

from ..core.jobs import scheduled
from .reminders import send_reminders

actions_cli = AppGroup("actions", help="Corrective actions.")


@actions_cli.command("remind")
# One host at a time: two runs at once would both find the same reminders owed and send each twice.
@scheduled("reminders", lease=timedelta(hours=1))
def remind():
    """E-mail owners about new, due-soon and overdue actions, and area owners about new nonconformities to
    contain; never twice for the same event."""
    sent, how = send_reminders(date.today(), echo=click.echo)
    if how == "off":
        click.echo("mail is off: set AUDITAPP_SMTP_HOST (or AUDITAPP_DEMO=1 to print reminders instead)")
        return
    click.echo(f"{sent} reminder{'' if sent == 1 else 's'} sent ({how})")
