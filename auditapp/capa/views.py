"""The nonconformity log, its detail page with the 10.2 steps, My actions, and exports."""

from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from ..accounts import services as accounts
from ..accounts.models import Role
from ..core import tabular
from ..core.changes import applies_change
from ..core.errors import RuleError
from ..core.forms import clean_text, first_errors
from ..extensions import db
from ..photos import intake
from ..photos import services as photos
from ..photos.pipeline import PhotoRejected
from ..web.rendering import render, wants_fragment
from ..web.security import roles_required
from . import export, log, services
from .models import (
    ACTION_ORIGINS,
    CAUSE_CATEGORIES,
    NC_STATUS_LABELS,
    SEVERITIES,
    SOURCES,
    CorrectiveAction,
    NCStatus,
    Nonconformity,
)
from .schemas import (
    ActionSchema,
    CauseSchema,
    CompleteActionSchema,
    ContainSchema,
    ManualNCSchema,
    ReasonSchema,
    VerifySchema,
)

bp = Blueprint("capa", __name__)


def capa_vocabulary():
    return {
        "nc_status_labels": NC_STATUS_LABELS,
        "nc_sources": SOURCES,
        "cause_categories": CAUSE_CATEGORIES,
        "severities": SEVERITIES,
        "today": date.today(),
        # Called by the menu only for those who own an area: the count of new NCs they must contain.
        "containment_due": lambda: services.awaiting_containment_count(current_user),
    }


def get_nc(nc_id: int) -> Nonconformity:
    """The nonconformity, or 404 for anyone who may not see it (ids are not secrets to guess)."""
    nc = db.get_or_404(Nonconformity, nc_id)
    if not services.can_view(current_user, nc):
        abort(404)
    return nc


def get_action(action_id: int) -> CorrectiveAction:
    action = db.get_or_404(CorrectiveAction, action_id)
    if not services.can_view_action(current_user, action):
        abort(404)
    return action


# --- the log -----------------------------------------------------------------------------------


@bp.get("/")
def index():
    """All nonconformities the user may see, filtered, searched, sorted and paged from the URL."""
    filters = log.parse_filters(request.args)
    page = log.log_page(current_user, filters, date.today())
    sees_all = current_user.has_role(Role.QUALITY_LEAD, Role.ADMIN)
    return render(
        "capa/index.html",
        "capa/_results.html",
        page=page,
        areas=log.areas_in_view(current_user),
        owners=services.assignable_owners() if sees_all else [current_user],
        can_raise=sees_all,
    )


@bp.get("/export.<any(csv, xlsx):fmt>")
def export_log(fmt: str):
    """The filtered log (or, with kind=actions, its corrective actions) as CSV or XLSX."""
    filters = log.parse_filters(request.args)
    kind = "actions" if request.args.get("kind") == "actions" else "nonconformities"
    rows = log.export_rows(current_user, filters, date.today())
    name = f"{kind}-{date.today().isoformat()}.{fmt}"
    body = export.to_csv(kind, rows, date.today()) if fmt == "csv" else export.to_xlsx(kind, rows, date.today())
    return Response(
        body, mimetype=tabular.MIMETYPES[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# --- raising by hand ---------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.QUALITY_LEAD, Role.ADMIN)
@applies_change
def raise_nc():
    """Record a nonconformity from another source: external audit, complaint, monitoring, supplier."""
    form, errors, status = {"source": "customer_complaint", "severity": "minor"}, {}, 200
    if request.method == "POST":
        form = {k: v for k, v in request.form.items() if k != "csrf_token"}
        try:
            data = ManualNCSchema().load(request.form)
            processed = intake.process_uploads([f for f in request.files.getlist("photo") if f and f.filename])
            photos.store_files(processed)  # before the change lock
            nc = services.raise_manually(current_user, **data)
            for photo in processed:
                photos.add_nonconformity_photo(current_user, nc, photo)
        except ValidationError as err:
            errors, status = first_errors(err), 422
        except PhotoRejected as err:
            errors, status = {"photo": err.message + " Nothing was saved; choose the photos again."}, err.status
        except RuleError as err:
            db.session.rollback()
            errors, status = {err.field: err.message}, err.status
        else:
            flash(f"{nc.number} raised.", "success")
            return redirect(url_for("capa.show", nc_id=nc.id))
    area_options = [(a.id, a.name) for a in accounts.areas()]
    return render_template("capa/new.html", form=form, errors=errors, area_options=area_options), status


# --- one nonconformity -------------------------------------------------------------------------


# The step each status calls for next, and who can do it: a phone opens the page there.
NEXT_STEP = {
    NCStatus.OPEN: "containment",
    NCStatus.CONTAINED: "cause",
    NCStatus.CAUSE_IDENTIFIED: "actions",
    NCStatus.ACTIONS_PLANNED: "actions",
}
LEAD_STEP = {NCStatus.ACTIONS_DONE: "verification", NCStatus.VERIFIED_EFFECTIVE: "verification"}


def next_step(nc: Nonconformity, can_manage: bool, is_quality_lead: bool) -> str | None:
    if can_manage and nc.status in NEXT_STEP:
        return NEXT_STEP[NCStatus(nc.status)]
    if is_quality_lead and nc.status in LEAD_STEP:
        return LEAD_STEP[NCStatus(nc.status)]
    return None


def _detail(
    nc: Nonconformity,
    status: int = 200,
    errors=None,
    form=None,
    step=None,
    draft_whys=None,
    draft_category=None,
    notice: str = "",
    focus_why: int | None = None,
):
    """The NC page, or for htmx its #nc-detail part alone: each step's form swaps it in place."""
    can_manage = services.can_manage(current_user, nc)
    is_quality_lead = current_user.has_role(Role.QUALITY_LEAD)
    return render(
        "capa/show.html",
        "capa/_detail.html",
        status,
        nc=nc,
        errors=errors or {},
        form=form or {},
        step=step,
        notice=notice,
        focus_why=focus_why,
        next_step=next_step(nc, can_manage, is_quality_lead),
        draft_whys=draft_whys,
        draft_category=draft_category,
        photos=photos.evidence_for_nonconformity(nc),
        action_photos=photos.photos_of_actions([a.id for a in nc.actions]),
        timeline=services.timeline(nc),
        similar=services.similar(current_user, nc, date.today()),
        can_manage=can_manage,
        is_quality_lead=is_quality_lead,
        owners=services.assignable_owners(),
        default_due=services.default_due_date(nc, date.today()),
    )


def _done(nc: Nonconformity, step: str, message: str):
    """A step done: htmx gets the page's part again with the message beside the step (no reload, no jump
    to the top); a plain form post is redirected to the step, with the message flashed."""
    if wants_fragment():
        return _detail(nc, step=step, notice=message)
    flash(message, "success")
    return redirect(url_for("capa.show", nc_id=nc.id, _anchor=step))


@bp.get("/<int:nc_id>")
def show(nc_id: int):
    """Everything about one nonconformity, with the step that comes next."""
    return _detail(get_nc(nc_id))


def _step(nc_id: int, schema, apply, step: str, success: str):
    """Run one workflow step: validate, apply, commit, or answer with the reason it was refused."""
    nc = get_nc(nc_id)
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        data = schema.load(request.form) if schema else {}
        apply(nc, data)  # committed by applies_change, together with the change id
    except ValidationError as err:
        db.session.rollback()
        return _detail(nc, 422, first_errors(err), form, step)
    except RuleError as err:
        db.session.rollback()
        return _detail(nc, err.status, {err.field: err.message}, form, step)
    return _done(nc, step, success.format(nc=nc))


@bp.post("/<int:nc_id>/contain")
@applies_change
def contain(nc_id: int):
    """Record containment and correction."""
    return _step(
        nc_id,
        ContainSchema(),
        lambda nc, d: services.record_containment(current_user, nc, d["containment"]),
        "containment",
        "Containment recorded for {nc.number}.",
    )


@bp.post("/<int:nc_id>/cause")
@applies_change
def cause(nc_id: int):
    """The 5-Whys editor: add, move or remove a why (kept as a draft), or save the root cause."""
    nc = get_nc(nc_id)
    whys = [clean_text(w, trim=False) for w in request.form.getlist("why")][:10]
    category = clean_text(request.form.get("category", ""))
    try:
        data = CauseSchema().load({"why": whys, "category": category, "op": request.form.get("op", "save")})
    except ValidationError as err:
        return _detail(nc, 422, first_errors(err), step="cause", draft_whys=whys, draft_category=category)
    whys, category, op = data["why"], data["category"], data["op"]
    try:
        if op == "save":
            services.identify_cause(current_user, nc, whys, category)
        else:
            services.save_cause_draft(current_user, nc, _edit_whys(whys, op), category)
    except RuleError as err:
        db.session.rollback()
        # Everything typed comes back, with the reason beside the field.
        return _detail(nc, err.status, {err.field: err.message}, step="cause", draft_whys=whys, draft_category=category)
    if op != "save":
        # The new why (or the one moved) gets the focus, on a full page as after a swap.
        return _detail(nc, step="cause", focus_why=_focus_after(op, len(nc.why_steps)))
    return _done(nc, "cause", f"Root cause recorded for {nc.number}.")


def _focus_after(op: str, count: int) -> int | None:
    name, _, index = op.partition(":")
    if name == "add":
        return count - 1
    i = int(index) if index.isdigit() else -1
    moved = {"up": i - 1, "down": i + 1}.get(name)
    return moved if moved is not None and 0 <= moved < count else None


def _edit_whys(whys: list[str], op: str) -> list[str]:
    """Apply one editor button: add, or up/down/remove:<index>."""
    whys = list(whys)
    name, _, index = op.partition(":")
    i = int(index) if index.isdigit() else -1
    if name == "add" and len(whys) < 10:
        whys.append("")
    elif name == "remove" and 0 <= i < len(whys):
        whys.pop(i)
    elif name == "up" and 0 < i < len(whys):
        whys[i - 1], whys[i] = whys[i], whys[i - 1]
    elif name == "down" and 0 <= i < len(whys) - 1:
        whys[i + 1], whys[i] = whys[i], whys[i + 1]
    return whys


@bp.post("/<int:nc_id>/actions")
@applies_change
def add_action(nc_id: int):
    """Plan a corrective action with owner and due date."""
    return _step(
        nc_id,
        ActionSchema(),
        lambda nc, d: services.add_action(current_user, nc, d["description"], d["owner_id"], d["due_date"]),
        "actions",
        "Action planned for {nc.number}.",
    )


@bp.post("/<int:nc_id>/verify")
@applies_change
def verify(nc_id: int):
    """A quality lead records whether the actions were effective."""
    return _step(
        nc_id,
        VerifySchema(),
        lambda nc, d: services.verify(current_user, nc, d["result"] == "effective", d["evidence"], d["verified_on"]),
        "verification",
        "Verification recorded for {nc.number}.",
    )


@bp.post("/<int:nc_id>/close")
@applies_change
def close(nc_id: int):
    return _step(nc_id, None, lambda nc, d: services.close(current_user, nc), "verification", "{nc.number} is closed.")


@bp.post("/<int:nc_id>/reopen")
@applies_change
def reopen(nc_id: int):
    return _step(
        nc_id,
        ReasonSchema(),
        lambda nc, d: services.reopen(current_user, nc, d["reason"]),
        "status",
        "{nc.number} is reopened for cause analysis.",
    )


@bp.post("/<int:nc_id>/withdraw")
@applies_change
def withdraw(nc_id: int):
    return _step(
        nc_id,
        ReasonSchema(),
        lambda nc, d: services.withdraw(current_user, nc, d["reason"]),
        "status",
        "{nc.number} is withdrawn.",
    )


# --- actions -----------------------------------------------------------------------------------


@bp.get("/actions/mine")
def my_actions():
    """My actions: what I must do, overdue first, completable here."""
    actions = services.my_actions(current_user, date.today())
    return render_template(
        "capa/my_actions.html",
        actions=actions,
        to_contain=services.awaiting_containment(current_user),
        evidence=photos.first_evidence([a.nonconformity for a in actions if a.nonconformity]),
    )


@bp.get("/actions")
def action_log():
    """Every tracked action (nonconformities, management reviews, gap analyses), filtered by origin and state."""
    page = log.action_log(
        current_user,
        request.args.get("origin", ""),
        request.args.get("state", "open"),
        request.args.get("page", 1, type=int),
        date.today(),
    )
    return render(
        "capa/actions.html", "capa/_action_rows.html", page=page, origins=ACTION_ORIGINS, states=log.ACTION_STATES
    )


@bp.post("/actions/<int:action_id>/complete")
@applies_change
def complete_action(action_id: int):
    """Complete an action with a note and optional photo evidence, in place."""
    action = get_action(action_id)
    context: dict[str, Any] = {
        "action": action,
        "errors": {},
        "form": {"note": request.form.get("note", "")},
        "evidence": photos.first_evidence([action.nonconformity] if action.nonconformity else []),
    }
    try:
        data = CompleteActionSchema().load(request.form)
        files = [f for f in request.files.getlist("photo") if f and f.filename]
        processed = intake.process_uploads(files)
        photos.store_files(processed)  # before the change lock
        services.complete_action(current_user, action, data["note"])
        for photo in processed:
            photos.add_action_photo(current_user, action, photo)
    except ValidationError as err:
        return render("capa/action_page.html", "capa/_action.html", 422, **{**context, "errors": first_errors(err)})
    except PhotoRejected as err:
        return render(
            "capa/action_page.html",
            "capa/_action.html",
            err.status,
            **{**context, "errors": {"photo": err.message + " Nothing was saved."}},
        )
    except RuleError as err:
        return render(
            "capa/action_page.html", "capa/_action.html", err.status, **{**context, "errors": {err.field: err.message}}
        )
    return render("capa/action_page.html", "capa/_action.html", **context)
