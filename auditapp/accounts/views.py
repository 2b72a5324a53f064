"""Sign-in, sign-out, and the small admin area for users and areas."""
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from marshmallow import ValidationError

from ..core.forms import first_errors
from ..extensions import db
from ..web.forms import submit, typed_in
from ..web.rendering import render, wants_fragment
from ..web.security import roles_required
from . import services
from .models import ROLE_LABELS, Area, Role, User
from .schemas import AreaSchema, LoginSchema, UserCreateSchema, UserUpdateSchema

auth_bp = Blueprint("auth", __name__)
admin_bp = Blueprint("admin", __name__)

ADMINS = (Role.QUALITY_LEAD, Role.ADMIN)


@auth_bp.get("/")
def home():
    """Send each role to its home screen."""
    return redirect(home_url(current_user))


def home_url(user: User) -> str:
    """Where a role lands after login: auditors My audits, supervisors My actions, leads all audits."""
    if user.has_role(Role.AUDITOR):
        return url_for("audits.mine")
    if user.has_role(Role.SUPERVISOR):
        return url_for("capa.my_actions")
    return url_for("audits.index")


@auth_bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form, or sign in and go to the user's home screen."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form, errors, status = {"email": ""}, {}, 200
    if request.method == "POST":
        try:
            form = LoginSchema().load(request.form)
            user = services.authenticate(form["email"], form["password"])
            db.session.commit()  # the login, or the failed attempt, is on the record either way
        except ValidationError as err:
            errors, status = first_errors(err), 422
            form = {"email": request.form.get("email", "")}
        except services.LoginThrottled:
            minutes = current_app.config["LOGIN_LOCKOUT_MINUTES"]
            errors, status = {"_form": f"Too many failed attempts for this account. Wait {minutes} minutes "
                                       "and try again."}, 429
        else:
            if user:
                session.clear()  # a fresh session (and CSRF token) for the new login
                session.permanent = True  # survives closing the app; see PERMANENT_SESSION_LIFETIME
                login_user(user)
                return redirect(_safe_next(request.args.get("next")) or home_url(user))
            errors, status = {"_form": "E-mail or password is not right."}, 401
        form.pop("password", None)
    return render_template("auth/login.html", form=form, errors=errors), status


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never an open redirect to another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@auth_bp.post("/logout")
def logout():
    """End the session."""
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


# --- users -------------------------------------------------------------------------------------

def _users_context(form=None, errors=None):
    return {
        "users": services.users(), "roles": ROLE_LABELS, "form": form or {"role": Role.AUDITOR.value},
        "errors": errors or {}, "assignable": _assignable_roles(),
    }


def _assignable_roles():
    return {r: label for r, label in ROLE_LABELS.items() if r != Role.ADMIN or current_user.has_role(Role.ADMIN)}


@admin_bp.get("/users")
@roles_required(*ADMINS)
def users():
    """List users with a form to add one."""
    return render("admin/users.html", "admin/_users.html", **_users_context())


@admin_bp.post("/users")
@roles_required(*ADMINS)
def create_user():
    """Add a user; an invalid form comes back with its messages and the typed values."""
    typed = typed_in("password")
    done = submit(UserCreateSchema(), lambda data: services.create_user(
        current_user, data["email"], data["name"], data["role"], data["password"]))
    if not done.ok:
        return render("admin/users.html", "admin/_users.html", done.status, **_users_context(typed, done.errors))
    user = done.result
    flash(f"{user.name} ({user.email}) can now log in as {user.role_enum.label}.", "success")
    return render("admin/users.html", "admin/_users.html", 201, **_users_context()) if wants_fragment() \
        else redirect(url_for("admin.users"))


@admin_bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(*ADMINS)
def edit_user(user_id: int):
    """Change a user's name, role, status or password."""
    user = db.get_or_404(User, user_id)
    form = {"name": user.name, "role": user.role, "active": user.active}
    errors, status = {}, 200
    if request.method == "POST":
        form = {"name": request.form.get("name", ""), "role": request.form.get("role", ""),
                "active": bool(request.form.get("active"))}
        done = submit(UserUpdateSchema(), lambda data: services.update_user(
            current_user, user, data["name"], data["role"], data["active"], data["password"]))
        errors, status = done.errors, done.status
        if done.ok:
            flash(f"Saved changes to {user.name}.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_edit.html", user=user, form=form, errors=errors,
                           roles=_assignable_roles()), status


# --- areas -------------------------------------------------------------------------------------

def _areas_context(form=None, errors=None):
    return {"areas": services.areas(), "owner_options": _owner_options(),
            "form": form or {}, "errors": errors or {}}


def _owner_options():
    return [(u.id, u.name) for u in services.supervisors()]


@admin_bp.get("/areas")
@roles_required(*ADMINS)
def areas():
    """List areas with a form to add one."""
    return render("admin/areas.html", "admin/_areas.html", **_areas_context())


@admin_bp.post("/areas")
@roles_required(*ADMINS)
def create_area():
    """Add an area (process) with its owner supervisor."""
    typed = typed_in()
    done = submit(AreaSchema(), lambda data: services.create_area(
        current_user, data["name"], data["description"], data["owner_id"]))
    if not done.ok:
        return render("admin/areas.html", "admin/_areas.html", done.status, **_areas_context(typed, done.errors))
    area = done.result
    flash(f"Area {area.name} added.", "success")
    return render("admin/areas.html", "admin/_areas.html", 201, **_areas_context()) if wants_fragment() \
        else redirect(url_for("admin.areas"))


@admin_bp.route("/areas/<int:area_id>", methods=["GET", "POST"])
@roles_required(*ADMINS)
def edit_area(area_id: int):
    """Rename an area, describe it, or change its owner."""
    area = db.get_or_404(Area, area_id)
    form: dict[str, Any] = {"name": area.name, "description": area.description, "owner_id": area.owner_id}
    errors, status = {}, 200
    if request.method == "POST":
        form = typed_in()
        done = submit(AreaSchema(), lambda data: services.update_area(
            current_user, area, data["name"], data["description"], data["owner_id"]))
        errors, status = done.errors, done.status
        if done.ok:
            flash(f"Saved changes to {area.name}.", "success")
            return redirect(url_for("admin.areas"))
    return render_template("admin/area_edit.html", area=area, form=form, errors=errors,
                           owner_options=_owner_options()), status
