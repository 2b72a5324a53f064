"""A scored checklist with a repeating, conditional station section (issue 15): scoring, show-if and
repeating sections in one audit. Shared by the server and browser tests of the three together."""

from auditapp.audits.models import Audit

from .audits import plan_audit_of

TOGETHER = """\
id: cell-walk
title: Cell walk
version: 1
scoring:
  points: {conform: 2, observation: 1, ofi: 2, minor_nc: 1, major_nc: 0}
sections:
  - title: Cell
    weight: 1
    items:
      - id: cell-clean
        reference: C1
        question: Is the cell clean?
  - title: Station
    weight: 3
    repeat: {label: Station, max: 4}
    items:
      - id: guard
        reference: S1
        question: Is the guard closed?
        answer: {type: yes_no, "no": major_nc}
      - id: why-open
        reference: S2
        question: Was the open guard reported to the supervisor?
        show_if: {item: guard, answer: ["no"]}
      - id: tags
        reference: S3
        question: Are defect tags filled in?
"""


def plan_cell_walk(app, make_user) -> tuple[Audit, object]:
    """Import TOGETHER and plan an audit of it today: (the audit, its lead auditor)."""
    lead = make_user("auditor")
    return plan_audit_of(app, TOGETHER, make_user("quality_lead"), lead, "Cell 3 walk"), lead


def item_ids(audit) -> dict[str, int]:
    return {i.key: i.id for i in audit.checklist_version.items}


def station_id(audit) -> int:
    return next(s.id for s in audit.checklist_version.sections if s.repeat)
