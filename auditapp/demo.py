"""flask demo: a ready-to-try instance. Only ever runs when asked for."""
import json
import os
import secrets
from pathlib import Path

import click
from flask import current_app

from .accounts import services as accounts
from .accounts.models import Area, Role
from .checklists import services as checklists
from .extensions import db

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
def demo_command():
    """Create demo users (one per role), two areas and the shipped checklists; print the logins."""
    passwords = _demo_passwords(Path(current_app.instance_path))
    for email, name, role in DEMO_USERS:
        user = accounts.find_user(email)
        if user is None:
            accounts.create_user(None, email, name, role.value, passwords[email])
        elif not user.check_password(passwords[email]):
            # The credentials file was deleted and made anew: keep what we print true.
            accounts.update_user(None, user, user.name, user.role, True, passwords[email])
    owner = accounts.find_user("supervisor@example.com")
    for name, description in DEMO_AREAS:
        if db.session.scalar(db.select(Area).filter_by(name=name)) is None:
            accounts.create_area(None, name, description, owner.id)
    report = checklists.sync_directory(Path(current_app.config["CHECKLIST_DIR"]))
    for problem in report.problems:
        click.echo(str(problem), err=True)
    click.echo("Demo data ready. Log in at http://127.0.0.1:5000 with:")
    for email, _, role in DEMO_USERS:
        click.echo(f"  {role.label:<17} {email:<24} {passwords[email]}")


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
