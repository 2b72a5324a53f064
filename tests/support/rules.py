"""The evidence and finding rules of issue 15 in tests: a small checklist using every key, and its audit."""

from datetime import date
from pathlib import Path

from auditapp.audits import services as audits
from auditapp.checklists import services as checklists
from auditapp.extensions import db

RULES_WALK = """\
id: rules-walk
title: Rules walk
version: 1
findings:
  required_for: [major_nc]
sections:
  - title: Area
    items:
      - id: board
        reference: "R-1"
        question: Is the area board up to date?
        photo: always
        results: [conform, minor_nc, major_nc, na]
      - id: bins
        reference: "R-2"
        question: Are the bins labelled?
        require: {photo: [minor_nc], note: [minor_nc]}
        procedures:
          - {title: "Bin labels", url: "https://intranet.example/bins"}
      - id: aisles
        reference: "R-3"
        question: Are aisles clear?
        require: {note: [observation]}
      - id: exits
        reference: "R-4"
        question: Are exits free?
"""


def plan_rules_walk(app, planner, lead, write=True):
    """A planned audit of RULES_WALK, imported into the app's checklist folder (write=False: of the
    rules-walk.yaml the test put there)."""
    folder = Path(app.config["CHECKLIST_DIR"])
    if write:
        (folder / "rules-walk.yaml").write_text(RULES_WALK, encoding="utf-8")
    report = checklists.sync_directory(folder)
    assert not report.problems, report.problems
    audit = audits.plan_audit(
        planner,
        checklist_id=checklists.get_checklist("rules-walk").id,
        title="Rules walk",
        planned_date=date.today(),
        lead_auditor_id=lead.id,
    )
    db.session.commit()
    return audit
