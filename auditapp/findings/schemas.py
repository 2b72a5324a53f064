"""Validation of findings: NCs need a statement and evidence; a major NC says why it is major."""
from marshmallow import ValidationError, fields, validate, validates_schema

from ..accounts.schemas import FormSchema
from ..checklists.models import Result
from ..checklists.schemas import CLAUSE
from .models import FINDING_GRADES, NC_GRADES

LONG_TEXT = validate.Length(max=10000, error="At most 10,000 characters.")


class FindingSchema(FormSchema):
    statement = fields.String(load_default="", validate=LONG_TEXT)
    requirement = fields.String(load_default="", validate=LONG_TEXT)
    evidence = fields.String(load_default="", validate=LONG_TEXT)
    why_major = fields.String(load_default="", validate=LONG_TEXT)
    finding_id = fields.UUID(load_default=None)

    def __init__(self, grade: str, **kwargs):
        super().__init__(**kwargs)
        self.grade = grade

    @validates_schema
    def required_by_grade(self, data, **kwargs):
        errors = {}
        if self.grade in NC_GRADES:
            if not data.get("statement"):
                errors["statement"] = ["Say what was found: a nonconformity needs a statement."]
            if not data.get("evidence"):
                errors["evidence"] = ["Record the objective evidence: what you saw, documents and records sampled."]
        elif not data.get("statement"):
            errors["statement"] = ["Say what was found."]
        if self.grade == Result.MAJOR_NC and not data.get("why_major"):
            errors["why_major"] = ["Say why this is a major nonconformity (e.g. a systemic failure or a risk to product)."]
        if errors:
            raise ValidationError(errors)


class AdhocFindingSchema(FindingSchema):
    clause = fields.String(required=True, validate=validate.Regexp(CLAUSE, error="Enter a clause number such as 8.5.2."),
                           error_messages={"required": "Choose the clause."})
    grade = fields.String(required=True, validate=validate.OneOf([g.value for g in FINDING_GRADES],
                                                                 error="Choose a grade."))

    def __init__(self, **kwargs):
        super().__init__(grade="", **kwargs)

    @validates_schema
    def required_by_grade(self, data, **kwargs):
        self.grade = data.get("grade", "")
        super().required_by_grade(data, **kwargs)
