"""Validation of account and area forms."""

from marshmallow import fields, pre_load, validate

from ..core.forms import FormSchema, Id
from .models import Role

ROLES = [r.value for r in Role]
PASSWORD_RULE = validate.Length(min=12, max=128, error="Use 12 to 128 characters; a short sentence works well.")


class LoginSchema(FormSchema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))


class UserCreateSchema(FormSchema):
    email = fields.Email(required=True, error_messages={"invalid": "Enter an e-mail address like name@example.com."})
    name = fields.String(
        required=True, validate=validate.Length(min=1, max=120, error="Enter a name (at most 120 characters).")
    )
    role = fields.String(required=True, validate=validate.OneOf(ROLES, error="Choose a role from the list."))
    password = fields.String(required=True, validate=PASSWORD_RULE)


class UserUpdateSchema(FormSchema):
    name = fields.String(
        required=True, validate=validate.Length(min=1, max=120, error="Enter a name (at most 120 characters).")
    )
    role = fields.String(required=True, validate=validate.OneOf(ROLES, error="Choose a role from the list."))
    active = fields.Boolean(load_default=False, truthy={"on", "1", "true", "yes"}, falsy={"", "0", "off", "false"})
    password = fields.String(load_default="", validate=lambda p: p == "" or _check_password(p))


class ChecklistAuthorSchema(FormSchema):
    """Grant ("1") or take back ("0") the checklist author permission."""

    allowed = fields.Boolean(required=True, truthy={"1"}, falsy={"0"})


def _check_password(value: str) -> bool:
    PASSWORD_RULE(value)
    return True


class AreaSchema(FormSchema):
    name = fields.String(
        required=True, validate=validate.Length(min=1, max=120, error="Enter a name (at most 120 characters).")
    )
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    owner_id = Id(load_default=None, allow_none=True)

    @pre_load
    def empty_owner(self, data, **kwargs):
        if data.get("owner_id") in ("", None):
            data = {**data, "owner_id": None}
        return data
