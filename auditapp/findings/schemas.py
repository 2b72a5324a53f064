"""Validation of findings: NCs need a statement and evidence; a major NC says why it is major.

Objective evidence is typed or photographed: a nonconformity whose item has a photo (or gets one in
the same request) needs no typed evidence. Why it is major is one of MAJOR_REASONS, words, or both;
they are kept together in `why_major` ("<reason>: <words>").

In a gap analysis a Partly in place / Missing answer is a gap: it says what is missing and in
which category; evidence is optional.
"""

from marshmallow import ValidationError, fields, post_load, pre_load, validate, validates_schema

from ..checklists.models import Result
from ..checklists.schemas import CLAUSE
from ..core.forms import FormSchema
from .models import FINDING_GRADES, GAP_CATEGORIES, MAJOR_REASONS, NC_GRADES

LONG_TEXT = validate.Length(max=10000, error="At most 10,000 characters.")


def split_why_major(text: str) -> tuple[str, str]:
    """The reason code and the words of a stored `why_major` (the form shows them apart again)."""
    for code, reason in MAJOR_REASONS.items():
        if text == reason:
            return code, ""
        if text.startswith(reason + ": "):
            return code, text[len(reason) + 2 :]
    return "", text


class FindingSchema(FormSchema):
    statement = fields.String(load_default="", validate=LONG_TEXT)
    requirement = fields.String(load_default="", validate=LONG_TEXT)
    evidence = fields.String(load_default="", validate=LONG_TEXT)
    why_major = fields.String(load_default="", validate=LONG_TEXT)
    gap_category = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(list(GAP_CATEGORIES), error="Choose documents, records, responsibilities or controls."),
    )
    why_major_reason = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(list(MAJOR_REASONS), error="Choose one of the reasons shown."),
    )
    finding_id = fields.UUID(load_default=None)

    def __init__(self, grade: str | None, gap: bool = False, has_photo: bool = False, **kwargs):
        super().__init__(**kwargs)
        # The grade the finding is written for (None: not graded). Not `grade`: that is a field of AdhocFindingSchema.
        self.finding_grade = grade
        self.gap = gap  # the audit is a gap analysis
        self.has_photo = has_photo  # a photo of the item is evidence already (kept, or sent with the finding)

    @pre_load
    def blank_category(self, data, **kwargs):
        data = dict(data)
        for name in ("gap_category", "why_major_reason"):
            if data.get(name) == "":
                data[name] = None
        return data

    @post_load
    def reason_in_words(self, data, **kwargs):
        """The chosen reason, then what the auditor added, in the one `why_major` of the record."""
        reason = MAJOR_REASONS.get(data.pop("why_major_reason", None) or "")
        if self.finding_grade != Result.MAJOR_NC:
            return data
        words = data.get("why_major", "").strip()
        if reason and not words.startswith(reason):
            data["why_major"] = f"{reason}: {words}" if words else reason
        return data

    @post_load
    def category_only_on_gaps(self, data, **kwargs):
        if not (self.gap and self.finding_grade in NC_GRADES):
            data["gap_category"] = None
        return data

    @validates_schema
    def required_by_grade(self, data, **kwargs):
        errors = {}
        if self.gap and self.finding_grade in NC_GRADES:
            if not data.get("statement"):
                errors["statement"] = ["Say what is missing: documents, records, responsibilities or controls."]
            if not data.get("gap_category"):
                errors["gap_category"] = ["Choose what kind of thing is missing."]
            if errors:
                raise ValidationError(errors)
            return
        if self.finding_grade in NC_GRADES:
            if not data.get("statement"):
                errors["statement"] = ["Say what was found: a nonconformity needs a statement."]
            if not data.get("evidence") and not self.has_photo:
                errors["evidence"] = [
                    "Record the objective evidence: what you saw, documents and records sampled, or add a photo."
                ]
        elif not data.get("statement"):
            errors["statement"] = ["Say what was found."]
        if self.finding_grade == Result.MAJOR_NC and not (data.get("why_major") or data.get("why_major_reason")):
            errors["why_major"] = ["Choose why this is a major nonconformity, or say it in words."]
        if errors:
            raise ValidationError(errors)


class AdhocFindingSchema(FindingSchema):
    clause = fields.String(
        required=True,
        validate=validate.Regexp(CLAUSE, error="Enter a clause number such as 8.5.2."),
        error_messages={"required": "Choose the clause."},
    )
    grade = fields.String(
        required=True, validate=validate.OneOf([g.value for g in FINDING_GRADES], error="Choose a grade.")
    )

    def __init__(self, gap: bool = False, **kwargs):
        super().__init__(grade="", gap=gap, **kwargs)

    @validates_schema
    def required_by_grade(self, data, **kwargs):
        self.finding_grade = data.get("grade", "")
        super().required_by_grade(data, **kwargs)
