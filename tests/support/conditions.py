"""Show-if conditions (issue 15) in tests: a small checklist with a conditional item, a conditional
section and a chain, and its audit."""

from .audits import plan_audit_of

# gate (yes/no) -> why (asked when gate is "no") ; kind (choice) -> the "Spill kit" section when kind is
# chemical or both; kit-where (in that section) -> kit-sealed (asked when kit-where is conform): a chain.
SHOW_IF_WALK = """\
id: showif-walk
title: Show-if walk
version: 1
sections:
  - title: Receiving
    items:
      - id: gate
        reference: "S-1"
        question: Is the goods-in gate closed?
        answer: {type: yes_no, "no": major_nc}
      - id: why
        reference: "S-2"
        question: Why is the gate open?
        answer: {type: text}
        show_if: {item: gate, answer: ["no", "na"]}
      - id: kind
        reference: "S-3"
        question: What is stored here?
        answer:
          type: choice
          options: [dry, chemical, both]
  - title: Spill kit
    show_if: {item: kind, answer: [chemical, both]}
    items:
      - id: kit-where
        reference: "S-4"
        question: Is a spill kit at hand?
        results: [conform, minor_nc, na]
      - id: kit-sealed
        reference: "S-5"
        question: Is the spill kit sealed?
        photo: required_on_nc
        show_if: {item: kit-where, answer: [conform]}
"""


def plan_show_if_walk(app, planner, lead, write=True):
    """A planned audit of SHOW_IF_WALK, imported into the app's checklist folder (write=False: of the
    showif-walk.yaml the test put there)."""
    return plan_audit_of(app, SHOW_IF_WALK if write else None, planner, lead, "Show-if walk", key="showif-walk")
