"""Validation of the gap action plan: one action for one gap, or one owner and due date for all."""

from marshmallow import fields, pre_load, validate

from ..core.forms import FormSchema, Id

TEXT = validate.Length(min=1, max=10000, error="Describe the action (at most 10,000 characters).")


class _OwnerAndDue(FormSchema):
    owner_id = Id(
        required=True,
        error_messages={"required": "Choose who owns the action.", "invalid": "Choose who owns the action."},
    )
    due_date = fields.Date(
        required=True, error_messages={"required": "Choose the due date.", "invalid": "Enter a date like 2026-12-31."}
    )

    @pre_load
    def blanks(self, data, **kwargs):
        """An empty select or date field means 'not chosen', which is 'required', not 'invalid'."""
        return {k: v for k, v in data.items() if v != ""}


class GapActionSchema(_OwnerAndDue):
    description = fields.String(required=True, validate=TEXT, error_messages={"required": "Describe the action."})


class PlanEveryGapSchema(_OwnerAndDue):
    confirm = fields.Boolean(load_default=False, truthy={"yes", "on", "1", "true"})
