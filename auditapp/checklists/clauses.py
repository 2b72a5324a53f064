"""The auditable clauses of ISO 9001:2015 (4.1 to 10.3), as short references for coverage.

Read from the standard's file (`standards/iso9001-2015.yaml`, see `standards.py`); kept for the
gap analysis, which is an ISO 9001 report."""

from .standards import iso9001

AUDITABLE_CLAUSES = [(c.code, c.title) for c in iso9001().units]


def auditable_clause_of(clause: str) -> str | None:
    """The auditable clause a checklist clause counts as: "7.1.5.1" -> "7.1.5", "9.2.2" -> "9.2";
    None for a heading ("7.1") or a clause ISO 9001 does not have ("5.1.6")."""
    return iso9001().unit_of(clause)
