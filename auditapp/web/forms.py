"""One way to handle a posted form: validate with its schema, apply, commit; or say why, field by field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import request
from marshmallow import Schema, ValidationError

from ..core.errors import RuleError
from ..core.forms import first_errors
from ..extensions import db


@dataclass
class Submission:
    """What became of a posted form: the applied result, or the messages beside the fields and the status."""

    result: Any = None
    errors: dict[str, str] = field(default_factory=dict)
    status: int = 200
    refusal: RuleError | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def submit(
    schema: Schema, apply: Callable[[dict[str, Any]], Any], form: Mapping[str, Any] | None = None, commit: bool = True
) -> Submission:
    """Load the form with the schema and apply it; commit (unless applies_change will), or roll back.

    A schema's messages come back with 422, a rule's refusal with its own status (RuleError: 422,
    Conflict: 409). NotAllowed is not caught: it reaches the factory's 403 page."""
    try:
        result = apply(schema.load(request.form if form is None else form))
        if commit:
            db.session.commit()
    except ValidationError as err:
        db.session.rollback()
        return Submission(errors=first_errors(err), status=422)
    except RuleError as err:
        db.session.rollback()
        return Submission(errors={err.field: err.message}, status=err.status, refusal=err)
    return Submission(result=result)


def typed_in(*leave_out: str) -> dict[str, str]:
    """What the user typed, to show again after a refusal (never the CSRF token or change id)."""
    hidden = {"csrf_token", "change_id", *leave_out}
    return {k: v for k, v in request.form.items() if k not in hidden}
