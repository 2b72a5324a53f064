"""Writing findings: in place on an item, or ad hoc against a clause the auditor picks."""
from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from ..core.forms import first_errors
from ..audits import services as audits
from ..audits.views import CLOSED_MESSAGE, get_audit, get_item, render_item
from ..core.errors import RuleError
from ..extensions import db
from ..core.changes import applies_change
from ..web.rendering import render, wants_fragment
from . import services
from .models import FINDING_GRADES, Finding
from .schemas import AdhocFindingSchema, FindingSchema

bp = Blueprint("findings", __name__)


@bp.post("/<int:audit_id>/items/<int:item_id>/finding")
@applies_change
def save_for_item(audit_id: int, item_id: int):
    """Save the finding of an item answered as a finding; an invalid one comes back with what was typed."""
    audit = get_audit(audit_id, record=True)
    item = get_item(audit, item_id)
    response = audits.response_for(audit, item)
    if response is None or response.result not in FINDING_GRADES:
        return render_item(audit, item, 409, message="Answer the item with a finding grade first.")
    typed = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        data = FindingSchema(grade=response.result, gap=audit.is_gap_analysis).load(request.form)
        services.save_item_finding(current_user, audit, item, response, data)
    except ValidationError as err:
        return render_item(audit, item, 422, errors=first_errors(err), form=typed, edit_finding=True)
    except RuleError as err:  # the audit or the finding's nonconformity is closed
        return render_item(audit, item, err.status, message=err.message)
    return render_item(audit, item, trigger="audit:finding-saved")


def _adhoc(audit, status=200, form=None, errors=None, finding=None):
    context = {"audit": audit, "adhoc_findings": [f for f in services.audit_findings(audit) if f.item_id is None],
               "can_record": audits.can_record(current_user, audit), "clauses": audits.clause_options(audit),
               "adhoc_form": form or {}, "adhoc_errors": errors or {}, "editing": finding}
    return render("audits/adhoc_page.html", "audits/_adhoc.html", status=status, **context)


@bp.post("/<int:audit_id>/findings")
@applies_change
def save_adhoc(audit_id: int):
    """Add (or, with finding_id of an existing one, edit) a finding not tied to a checklist item."""
    audit = get_audit(audit_id, record=True)
    typed = {k: v for k, v in request.form.items() if k != "csrf_token"}
    existing = None
    if typed.get("edit_id"):
        existing = db.session.get(Finding, typed["edit_id"])
        if existing is None or existing.audit_id != audit.id or existing.item_id is not None:
            abort(404)
    try:
        data = AdhocFindingSchema(gap=audit.is_gap_analysis).load({k: v for k, v in typed.items() if k != "edit_id"})
        services.save_adhoc_finding(current_user, audit, data, existing)
    except ValidationError as err:
        return _adhoc(audit, 422, typed, first_errors(err), existing)
    except RuleError as err:
        # Re-rendered in place, so what was typed stays on the screen.
        return _adhoc(audit, err.status, typed, {"_form": err.message}, existing)
    if not wants_fragment():
        return redirect(url_for("audits.show", audit_id=audit.id, _anchor="adhoc"))
    return _adhoc(audit)


@bp.get("/<int:audit_id>/findings/<finding_id>/edit")
def edit_adhoc(audit_id: int, finding_id: str):
    """The ad-hoc findings block with one finding's form filled in for editing."""
    audit = get_audit(audit_id, record=True)
    finding = db.session.get(Finding, finding_id)
    if finding is None or finding.audit_id != audit.id or finding.item_id is not None:
        abort(404)
    form = {k: getattr(finding, k) or "" for k in ("clause", "grade", "gap_category", *services.FIELDS)}
    return _adhoc(audit, form=form, finding=finding)
