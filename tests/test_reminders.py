"""Reminder e-mails to action owners, through a real SMTP server started by the test (aiosmtpd)."""

import socket
from datetime import date, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from auditapp.capa import services as capa
from auditapp.capa.models import ReminderSent
from auditapp.extensions import db

from .support.capa import raise_nc


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's handler name)
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(app):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_FROM="quality@example.com", BASE_URL="https://audit.example.com"
    )
    yield inbox
    controller.stop()


def plan_actions(make_user):
    lead, owner = make_user("quality_lead"), make_user("supervisor", name="Sam Owner", email="sam@example.com")
    nc = raise_nc(lead, description="Torque wrench out of calibration")
    capa.record_containment(lead, nc, "Held")
    capa.identify_cause(lead, nc, ["No recall"], "measurement")
    today = date.today()
    later = capa.add_action(lead, nc, "Write the recall procedure", owner.id, today + timedelta(days=30))
    soon = capa.add_action(lead, nc, "Recalibrate wrench 7", owner.id, today + timedelta(days=2))
    late = capa.add_action(lead, nc, "Check last month's torques", owner.id, today - timedelta(days=1))
    db.session.commit()
    return nc, later, soon, late


def test_owners_hear_on_assignment_due_soon_and_overdue_once(runner, smtp_server, make_user):
    nc, later, soon, late = plan_actions(make_user)
    result = runner.invoke(args=["actions", "remind"])
    assert result.exit_code == 0 and "5 reminders sent (smtp)" in result.output
    subjects = sorted(msg["Subject"] for _, msg in smtp_server.messages)
    assert subjects == sorted(
        [f"[auditapp] New corrective action for you: {nc.number}"] * 3
        + [f"[auditapp] Corrective action due soon: {nc.number}", f"[auditapp] Corrective action OVERDUE: {nc.number}"]
    )
    rcpt, overdue = next((r, m) for r, m in smtp_server.messages if "OVERDUE" in m["Subject"])
    assert rcpt == ["sam@example.com"] and overdue["From"] == "quality@example.com"
    body = overdue.get_content()
    assert "Check last month's torques" in body and "https://audit.example.com/nc/actions/mine" in body
    again = runner.invoke(args=["actions", "remind"])
    assert "0 reminders sent" in again.output and len(smtp_server.messages) == 5


def test_a_done_action_gets_no_more_reminders(runner, smtp_server, make_user):
    nc, later, soon, late = plan_actions(make_user)
    for action in (later, soon, late):
        capa.complete_action(action.owner, action, "Done")
    db.session.commit()
    assert "0 reminders sent" in runner.invoke(args=["actions", "remind"]).output
    assert smtp_server.messages == []


def test_a_failed_send_is_retried_next_time(app, runner, smtp_server, make_user):
    plan_actions(make_user)
    port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = 1  # nothing listens there
    failed = runner.invoke(args=["actions", "remind"])
    assert failed.exit_code != 0 and db.session.scalar(db.select(db.func.count(ReminderSent.id))) == 0
    app.config["SMTP_PORT"] = port
    assert "5 reminders sent" in runner.invoke(args=["actions", "remind"]).output


def test_mail_is_off_by_default_and_printed_in_demo_mode(app, runner, make_user):
    plan_actions(make_user)
    assert "mail is off" in runner.invoke(args=["actions", "remind"]).output
    app.config["MAIL_TO_CONSOLE"] = True
    result = runner.invoke(args=["actions", "remind"])
    assert "demo mode, not sent" in result.output and "5 reminders sent (console)" in result.output
