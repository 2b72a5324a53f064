"""Validation of audit planning, answers, notes, completion and reopening."""

from marshmallow import fields, pre_load, validate

from ..checklists.models import Result
from ..core.forms import FormSchema, Id
from .models import AuditKind


class AuditPlanSchema(FormSchema):
    checklist_id = Id(
        required=True, error_messages={"required": "Choose a checklist.", "invalid": "Choose a checklist."}
    )
    kind = fields.String(
        load_default=AuditKind.INTERNAL.value,
        validate=validate.OneOf([k.value for k in AuditKind], error="Choose internal audit or gap analysis."),
    )
    title = fields.String(required=True, validate=validate.Length(min=1, max=200, error="Give the audit a title."))
    area_id = Id(load_default=None, allow_none=True)
    criteria = fields.String(load_default="", validate=validate.Length(max=4000))
    planned_date = fields.Date(
        required=True,
        error_messages={"required": "Choose the planned date.", "invalid": "Enter a date like 2026-12-01."},
    )
    lead_auditor_id = Id(
        required=True, error_messages={"required": "Choose the lead auditor.", "invalid": "Choose the lead auditor."}
    )
    team_ids = fields.List(Id(), load_default=list)
    auditee = fields.String(load_default="", validate=validate.Length(max=200))
    override_reason = fields.String(load_default="", validate=validate.Length(max=2000))

    @pre_load
    def blanks(self, data, **kwargs):
        """An empty select means 'none' for the area and 'missing' for the required fields."""
        data = {k: v for k, v in data.items() if v != "" or k == "area_id"}
        if data.get("area_id") == "":
            data["area_id"] = None
        return data


class AnswerSchema(FormSchema):
    """A tap on a result, or (answer types, issue 15) a value for the item's answer type: every `value` field
    of the form (a multi_choice sends several), with a result only to change the one a number proposed."""

    result = fields.String(
        load_default=None, validate=validate.OneOf([r.value for r in Result], error="That is not a result.")
    )
    value = fields.List(fields.String(validate=validate.Length(max=4000)), load_default=None)
    base_revision = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))
    response_id = fields.UUID(load_default=None)


def answer_form(form) -> dict:
    """A posted answer as AnswerSchema reads it: every `value` field of the form (a MultiDict), not only its first."""
    data = form.to_dict() if hasattr(form, "to_dict") else dict(form)
    values = form.getlist("value") if hasattr(form, "getlist") else data.get("value")
    if isinstance(values, str):
        values = [values]
    if values:
        data["value"] = list(values)
    else:
        data.pop("value", None)
    if not data.get("result"):  # a number's result select left at "as the limits say"
        data.pop("result", None)
    return data


class NoteSchema(FormSchema):
    note = fields.String(
        load_default="", validate=validate.Length(max=10000, error="Notes are limited to 10,000 characters.")
    )
    base_revision = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))
    response_id = fields.UUID(load_default=None)


class CompleteSchema(FormSchema):
    conclusion = fields.String(
        required=True, validate=validate.Length(min=1, max=20000, error="Write the audit conclusion before completing.")
    )
    confirm_unanswered = fields.Boolean(load_default=False, truthy={"on", "1", "true", "yes"})


class ReopenSchema(FormSchema):
    reason = fields.String(
        required=True, validate=validate.Length(min=5, max=2000, error="Say why the audit is reopened.")
    )


def form_with_lists(form) -> dict:
    """request.form as a dict, with team_ids kept as the list it is."""
    data = form.to_dict()
    data["team_ids"] = [v for v in form.getlist("team_ids") if v]
    return data


class CopySchema(FormSchema):
    """A copy of a repeating section added during the audit (issue 15): the name is optional."""

    name = fields.String(load_default="", validate=validate.Length(max=100, error="A name of at most 100 characters."))
    # The copy the screen asks for ("Station 3"): a retried request answers that copy rather than adding one more.
    number = fields.Integer(load_default=None, validate=validate.Range(min=2, error="A copy number from 2."))
