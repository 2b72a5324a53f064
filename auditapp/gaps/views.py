"""The gap analysis report, clause by clause, and its action plan (one gap at a time, or every gap at once)."""

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_htmx import make_response as htmx_response
from flask_login import current_user
from marshmallow import ValidationError

from ..accounts.models import User
from ..audits.models import Audit
from ..audits.views import get_audit
from ..capa import services as capa
from ..core.changes import applies_change
from ..core.errors import Conflict, RuleError
from ..core.forms import first_errors
from ..extensions import db
from ..web.rendering import render, wants_fragment
from . import services
from .schemas import GapActionSchema, PlanEveryGapSchema

bp = Blueprint("gaps", __name__)


def gap_vocabulary():
    return {"gap_status_labels": services.STATUS_LABELS, "gap_action_state": services.action_state}


def get_gap_audit(audit_id: int) -> Audit:
    """A gap-analysis audit the user may see; 404 for internal audits and for those who may not see it."""
    audit = get_audit(audit_id)
    if not audit.is_gap_analysis:
        abort(404, description="This audit is an internal audit, not a gap analysis.")
    return audit


def get_gap(audit: Audit, finding_id: str) -> services.Gap:
    gap = services.gap_of(audit, finding_id)
    if gap is None:
        abort(404)
    return gap


def _plan_context(audit: Audit, **extra) -> dict:
    can_plan = services.can_plan(current_user, audit)
    return {
        "audit": audit,
        "can_plan": can_plan,
        "owners": capa.assignable_owners() if can_plan else [],
        "form_for": None,
        "form": {},
        "errors": {},
        "today": date.today(),
        **extra,
    }


@bp.get("/<int:audit_id>/gaps")
def report(audit_id: int):
    """What is missing, clause by clause, with the action plan for each gap; printable."""
    audit = get_gap_audit(audit_id)
    return render_template("gaps/report.html", report=services.gap_report(audit), **_plan_context(audit))


@bp.get("/<int:audit_id>/gaps/<finding_id>")
def gap(audit_id: int, finding_id: str):
    """One gap with its actions and the form to plan one more."""
    audit = get_gap_audit(audit_id)
    return render("gaps/gap_page.html", "gaps/_gap.html", gap=get_gap(audit, finding_id), **_plan_context(audit))


@bp.post("/<int:audit_id>/gaps/<finding_id>/actions")
@applies_change
def plan_action(audit_id: int, finding_id: str):
    """Turn a gap into a tracked action with an owner and a due date; refused input comes back as typed."""
    audit = get_gap_audit(audit_id)
    if not services.can_plan(current_user, audit):
        abort(403, description="Only quality leads and the lead auditor plan the actions of a gap analysis.")
    gap = get_gap(audit, finding_id)
    typed = {k: v for k, v in request.form.items() if k not in ("csrf_token", "change_id")}
    try:
        data = GapActionSchema().load(request.form)
        action = services.plan_gap_action(
            current_user, audit, gap.finding, data["description"], data["owner_id"], data["due_date"]
        )
    except ValidationError as err:
        return _gap_answer(audit, finding_id, 422, form=typed, errors=first_errors(err))
    except RuleError as err:
        db.session.rollback()
        return _gap_answer(audit, finding_id, err.status, form=typed, errors={err.field: err.message})
    if not wants_fragment():
        flash(f"Action planned for the gap at {gap.finding.clause}, owned by {action.owner.name}.", "success")
        return redirect(url_for("gaps.report", audit_id=audit.id, _anchor=f"gap-{finding_id}"))
    response = _gap_answer(audit, finding_id)
    return htmx_response(response, trigger={"gap:action-planned": {"gap": finding_id}})


def _gap_answer(audit: Audit, finding_id: str, status: int = 200, form=None, errors=None):
    gap = services.gap_of(audit, finding_id) or abort(404)
    return render(
        "gaps/gap_page.html",
        "gaps/_gap.html",
        status=status,
        gap=gap,
        **_plan_context(audit, form_for=finding_id, form=form or {}, errors=errors or {}),
    )


def _every_gap_context(audit: Audit, **extra) -> dict:
    if not services.can_plan(current_user, audit):
        abort(403, description="Only quality leads and the lead auditor plan the actions of a gap analysis.")
    return {
        "audit": audit,
        "pending": services.gap_report(audit).without_action,
        "owner_options": [(u.id, u.name) for u in capa.assignable_owners()],
        "form": {},
        "errors": {},
        "confirming": False,
        "owner": None,
        "due_date": None,
        **extra,
    }


@bp.get("/<int:audit_id>/gaps/plan-every-gap")
def plan_every_gap_form(audit_id: int):
    """One owner and due date for every gap without an action: the form."""
    return render_template("gaps/plan_every_gap.html", **_every_gap_context(get_gap_audit(audit_id)))


@bp.post("/<int:audit_id>/gaps/plan-every-gap")
@applies_change
def plan_every_gap(audit_id: int):
    """Check the owner and due date and ask for confirmation; once confirmed, plan every gap without an action."""
    audit = get_gap_audit(audit_id)
    form = {k: v for k, v in request.form.items() if k not in ("csrf_token", "change_id", "confirm")}
    context = _every_gap_context(audit, form=form)
    try:
        data = PlanEveryGapSchema().load(request.form)
        if not data["confirm"]:
            owner = db.session.get(User, data["owner_id"])
            if owner is None or not owner.active:
                raise RuleError("owner_id", "Choose who owns the action.")
            if not context["pending"]:
                raise Conflict("_form", "Every gap already has an action.")
            # Nothing is planned yet: show what would be, and ask once more.
            return render_template(
                "gaps/plan_every_gap.html",
                **{**context, "confirming": True, "owner": owner, "due_date": data["due_date"]},
            )
        planned = services.plan_every_gap(current_user, audit, data["owner_id"], data["due_date"])
    except ValidationError as err:
        return render_template("gaps/plan_every_gap.html", **{**context, "errors": first_errors(err)}), 422
    except RuleError as err:
        db.session.rollback()
        return render_template(
            "gaps/plan_every_gap.html", **{**context, "errors": {err.field: err.message}}
        ), err.status
    flash(
        f"{len(planned)} action{'' if len(planned) == 1 else 's'} planned, owned by {planned[0].owner.name}, "
        f"due {planned[0].due_date:%d %b %Y}.",
        "success",
    )
    return redirect(url_for("gaps.report", audit_id=audit.id))
