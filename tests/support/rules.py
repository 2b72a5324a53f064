"""The evidence and finding rules of issue 15 in tests: a small checklist using every key, and its audit."""

from .audits import plan_audit_of

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
    return plan_audit_of(app, RULES_WALK if write else None, planner, lead, "Rules walk", key="rules-walk")
