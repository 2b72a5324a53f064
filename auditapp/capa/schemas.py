"""Validation of the nonconformity forms."""

from marshmallow import fields, pre_load, validate

from ..checklists.schemas import CLAUSE
from ..core.forms import FormSchema, Id
from .models import CAUSE_CATEGORIES, SEVERITIES, SOURCES

TEXT = validate.Length(max=10000, error="At most 10,000 characters.")


class ManualNCSchema(FormSchema):
    source = fields.String(required=True, validate=validate.OneOf(list(SOURCES), error="Choose where it came from."))
    clause = fields.String(
        required=True,
        validate=validate.Regexp(CLAUSE, error="Enter a clause number such as 8.5.2."),
        error_messages={"required": "Enter the clause it breaches."},
    )
    area_id = Id(load_default=None, allow_none=True)
    severity = fields.String(required=True, validate=validate.OneOf(list(SEVERITIES), error="Choose minor or major."))
    description = fields.String(
        required=True,
        validate=[validate.Length(min=1, error="Describe the nonconformity."), TEXT],
        error_messages={"required": "Describe the nonconformity."},
    )

    @pre_load
    def blank_area(self, data, **kwargs):
        data = dict(data)
        if data.get("area_id") == "":
            data["area_id"] = None
        return data


class CauseSchema(FormSchema):
    """The 5-Whys editor: the whys as typed so far, the category, and which button was pressed."""

    why = fields.List(
        fields.String(validate=validate.Length(max=2000, error="Keep each why under 2,000 characters.")),
        load_default=list,
        validate=validate.Length(max=10, error="At most ten whys."),
    )
    category = fields.String(
        load_default="",
        validate=validate.OneOf(["", *CAUSE_CATEGORIES], error="Choose the cause category from the list."),
    )
    op = fields.String(load_default="save", validate=validate.Regexp(r"^(save|add|(up|down|remove):\d{1,2})$"))


class ContainSchema(FormSchema):
    containment = fields.String(load_default="", validate=TEXT)


class ActionSchema(FormSchema):
    description = fields.String(load_default="", validate=TEXT)
    owner_id = Id(load_default=None, allow_none=True, error_messages={"invalid": "Choose who owns the action."})
    due_date = fields.Date(
        load_default=None, allow_none=True, error_messages={"invalid": "Enter a date like 2026-12-31."}
    )

    @pre_load
    def blanks(self, data, **kwargs):
        return {k: (None if v == "" and k in ("owner_id", "due_date") else v) for k, v in data.items()}


class VerifySchema(FormSchema):
    result = fields.String(
        required=True,
        validate=validate.OneOf(["effective", "not_effective"], error="Choose effective or not effective."),
        error_messages={"required": "Choose effective or not effective."},
    )
    evidence = fields.String(load_default="", validate=TEXT)
    verified_on = fields.Date(
        required=True,
        error_messages={"required": "Enter the date of the check.", "invalid": "Enter a date like 2026-12-31."},
    )


class ReasonSchema(FormSchema):
    reason = fields.String(
        required=True,
        validate=validate.Length(min=3, max=2000, error="Say why."),
        error_messages={"required": "Say why."},
    )


class CompleteActionSchema(FormSchema):
    note = fields.String(load_default="", validate=TEXT)
