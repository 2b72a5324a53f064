"""Audit programme screens: the year's programme and calendar, its entries, the auditor register."""

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_htmx import make_response as htmx_response
from flask_login import current_user

from ..accounts import services as accounts
from ..accounts.models import Area, Role, User
from ..auditors import services as register
from ..auditors.models import QUALIFICATION_LABELS, AuditorQualification
from ..audits import services as audits
from ..checklists import services as checklists
from ..core.changes import applies_change
from ..core.forms import form_id
from ..extensions import db
from ..web.forms import submit, typed_in
from ..web.rendering import render, wants_fragment
from ..web.security import roles_required
from . import services
from .models import IMPORTANCE_LABELS, ProgrammeEntry
from .schemas import CreateAuditsSchema, EntrySchema, QualificationSchema, RemoveSchema

bp = Blueprint("programme", __name__)

EDITORS = (Role.QUALITY_LEAD, Role.ADMIN)


def programme_vocabulary():
    return {
        "qualification_labels": QUALIFICATION_LABELS,
        "importance_labels": IMPORTANCE_LABELS,
        "schedule_labels": services.STATUS_LABELS,
    }


def _year_arg() -> int:
    try:
        year = int(request.args.get("year", ""))
    except ValueError:
        return date.today().year
    return year if 2000 <= year <= 2100 else date.today().year


# --- the programme -------------------------------------------------------------------------------------


@bp.get("/")
@roles_required(*EDITORS)
def index():
    """A year's audit programme: entries with suggested and chosen frequency, and the calendar."""
    year = _year_arg()
    today = date.today()
    return render_template(
        "programme/index.html",
        programme=services.programme(year, today),
        today=today,
        years=range(today.year - 2, today.year + 3),
        can_edit=current_user.has_role(Role.QUALITY_LEAD, Role.ADMIN),
    )


def _entry_context(entry: ProgrammeEntry | None, form: dict, errors: dict | None = None) -> dict:
    lists = [(c.id, latest) for c in checklists.all_checklists() if (latest := c.latest) is not None]
    return {
        "entry": entry,
        "form": form,
        "errors": errors or {},
        "area_options": [(a.id, f"{a.name} · owner {a.owner.name}" if a.owner else a.name) for a in accounts.areas()],
        "checklist_options": [(checklist_id, f"{v.title} (now v{v.number})") for checklist_id, v in lists],
        "importance_options": list(IMPORTANCE_LABELS.items()),
        "auditor_options": [(u.id, f"{u.name} ({u.role_enum.label})") for u in audits.auditors()],
        "suggestion": _suggestion_from(form),
    }


def _suggestion_from(form: dict):
    area_id, importance = form_id(form.get("area_id")), form_id(form.get("importance"))
    if importance not in IMPORTANCE_LABELS or area_id is None or db.session.get(Area, area_id) is None:
        return None
    return services.suggestion_for(area_id, importance, date.today())


def _save_entry(entry: ProgrammeEntry | None):
    template = "programme/entry_form.html"
    if request.method == "GET":
        form = (
            {"year": request.args.get("year", date.today().year), "importance": 2}
            if entry is None
            else {
                k: getattr(entry, k)
                for k in (
                    "year",
                    "area_id",
                    "checklist_id",
                    "importance",
                    "planned_per_year",
                    "lead_auditor_id",
                    "notes",
                )
            }
        )
        return render_template(template, **_entry_context(entry, form))
    form = typed_in()
    done = submit(EntrySchema(), lambda data: services.save_entry(current_user, entry, **data, today=date.today()))
    if not done.ok:
        return render_template(template, **_entry_context(entry, form, done.errors)), done.status
    saved = done.result
    flash(f"{saved.area.name} is in the {saved.year} programme: {saved.planned_per_year} audits a year.", "success")
    return redirect(url_for("programme.index", year=saved.year, _anchor=f"entry-{saved.id}"))


@bp.route("/entries/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new_entry():
    """Add an area and checklist to a year's programme, with importance and frequency."""
    return _save_entry(None)


@bp.route("/entries/<int:entry_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit_entry(entry_id: int):
    """Change a programme entry: importance, frequency, proposed lead auditor, notes."""
    return _save_entry(db.get_or_404(ProgrammeEntry, entry_id))


@bp.get("/suggestion")
@roles_required(*EDITORS)
def suggestion():
    """The suggested frequency and its reasons for the area and importance chosen in the entry form."""
    return render(
        "programme/suggestion_page.html",
        "programme/_suggestion.html",
        suggestion=_suggestion_from(request.args.to_dict()),
    )


@bp.route("/entries/<int:entry_id>/audits", methods=["GET", "POST"])
@roles_required(*EDITORS)
def create_audits(entry_id: int):
    """Show the audits an entry still needs this year, then plan them on confirmation."""
    entry = db.get_or_404(ProgrammeEntry, entry_id)
    today = date.today()
    form: dict[str, Any] = {"lead_auditor_id": entry.lead_auditor_id or ""}
    errors, status, needs_override = {}, 200, False
    # Months that already have an audit of the area are skipped unless the quality lead ticks this.
    same_month = request.values.get("same_month") == "1"
    if request.method == "POST":
        form = typed_in()
        done = submit(CreateAuditsSchema(), lambda data: services.create_audits(current_user, entry, today, **data))
        errors, status = done.errors, done.status
        needs_override = isinstance(done.refusal, audits.NeedsOverride)
        if done.ok:
            created = done.result
            flash(f"{len(created)} audits planned: {', '.join(a.number for a in created)}.", "success")
            return redirect(url_for("programme.index", year=entry.year, _anchor=f"entry-{entry.id}"))
    lead_id = form_id(form.get("lead_auditor_id"))
    lead = db.session.get(User, lead_id) if lead_id else None
    owns = lead is not None and entry.area.owner_id == lead.id
    return render_template(
        "programme/create_audits.html",
        entry=entry,
        dates=services.dates_to_plan(entry, today, same_month) if entry.year >= today.year else [],
        same_month=same_month,
        counted=services.area_audits(entry.area_id, entry.checklist_id, entry.year),
        form=form,
        errors=errors,
        title=services.audit_title(entry),
        needs_override=needs_override or owns,
        owns_area=owns,
        lead_warning=register.lead_qualification_warning(lead, services.judged_on(entry.year, today)),
        auditor_options=[(u.id, f"{u.name} ({u.role_enum.label})") for u in audits.auditors()],
    ), status


@bp.get("/lead-warning")
@roles_required(*EDITORS)
def lead_warning():
    """The unqualified-lead warning for the audit planning form, as the lead or the date changes."""
    return render(
        "programme/lead_warning_page.html",
        "programme/_lead_warning.html",
        lead_warning=register.lead_warning_for_form(
            request.args.get("lead_auditor_id"), request.args.get("planned_date")
        ),
    )


# --- the auditor register -------------------------------------------------------------------------------


def get_auditor(user_id: int) -> User:
    """An auditor's register entry: quality leads and admins see everyone, auditors themselves, else 404."""
    user = db.get_or_404(User, user_id)
    if not current_user.has_role(*EDITORS) and user.id != current_user.id:
        abort(404)
    if not user.has_role(*register.AUDITOR_ROLES):
        abort(404)
    return user


@bp.get("/auditors")
@roles_required(Role.AUDITOR, *EDITORS)
def auditors():
    """The auditor register: qualifications, who may lead, audits led and joined."""
    today = date.today()
    only = None if current_user.has_role(*EDITORS) else current_user
    return render_template("programme/auditors.html", rows=services.register(today, only=only), today=today)


def _auditor_context(user: User, form: dict | None = None, errors: dict | None = None) -> dict:
    today = date.today()
    quals = register.qualifications_of([user.id])[user.id]
    return {
        "auditor": user,
        "qualifications": quals,
        "can_lead": register.can_lead(quals, today),
        "today": today,
        "form": form or {},
        "errors": errors or {},
        "can_edit": current_user.has_role(*EDITORS),
        "kind_options": list(QUALIFICATION_LABELS.items()),
    }


@bp.get("/auditors/<int:user_id>")
@roles_required(Role.AUDITOR, *EDITORS)
def auditor(user_id: int):
    """One auditor's qualifications; quality leads record new ones here."""
    return render("programme/auditor.html", "programme/_qualifications.html", **_auditor_context(get_auditor(user_id)))


@bp.post("/auditors/<int:user_id>/qualifications")
@roles_required(*EDITORS)
@applies_change  # a double tap or a resend records the course once
def add_qualification(user_id: int):
    """Record a course or training; answers the qualifications list for htmx, else goes back to the page."""
    user = get_auditor(user_id)
    form = typed_in()
    done = submit(
        QualificationSchema(), lambda data: register.add_qualification(current_user, user, **data), commit=False
    )  # applies_change commits with the change id
    if not done.ok:
        return render(
            "programme/auditor.html",
            "programme/_qualifications.html",
            done.status,
            **_auditor_context(user, form, done.errors),
        )
    added = done.result
    if not wants_fragment():
        flash(f"{added.title} recorded for {user.name}.", "success")
        return redirect(url_for("programme.auditor", user_id=user.id))
    return htmx_response(
        render("programme/auditor.html", "programme/_qualifications.html", **_auditor_context(user)),
        trigger={"programme:qualified": {"user": user.id}},
    )


@bp.route("/qualifications/<int:qualification_id>/remove", methods=["GET", "POST"])
@roles_required(*EDITORS)
def remove_qualification(qualification_id: int):
    """Confirm, with a reason, then remove a qualification recorded in error."""
    qualification = db.get_or_404(AuditorQualification, qualification_id)
    form, errors, status = {}, {}, 200
    if request.method == "POST":
        form = {"reason": request.form.get("reason", "")}
        user_id, title = qualification.user_id, qualification.title
        done = submit(
            RemoveSchema(), lambda data: register.remove_qualification(current_user, qualification, data["reason"])
        )
        errors, status = done.errors, done.status
        if done.ok:
            flash(f"{title} removed; the reason is kept in the event log.", "success")
            return redirect(url_for("programme.auditor", user_id=user_id))
    return render_template(
        "programme/remove_qualification.html", qualification=qualification, form=form, errors=errors
    ), status
