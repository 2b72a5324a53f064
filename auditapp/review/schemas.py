"""Validation of the management review forms."""

from marshmallow import ValidationError, fields, validate, validates_schema

from ..core.forms import FormSchema, Id
from .models import OUTPUTS, TYPED_INPUTS

TEXT = validate.Length(max=20000, error="At most 20,000 characters.")


class PeriodSchema(FormSchema):
    period_start = fields.Date(
        required=True, error_messages={"required": "Choose the start of the period.", "invalid": "Enter a date."}
    )
    period_end = fields.Date(
        required=True, error_messages={"required": "Choose the end of the period.", "invalid": "Enter a date."}
    )

    @validates_schema
    def ordered(self, data, **kwargs):
        if data["period_end"] < data["period_start"]:
            raise ValidationError("The period must end on or after its start.", "period_end")


# Only the inputs sent are loaded: a form that does not carry one leaves it as it was.
InputsSchema = FormSchema.from_dict({key: fields.String(validate=TEXT) for key in TYPED_INPUTS})


class DecisionSchema(FormSchema):
    output = fields.String(
        required=True,
        validate=validate.OneOf(list(OUTPUTS), error="Choose an output."),
        error_messages={"required": "Choose an output."},
    )
    text = fields.String(
        required=True,
        validate=[validate.Length(min=1, error="Write the decision down."), TEXT],
        error_messages={"required": "Write the decision down."},
    )
    action_owner_id = Id(load_default=None, allow_none=True)
    action_due_date = fields.Date(load_default=None, allow_none=True, error_messages={"invalid": "Enter a date."})
    action_description = fields.String(load_default="", validate=TEXT)

    @validates_schema
    def action_complete(self, data, **kwargs):
        """An action needs both an owner and a due date; neither means the decision has no action."""
        if bool(data.get("action_owner_id")) != bool(data.get("action_due_date")):
            field = "action_due_date" if data.get("action_owner_id") else "action_owner_id"
            raise ValidationError("A tracked action needs both an owner and a due date.", field)
        if data.get("action_description") and not data.get("action_owner_id"):
            raise ValidationError(
                "Choose who owns this action and when it is due, or clear what will be done.", "action_owner_id"
            )

    def load(self, data, **kwargs):
        data = dict(data.items())
        for key in ("action_owner_id", "action_due_date"):
            if data.get(key, "") == "":
                data[key] = None
        return super().load(data, **kwargs)


class MeetingSchema(FormSchema):
    meeting_date = fields.Date(
        required=True, error_messages={"required": "Enter the meeting date.", "invalid": "Enter a date."}
    )
    attendees = fields.String(
        required=True,
        validate=[validate.Length(min=1, error="List who attended."), TEXT],
        error_messages={"required": "List who attended."},
    )
    conclusions = fields.String(
        required=True,
        validate=[validate.Length(min=1, error="Record the conclusions."), TEXT],
        error_messages={"required": "Record the conclusions."},
    )
    confirm = fields.Boolean(
        required=True,
        truthy={"1", "on", "yes"},
        falsy={"", "0"},
        validate=validate.Equal(True, error="Tick to confirm: the record becomes read-only."),
        error_messages={"required": "Tick to confirm: the record becomes read-only."},
    )
