"""Building audits for tests: a small checklist, a planned audit, answering its items (fixtures: walk, plan)."""

import re
from datetime import date
from pathlib import Path

import pytest

from auditapp.audits import services as audits
from auditapp.audits.models import Response
from auditapp.checklists import services as checklists
from auditapp.checklists.models import Checklist
from auditapp.extensions import db

HX = {"HX-Request": "true"}

WALK = """\
id: walk
title: Floor walk
version: 1
standard: ISO 9001:2015
sections:
  - clause: "7"
    title: Support
    items:
      - id: 7.1.5-gauges
        clause: "7.1.5"
        question: Are gauges within calibration?
        guidance: Check three gauge labels.
        evidence: [calibration label]
        photo: required_on_nc
      - id: 7.2-training
        clause: "7.2"
        question: Are operators trained for this station?
        results: [conform, minor_nc, major_nc, observation, ofi]
  - clause: "8"
    title: Operation
    items:
      - id: 8.5.2-traceability
        clause: "8.5.2"
        question: Are parts traceable to their work order?
      - id: 8.7-segregation
        clause: "8.7"
        question: Is nonconforming product segregated and tagged?
      - id: 8.5.4-storage
        clause: "8.5.4"
        question: Is product stored so it is protected?
"""


def import_walk(app) -> Checklist:
    folder = Path(app.config["CHECKLIST_DIR"])
    (folder / "walk.yaml").write_text(WALK, encoding="utf-8")
    checklists.sync_directory(folder)
    return checklists.get_checklist("walk")


@pytest.fixture
def walk(app):
    return import_walk(app)


@pytest.fixture
def plan(app, walk, make_user):
    """plan(lead=..., team=[...], area=None) -> a planned audit of the walk checklist."""
    planner = make_user("quality_lead", name="Planner")

    def make(lead=None, team=(), area=None, planned=None, title="Machining cell walk"):
        lead = lead or make_user("auditor")
        audit = audits.plan_audit(
            planner,
            checklist_id=walk.id,
            title=title,
            planned_date=planned or date.today(),
            lead_auditor_id=lead.id,
            team_ids=[m.id for m in team],
            area_id=area.id if area else None,
        )
        db.session.commit()
        return audit

    return make


def plan_audit_of(app, text: str | Path | None, planner, lead, title: str, key: str | None = None):
    """A planned audit, today, of a checklist imported into the app's checklist folder: `text` is its YAML (or
    a shipped file, copied), written as <key>.yaml; None imports what the test put there (then name its `key`).
    `key` is the checklist's id, read from the text when not given. The folder must import without problems."""
    if isinstance(text, Path):
        text = text.read_text(encoding="utf-8")
    key = key or re.search(r"^id: *(\S+)", text or "", re.M).group(1)
    folder = Path(app.config["CHECKLIST_DIR"])
    if text is not None:
        (folder / f"{key}.yaml").write_text(text, encoding="utf-8")
    report = checklists.sync_directory(folder)
    assert not report.problems, report.problems
    audit = audits.plan_audit(
        planner,
        checklist_id=checklists.get_checklist(key).id,
        title=title,
        planned_date=date.today(),
        lead_auditor_id=lead.id,
    )
    db.session.commit()
    return audit


def items_of(audit):
    return {i.key: i for i in audit.checklist_version.items}


def reload(obj):
    db.session.refresh(obj)
    return obj


def answer(client, audit, item, result, base_revision=None, **headers):
    if base_revision is None:
        r = db.session.scalar(db.select(Response).filter_by(audit_id=audit.id, item_id=item.id))
        base_revision = r.revision if r else 0
    return client.post(
        f"/audits/{audit.id}/items/{item.id}/answer",
        data={"result": result, "base_revision": base_revision},
        headers={**HX, **headers},
    )


def plan_iso_audit(app, planner, lead):
    """A planned audit of the shipped ISO 9001 system checklist (94 items): the largest audit page.

    The shipped checklists must be in the app's checklist folder (fixture shipped_checklists)."""
    checklists.sync_directory(Path(app.config["CHECKLIST_DIR"]))
    iso = checklists.get_checklist("iso9001-2015")
    audit = audits.plan_audit(
        planner, checklist_id=iso.id, title="ISO 9001 system audit", planned_date=date.today(), lead_auditor_id=lead.id
    )
    db.session.commit()
    return audit
