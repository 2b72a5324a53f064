"""Validation of findings: NCs need a statement and evidence; a major NC says why it is major.

In a gap analysis a Partly in place / Missing answer is a gap: it says what is missing and in
which category; evidence is optional.
"""

from marshmallow import ValidationError, fields, post_load, pre_load, validate, validates_schema

from ..checklists.models import Result
from ..checklists.schemas import CLAUSE
from ..core.forms import FormSchema
from .models import FINDING_GRADES, GAP_CATEGORIES, NC_GRADES

LONG_TEXT = validate.Length(max=10000, error="At most 10,000 characters.")


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
    finding_id = fields.UUID(load_default=None)

    def __init__(self, grade: str | None, gap: bool = False, **kwargs):
        super().__init__(**kwargs)
        # The grade the finding is written for (None: not graded). Not `grade`: that is a field of AdhocFindingSchema.
        self.finding_grade = grade
        self.gap = gap  # the audit is a gap analysis

    @pre_load
    def blank_category(self, data, **kwargs):
        data = dict(data)
        if data.get("gap_category") == "":
            data["gap_category"] = None
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
            if not data.get("evidence"):
                errors["evidence"] = ["Record the objective evidence: what you saw, documents and records sampled."]
        elif not data.get("statement"):
            errors["statement"] = ["Say what was found."]
        if self.finding_grade == Result.MAJOR_NC and not data.get("why_major"):
            errors["why_major"] = [
                "Say why this is a major nonconformity (e.g. a systemic failure or a risk to product)."
            ]
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
