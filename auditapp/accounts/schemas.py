"""Validation of account and area forms."""
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from .models import Role

ROLES = [r.value for r in Role]
MAX_ID = 2**31 - 1


def Id(**kwargs) -> fields.Integer:
    """A database id from a form: a whole number the database can hold, or a clear message."""
    kwargs.setdefault("validate", validate.Range(min=1, max=MAX_ID, error="Choose from the list."))
    kwargs.setdefault("strict", False)
    return fields.Integer(**kwargs)


PASSWORD_RULE = validate.Length(min=12, max=128, error="Use 12 to 128 characters; a short sentence works well.")


class FormSchema(Schema):
    """Form posts carry a CSRF token and buttons: ignore unknown fields, trim text."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def strip(self, data, **kwargs):
        return {k: (v.strip() if isinstance(v, str) and k != "password" else v) for k, v in data.items()}


class LoginSchema(FormSchema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))


class UserCreateSchema(FormSchema):
    email = fields.Email(required=True, error_messages={"invalid": "Enter an e-mail address like name@example.com."})
    name = fields.String(required=True, validate=validate.Length(min=1, max=120, error="Enter a name (at most 120 characters)."))
    role = fields.String(required=True, validate=validate.OneOf(ROLES, error="Choose a role from the list."))
    password = fields.String(required=True, validate=PASSWORD_RULE)


class UserUpdateSchema(FormSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120, error="Enter a name (at most 120 characters)."))
    role = fields.String(required=True, validate=validate.OneOf(ROLES, error="Choose a role from the list."))
    active = fields.Boolean(load_default=False, truthy={"on", "1", "true", "yes"}, falsy={"", "0", "off", "false"})
    password = fields.String(load_default="", validate=lambda p: p == "" or _check_password(p))


def _check_password(value: str) -> bool:
    PASSWORD_RULE(value)
    return True


class AreaSchema(FormSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120, error="Enter a name (at most 120 characters)."))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    owner_id = Id(load_default=None, allow_none=True)

    @pre_load
    def empty_owner(self, data, **kwargs):
        if data.get("owner_id") in ("", None):
            data = {**data, "owner_id": None}
        return data


def first_errors(error: ValidationError) -> dict[str, str]:
    """One message per field, for showing beside the inputs."""
    messages = error.messages if isinstance(error.messages, dict) else {"_form": error.messages}
    return {k: (v[0] if isinstance(v, list) else str(v)) for k, v in messages.items()}
