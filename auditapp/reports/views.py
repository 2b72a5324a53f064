"""Certification readiness for quality leads and management: clause coverage, readiness checklist."""

from datetime import date, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError, fields, validate

from ..accounts.models import Role
from ..checklists import standards
from ..core import tabular
from ..core.forms import FormSchema, first_errors
from ..core.timeutil import utcnow
from ..extensions import db
from ..scope import services as qms_scope
from ..web.security import roles_required
from . import export, services

bp = Blueprint("reports", __name__)


@bp.get("/coverage")
@roles_required(Role.QUALITY_LEAD, Role.ADMIN)
def coverage():
    """Every clause of a standard (ISO 9001 unless ?standard= says): audited in the last 12 months, with what
    result; clauses covered only through a parent clause as partly covered."""
    key = request.args.get("standard", standards.ISO9001)
    if standards.get_standard(key) is None:
        abort(404, description=f"No standard {key!r}; the app knows {', '.join(standards.names())}.")
    covered = services.standard_coverage(utcnow(), key)
    return render_template(
        "reports/coverage.html",
        covered=covered,
        rows=covered.rows,
        audited=covered.audited,
        partly=covered.partly,
        in_use=services.standards_in_use(),
    )


@bp.get("/readiness")
@roles_required(Role.QUALITY_LEAD, Role.ADMIN)
def readiness():
    """The path to certification, each step green or red with a link to what is missing."""
    return render_template("reports/readiness.html", lines=services.readiness(utcnow()))


TEXT = validate.Length(min=1, max=10000, error="Fill this in (at most 10,000 characters).")


class ScopeSchema(FormSchema):
    activities = fields.String(required=True, validate=TEXT)
    sites = fields.String(required=True, validate=TEXT)
    products_services = fields.String(required=True, validate=TEXT)
    exclusions = fields.String(load_default="", validate=validate.Length(max=10000))
    change_note = fields.String(load_default="", validate=validate.Length(max=2000))


@bp.route("/scope", methods=["GET", "POST"])
@roles_required(Role.QUALITY_LEAD, Role.ADMIN)
def scope():
    """The QMS scope statement with its revisions; quality leads add a revision."""
    current = qms_scope.current_scope()
    form = (
        {k: getattr(current, k) for k in ("activities", "sites", "products_services", "exclusions")} if current else {}
    )
    errors, status = {}, 200
    if request.method == "POST":
        if not current_user.has_role(Role.QUALITY_LEAD):
            return render_template(
                "errors/page.html", status=403, title="Forbidden", message="Only a quality lead revises the scope."
            ), 403
        form = {k: v for k, v in request.form.items() if k != "csrf_token"}
        try:
            data = ScopeSchema().load(request.form)
            revised = qms_scope.revise_scope(current_user, **data)
            db.session.commit()
        except ValidationError as err:
            errors, status = first_errors(err), 422
        else:
            flash(f"Scope revision {revised.revision} recorded.", "success")
            return redirect(url_for("reports.scope"))
    return render_template(
        "reports/scope.html", current=current, revisions=qms_scope.scope_revisions(), form=form, errors=errors
    ), status


@bp.get("/audit-results.<any(csv, xlsx):fmt>")
@roles_required(Role.QUALITY_LEAD, Role.ADMIN)
def audit_results(fmt: str):
    """Results (or, with kind=findings, findings) of the audits completed in a period; default 12 months."""
    until = _date_arg("until") or date.today()
    since = _date_arg("since") or until - timedelta(days=365)
    kind = "findings" if request.args.get("kind") == "findings" else "results"
    body = export.export(kind, fmt, since, until)
    name = f"audit-{kind}-{since.isoformat()}-{until.isoformat()}.{fmt}"
    return Response(
        body, mimetype=tabular.MIMETYPES[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
