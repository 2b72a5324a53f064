"""The base of every form schema: unknown fields ignored, text trimmed, ids bounded, one message per field."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

# The largest id an INTEGER column holds on PostgreSQL and SQLite alike.
MAX_ID = 2**31 - 1
# Control characters other than tab, line feed and carriage return: no person types them, screens
# do not show them, and PostgreSQL refuses NUL in text outright.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: Any, trim: bool = True) -> Any:
    """A typed value without control characters (and trimmed); lists cleaned item by item."""
    if isinstance(value, list):
        return [clean_text(v, trim) for v in value]
    if not isinstance(value, str):
        return value
    value = CONTROL_CHARACTERS.sub("", value)
    return value.strip() if trim else value


def Id(**kwargs: Any) -> fields.Integer:  # noqa: N802  (reads like a field class in a schema)
    """A database id from a form: a whole number the database can hold, or a clear message."""
    kwargs.setdefault("validate", validate.Range(min=1, max=MAX_ID, error="Choose from the list."))
    kwargs.setdefault("strict", False)
    return fields.Integer(**kwargs)


def form_id(value: object) -> int | None:
    """A database id typed into a query string or form, or None when it cannot be one."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


class FormSchema(Schema):
    """Form posts carry a CSRF token and buttons: ignore unknown fields, drop control characters, trim text."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def strip(self, data: Any, **kwargs: Any) -> Any:
        # A password is taken as typed: it is hashed, never stored or shown.
        return {k: (v if k == "password" else clean_text(v)) for k, v in data.items()}


def first_errors(error: ValidationError) -> dict[str, str]:
    """One message per field, for showing beside the inputs."""
    messages = error.messages if isinstance(error.messages, dict) else {"_form": error.messages}
    return {k: (v[0] if isinstance(v, list) else str(v)) for k, v in messages.items()}
