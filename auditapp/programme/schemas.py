"""Validation of qualification, programme entry and audit-creation forms."""

from marshmallow import fields, pre_load, validate
from marshmallow.types import ErrorMessages

from ..auditors.models import QualificationKind
from ..core.forms import FormSchema, Id

DATE_ERRORS: ErrorMessages = {"required": "Enter the date.", "invalid": "Enter a date like 2026-12-01."}


def _blanks_to_none(data: dict, *names: str) -> dict:
    return {**data, **{n: None for n in names if data.get(n) in ("", None)}}


class QualificationSchema(FormSchema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf([k.value for k in QualificationKind], error="Choose the kind of qualification."),
        error_messages={"required": "Choose the kind of qualification."},
    )
    title = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200, error="Name the course or training."),
        error_messages={"required": "Name the course or training."},
    )
    provider = fields.String(load_default="", validate=validate.Length(max=200))
    completed_on = fields.Date(required=True, error_messages=DATE_ERRORS)
    expires_on = fields.Date(load_default=None, allow_none=True, error_messages=DATE_ERRORS)
    notes = fields.String(load_default="", validate=validate.Length(max=2000))

    @pre_load
    def blanks(self, data, **kwargs):
        data = _blanks_to_none(data, "expires_on")
        return {k: v for k, v in data.items() if v != ""}


class RemoveSchema(FormSchema):
    reason = fields.String(
        required=True,
        validate=validate.Length(min=5, max=2000, error="Say why the qualification is removed."),
        error_messages={"required": "Say why the qualification is removed."},
    )


class EntrySchema(FormSchema):
    year = fields.Integer(
        required=True, strict=False, validate=validate.Range(min=2000, max=2100, error="Choose a year.")
    )
    area_id = Id(required=True, error_messages={"required": "Choose an area."})
    checklist_id = Id(required=True, error_messages={"required": "Choose a checklist."})
    importance = fields.Integer(
        required=True,
        strict=False,
        validate=validate.OneOf([1, 2, 3], error="Choose low, medium or high."),
        error_messages={"required": "Choose the importance."},
    )
    planned_per_year = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=False,
        validate=validate.Range(min=0, max=12, error="Choose 0 to 12 audits a year."),
        error_messages={"invalid": "Enter a whole number of audits."},
    )
    lead_auditor_id = Id(load_default=None, allow_none=True)
    notes = fields.String(load_default="", validate=validate.Length(max=2000))

    @pre_load
    def blanks(self, data, **kwargs):
        data = _blanks_to_none(data, "planned_per_year", "lead_auditor_id")
        return {k: v for k, v in data.items() if v != ""}


class CreateAuditsSchema(FormSchema):
    lead_auditor_id = Id(
        required=True, error_messages={"required": "Choose the lead auditor.", "invalid": "Choose the lead auditor."}
    )
    override_reason = fields.String(load_default="", validate=validate.Length(max=2000))
    # Also in months that already have an audit of the area with this checklist (off unless ticked).
    same_month = fields.Boolean(load_default=False, truthy={"1", "on", "true"}, falsy={"", "0", "off", "false"})
