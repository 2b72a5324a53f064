"""Reminders to action owners: on assignment, a few days before the due date, and when overdue; and to
an area's owner, once per nonconformity, that a new one there needs containment.

`flask actions remind` is meant for cron (one host at a time: core.jobs.scheduled). Each (action, kind)
and each containment notice is sent at most once: the record is written only after the mail server
accepted the message, so a failed run is simply retried.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..accounts.models import Area
from ..extensions import db
from .models import ActionStatus, ContainmentNotice, CorrectiveAction, NCStatus, Nonconformity, ReminderSent
from .services import live_action

SUBJECTS = {
    "assigned": "New corrective action for you",
    "due_soon": "Corrective action due soon",
    "overdue": "Corrective action OVERDUE",
}


@dataclass
class Reminder:
    action: CorrectiveAction
    kind: str

    @property
    def to(self) -> str:
        return self.action.owner.email

    def message(self, sender: str, base_url: str) -> EmailMessage:
        nc = self.action.nonconformity
        source = f"{nc.number}" if nc else self.action.origin_label
        msg = EmailMessage()
        msg["From"], msg["To"] = sender, self.to
        msg["Subject"] = f"[auditapp] {SUBJECTS[self.kind]}: {source}"
        about = f"Nonconformity: {nc.number} ({nc.clause}) {nc.title}" if nc else f"From: {source}"
        msg.set_content(
            f"Hello {self.action.owner.name},\n\n"
            f"{SUBJECTS[self.kind]}.\n\n"
            f"{about}\n"
            f"Action: {self.action.description}\n"
            f"Due: {self.action.due_date:%a %d %b %Y}\n\n"
            f"Your actions: {base_url.rstrip('/')}/nc/actions/mine\n"
        )
        return msg

    def record(self) -> ReminderSent:
        return ReminderSent(action_id=self.action.id, kind=self.kind, sent_to=self.to)


@dataclass
class ContainmentReminder:
    """A new nonconformity in an area: its owner contains it (10.2.1 a), the same day."""

    nc: Nonconformity

    @property
    def to(self) -> str:
        assert self.nc.area is not None and self.nc.area.owner is not None  # chosen by due_containment
        return self.nc.area.owner.email

    def message(self, sender: str, base_url: str) -> EmailMessage:
        nc, area = self.nc, self.nc.area
        assert area is not None and area.owner is not None
        msg = EmailMessage()
        msg["From"], msg["To"] = sender, self.to
        msg["Subject"] = f"[auditapp] New nonconformity needs containment: {nc.number}"
        msg.set_content(
            f"Hello {area.owner.name},\n\n"
            f"A {nc.severity} nonconformity was raised in {area.name}. Contain it and correct what you can today.\n\n"
            f"{nc.number} (clause {nc.clause or '-'}), raised {nc.raised_at:%a %d %b %Y}\n"
            f"{nc.description}\n\n"
            f"Record the containment: {base_url.rstrip('/')}/nc/{nc.id}#containment\n"
        )
        return msg

    def record(self) -> ContainmentNotice:
        return ContainmentNotice(nonconformity_id=self.nc.id, sent_to=self.to)


def due_containment() -> list[ContainmentReminder]:
    """Open (not yet contained) nonconformities in an area with an active owner, not told yet."""
    told = select(ContainmentNotice.nonconformity_id)
    ncs = db.session.scalars(
        select(Nonconformity)
        .join(Area, Nonconformity.area_id == Area.id)
        .where(Nonconformity.status == NCStatus.OPEN, Area.owner_id.is_not(None), Nonconformity.id.not_in(told))
        .options(selectinload(Nonconformity.area).selectinload(Area.owner))
        .order_by(Nonconformity.id)
    ).all()
    return [ContainmentReminder(nc) for nc in ncs if nc.area and nc.area.owner and nc.area.owner.active]


def due_reminders(today: date, days_before: int) -> list[Reminder]:
    """Reminders owed for open actions that were not sent yet."""
    sent = set(db.session.execute(select(ReminderSent.action_id, ReminderSent.kind)).all())
    actions = db.session.scalars(
        select(CorrectiveAction)
        .outerjoin(Nonconformity)
        .where(CorrectiveAction.status == ActionStatus.OPEN, live_action())
        .options(selectinload(CorrectiveAction.owner), selectinload(CorrectiveAction.nonconformity))
    ).all()
    owed = []
    for action in actions:
        if not action.owner.active:
            continue
        kinds = ["assigned"]
        if action.due_date < today:
            kinds.append("overdue")
        elif action.due_date <= today + timedelta(days=days_before):
            kinds.append("due_soon")
        owed += [Reminder(action, kind) for kind in kinds if (action.id, kind) not in sent]
    return owed


def send_reminders(today: date, echo=print) -> tuple[int, str]:
    """Send what is owed; returns (number sent, how: smtp | console | off)."""
    config = current_app.config
    how = "smtp" if config["SMTP_HOST"] else "console" if config["MAIL_TO_CONSOLE"] else "off"
    if how == "off":
        return 0, how
    reminders: list[Reminder | ContainmentReminder] = [*due_containment()]
    reminders += due_reminders(today, config["REMIND_DAYS_BEFORE"])
    if not reminders:
        return 0, how
    sent = 0
    with _Transport(how) as transport:
        for reminder in reminders:
            transport(reminder.message(config["MAIL_FROM"], config["BASE_URL"]), echo)
            db.session.add(reminder.record())
            db.session.commit()  # one at a time: a crash later never causes a second mail for this one
            sent += 1
    return sent, how


class _Transport:
    """A context manager yielding send(message, echo): SMTP, or printing in demo mode."""

    def __init__(self, how: str):
        self.how = how
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self):
        if self.how == "console":
            return lambda msg, echo: echo(f"--- mail (demo mode, not sent) ---\n{msg}")
        config = current_app.config
        self.smtp = smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=30)
        if config["SMTP_STARTTLS"]:
            self.smtp.starttls()
        if config["SMTP_USER"]:
            self.smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
        return lambda msg, echo: self.smtp.send_message(msg)

    def __exit__(self, *exc):
        if self.smtp is not None:
            self.smtp.quit()
