"""A small scored walk (issue 15, scoring): two sections, item and section weights, a choice with option
points, yes/no and a text answer that is never scored."""

from auditapp.audits.models import Audit

from .audits import plan_audit_of

HEAD = """\
id: scored
title: Scored walk
version: 1
"""
SCORING = "scoring: {points: {conform: 2, observation: 1, ofi: 2, minor_nc: 1, major_nc: 0}}\n"

WALK = """\
sections:
  - title: Sort
    weight: 2
    items:
      - {id: s-01, reference: S-1, question: Only needed items at the bench?}
      - {id: s-02, reference: S-2, question: Red-tag area used?, weight: 3, points: {conform: 4, minor_nc: 2}}
      - id: s-03
        reference: S-3
        question: Floor state?
        answer:
          type: choice
          options:
            - {value: clean, label: Clean, result: conform, points: 3}
            - {value: dusty, label: Dusty, result: observation}
            - {value: none, label: No floor here, result: na}
  - title: Shine
    items:
      - {id: h-01, reference: H-1, question: Machines wiped?, answer: {type: yes_no}}
      - {id: h-02, reference: H-2, question: Who cleans?, answer: {type: text}}
"""


def plan_scored_walk(app, planner, lead) -> Audit:
    """A planned audit of the scored walk, led by `lead`; deviations need no written finding (a walk)."""
    return plan_audit_of(
        app, HEAD + SCORING + "findings: {required_for: []}\n" + WALK, planner, lead, "5S walk, cell 4"
    )
