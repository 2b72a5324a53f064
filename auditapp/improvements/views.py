"""The improvement register: observations and OFIs, and what was decided for each."""

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError, fields

from ..accounts.models import Role
from ..capa import services as capa
from ..capa.schemas import ActionSchema, CompleteActionSchema, ReasonSchema
from ..core.errors import RuleError
from ..core.forms import FormSchema
from ..extensions import db
from . import services
from .models import Improvement

bp = Blueprint("improvements", __name__)


class SeveritySchema(FormSchema):
    severity = fields.String(load_default="")


def get_entry(entry_id: int) -> Improvement:
    entry = db.get_or_404(Improvement, entry_id)
    if not services.can_view(current_user, entry):
        abort(404)
    return entry


@bp.get("/")
def index():
    """Observations and opportunities for improvement, newest first, with their decisions."""
    return _page()


def _page(failed: dict | None = None, status: int = 200):
    """The register; a refused decision comes back on its entry with what was typed."""
    return render_template(
        "improvements/index.html",
        entries=services.visible(current_user),
        is_quality_lead=current_user.has_role(Role.QUALITY_LEAD),
        owners=capa.assignable_owners(),
        today=date.today(),
        failed=failed or {},
    ), status


STEPS = {
    "action": (
        ActionSchema,
        lambda e, d: services.raise_action(current_user, e, d["description"], d["owner_id"], d["due_date"]),
        "Action raised.",
    ),
    "done": (CompleteActionSchema, lambda e, d: services.complete_action(current_user, e, d["note"]), "Action done."),
    "nc": (
        SeveritySchema,
        lambda e, d: services.raise_nonconformity(current_user, e, d["severity"]),
        "Nonconformity raised.",
    ),
    "decline": (ReasonSchema, lambda e, d: services.decline(current_user, e, d["reason"]), "Recorded: no action."),
}


@bp.post("/<int:entry_id>/<any(action, done, nc, decline):step>")
def decide(entry_id: int, step: str):
    """Raise an action or a nonconformity from an entry, complete its action, or decline it."""
    entry = get_entry(entry_id)
    if step != "done" and not current_user.has_role(Role.QUALITY_LEAD):
        abort(403, description="Only a quality lead decides on register entries.")
    schema, apply, message = STEPS[step]
    try:
        apply(entry, schema().load(request.form))
        db.session.commit()
    except (ValidationError, RuleError) as err:
        db.session.rollback()
        message = (
            err.message
            if isinstance(err, RuleError)
            else " ".join(m for msgs in err.messages_dict.values() for m in msgs)
        )
        typed = {k: v for k, v in request.form.items() if k not in ("csrf_token", "change_id")}
        return _page({"id": entry.id, "step": step, "form": typed, "error": message}, 422)
    flash(message, "success")
    return redirect(url_for("improvements.index", _anchor=f"entry-{entry.id}"))
