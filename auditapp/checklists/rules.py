"""What a checklist asks of an answer: the evidence rules of an item and the finding rules of a checklist.

One place for both, read by the completion check (audits/completion.py), the item's hint on the audit
screen, the finding form's opening and the report, so they can never disagree.

Evidence (per item):
- `photo: required_on_nc` (today's rule): a photo when the result is a nonconformity;
- `photo: always`: a photo whatever the result, but N/A (and "not audited");
- `require: {photo: [results], note: [results]}`: a photo, or a note on the answer, for those results.
A gap analysis asks for no photo (a gap is something missing: there is nothing to photograph).

Findings (per checklist version): `findings: {required_for: [results]}` lists the results that need a
written finding; without it, every finding grade does (today's rule, ISO audits). A result that can be
a finding but is not required to be (a minor deviation on a 5S walk) is a recorded deviation: the
answer and its note are the record; it raises no nonconformity unless the auditor writes a finding.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import RESULT_LABELS, ChecklistItem, ChecklistVersion, PhotoRule, Result

# The results that can carry a finding, and so be required to; findings.models.FINDING_GRADES (and NC_GRADES)
# are these as enums.
FINDING_RESULTS = (Result.MINOR_NC.value, Result.MAJOR_NC.value, Result.OBSERVATION.value, Result.OFI.value)
NC_RESULTS = (Result.MINOR_NC.value, Result.MAJOR_NC.value)
# Results that need no evidence whatever the rules: not applicable, and not audited (set at completion).
NO_EVIDENCE = (Result.NA.value, "not_audited")


@dataclass(frozen=True)
class Evidence:
    """What an answer needs before the audit can complete."""

    photo: bool = False
    note: bool = False


def photo_results(item: ChecklistItem) -> list[str]:
    """The item's results that need a photo, in the item's order."""
    if item.photo_rule == PhotoRule.ALWAYS:
        return [r for r in item.results if r not in NO_EVIDENCE]
    listed = set((item.require or {}).get("photo", []))
    if item.photo_rule == PhotoRule.REQUIRED_ON_NC:
        listed.update(NC_RESULTS)
    return [r for r in item.results if r in listed]


def note_results(item: ChecklistItem) -> list[str]:
    """The item's results that need a note on the answer, in the item's order."""
    listed = set((item.require or {}).get("note", []))
    return [r for r in item.results if r in listed]


def evidence_needed(item: ChecklistItem, result: str | None, gap_analysis: bool = False) -> Evidence:
    """What the item's answer `result` needs: a photo, a note, both or neither."""
    if not result or result in NO_EVIDENCE:
        return Evidence()
    if item.photo_rule == PhotoRule.ALWAYS:
        photo = True  # whatever the result, also one a later checklist format adds
    else:
        photo = result in photo_results(item)
    return Evidence(photo=photo and not gap_analysis, note=result in note_results(item))


def missing_evidence(
    item: ChecklistItem, result: str | None, has_photo: bool, note: str | None, gap_analysis: bool = False
) -> list[str]:
    """What is missing from an answer, as words for a completion blocker ("a photo", "a note")."""
    needed = evidence_needed(item, result, gap_analysis)
    missing = []
    if needed.photo and not has_photo:
        missing.append("a photo")
    if needed.note and not (note or "").strip():
        missing.append("a note")
    return missing


def has_own_rules(item: ChecklistItem) -> bool:
    """The item uses more than today's `photo: required_on_nc` (which the screen shows by a class)."""
    return bool(item.require) or item.photo_rule == PhotoRule.ALWAYS


def _either(results: list[str]) -> str:
    labels = [RESULT_LABELS.get(r, r) for r in results]
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} or {labels[-1]}"


def evidence_hints(item: ChecklistItem) -> list[str]:
    """What the item needs, said before it is graded: "Photo needed if Minor NC or Major NC"."""
    hints = []
    if item.photo_rule == PhotoRule.ALWAYS:
        hints.append("Photo needed unless N/A" if Result.NA.value in item.results else "Photo needed")
    elif photos := photo_results(item):
        hints.append(f"Photo needed if {_either(photos)}")
    if notes := note_results(item):
        hints.append(f"Note needed if {_either(notes)}")
    return hints


def finding_results(version: ChecklistVersion) -> list[str]:
    """The results that need a written finding in audits on this version."""
    if version.finding_results is None:
        return list(FINDING_RESULTS)
    return [r for r in FINDING_RESULTS if r in version.finding_results]


def finding_required(version: ChecklistVersion, result: str | None) -> bool:
    """Does an answer `result` need a written finding before the audit completes?"""
    return result in finding_results(version)


def recorded_deviation(version: ChecklistVersion, result: str | None) -> bool:
    """A result that could be a finding but, by the checklist's rules, is recorded by its answer alone."""
    return result in FINDING_RESULTS and not finding_required(version, result)
