"""flask demo: a ready-to-try instance. Only ever runs when asked for."""

import json
import os
import secrets
from datetime import date, timedelta
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import func

from .accounts import services as accounts
from .accounts.models import Area, Role
from .audits import completion, recording
from .audits import services as audits
from .audits.models import Audit
from .capa import services as capa
from .capa.models import Nonconformity
from .checklists import services as checklists
from .checklists.loader import group_problems
from .extensions import db
from .review import services as review

DEMO_USERS = [
    ("auditor@example.com", "Alex Auditor", Role.AUDITOR),
    ("supervisor@example.com", "Sam Supervisor", Role.SUPERVISOR),
    ("quality@example.com", "Quinn Quality", Role.QUALITY_LEAD),
    ("admin@example.com", "Ada Admin", Role.ADMIN),
]
DEMO_AREAS = [
    ("Machining cell 3", "CNC turning and milling of shafts and housings."),
    ("Final assembly", "Assembly, final inspection and packing of pumps."),
]


@click.command("demo")
@click.option("--url", help="The address the app is served at, printed with the logins (default: BASE_URL).")
def demo_command(url: str | None) -> None:
    """Create demo users (one per role), two areas and the shipped checklists; print the logins."""
    passwords = _demo_passwords(Path(current_app.instance_path))
    for email, name, role in DEMO_USERS:
        user = accounts.find_user(email)
        if user is None:
            accounts.create_user(None, email, name, role.value, passwords[email])
        elif not user.check_password(passwords[email]):
            # The credentials file was deleted and made anew: keep what we print true.
            accounts.update_user(None, user, user.name, user.role, True, passwords[email])
    db.session.commit()
    owner = accounts.find_user("supervisor@example.com")
    assert owner is not None  # made above
    for name, description in DEMO_AREAS:
        if db.session.scalar(db.select(Area).filter_by(name=name)) is None:
            accounts.create_area(None, name, description, owner.id)
    db.session.commit()
    report = checklists.sync_directory(Path(current_app.config["CHECKLIST_DIR"]))
    for problem in group_problems(report.problems):
        click.echo(str(problem), err=True)
    if db.session.scalar(db.select(func.count(Audit.id))) == 0:
        _demo_audits()
    click.echo(f"Demo data ready. Log in at {url or current_app.config['BASE_URL']} with:")
    for email, _, role in DEMO_USERS:
        click.echo(f"  {role.label:<17} {email:<24} {passwords[email]}")


def _demo_audits() -> None:
    """Something to look at: today's walk for the auditor, and a completed audit whose
    nonconformity is being worked on. Made through the same services as real use, so it is logged."""
    auditor, quality = accounts.find_user("auditor@example.com"), accounts.find_user("quality@example.com")
    supervisor = accounts.find_user("supervisor@example.com")
    assert auditor and quality and supervisor  # demo_command made them first
    walk = checklists.get_checklist("production-floor-walk")
    if walk is None or walk.latest is None:
        return
    cell, assembly = (db.session.scalar(db.select(Area).filter_by(name=n)) for n, _ in DEMO_AREAS)
    audits.plan_audit(
        quality,
        checklist_id=walk.id,
        title="Machining cell 3 floor walk",
        planned_date=date.today(),
        lead_auditor_id=auditor.id,
        area_id=cell.id,
        auditee="Cell 3 team leader",
    )
    done = audits.plan_audit(
        quality,
        checklist_id=walk.id,
        title="Final assembly floor walk",
        planned_date=date.today() - timedelta(days=7),
        lead_auditor_id=auditor.id,
        area_id=assembly.id,
        auditee="Assembly shift lead",
    )
    db.session.commit()
    items = done.checklist_version.items
    # A demo NC on an item that does not insist on a photo (the demo has no camera).
    nc_item = next(i for i in items if i.photo_rule != "required_on_nc" and "minor_nc" in i.results)
    ofi_item = next(i for i in items if i is not nc_item and "ofi" in i.results)
    for item in items:
        result = "minor_nc" if item is nc_item else "ofi" if item is ofi_item else "conform"
        recording.record_answer(auditor, done, item, result, 0)
        if result != "conform":
            data = {
                "statement": "Two torque wrenches past their calibration date at station 4."
                if result == "minor_nc"
                else "Shadow boards would show missing tools at a glance.",
                "requirement": f"{item.clause}: {item.question}",
                "evidence": "Wrench labels T-114 and T-117, due 2026-10-01; calibration log p. 12."
                if result == "minor_nc"
                else "",
            }
            recording.record_item_finding(auditor, done, item, data)
    db.session.commit()
    completion.complete_audit(
        auditor, done, "The area is well run; one minor nonconformity on measuring equipment.", confirm_unanswered=True
    )
    db.session.commit()
    nc = db.session.scalar(db.select(Nonconformity).filter_by(audit_id=done.id))
    if nc is not None:
        capa.record_containment(supervisor, nc, "Both wrenches quarantined; parts torqued since 1 October re-checked.")
        capa.identify_cause(
            supervisor, nc, ["The recall list was kept on paper", "Nobody owned the paper list"], "method"
        )
        capa.add_action(
            supervisor,
            nc,
            "Put gauge recall dates in the maintenance system with reminders",
            supervisor.id,
            date.today() + timedelta(days=20),
        )
        db.session.commit()
    # A management review being prepared for the last twelve months: its pack fills itself.
    review.prepare(quality, date.today() - timedelta(days=365), date.today())
    db.session.commit()


def _demo_passwords(instance: Path) -> dict[str, str]:
    """Random passwords made once per instance and kept beside it, so they can be printed again."""
    path = instance / "demo-credentials.json"
    if path.exists():
        stored = json.loads(path.read_text())
        if all(email in stored for email, _, _ in DEMO_USERS):
            return stored
    instance.mkdir(parents=True, exist_ok=True)
    stored = {email: f"demo-{secrets.token_urlsafe(9)}" for email, _, _ in DEMO_USERS}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(stored, fh, indent=2)
    return stored
