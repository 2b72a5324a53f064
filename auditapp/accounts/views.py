"""Sign-in (throttled), sign-out, the user's own account page, and the small admin area for users and areas."""

import time
from math import ceil
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from limits import parse as parse_limit
from marshmallow import ValidationError

from ..core.forms import first_errors
from ..extensions import db, limiter
from ..web.forms import submit, typed_in
from ..web.rendering import render, wants_fragment
from ..web.security import roles_required
from . import services
from .models import ROLE_LABELS, Area, Role, User
from .schemas import AreaSchema, ChecklistAuthorSchema, LoginSchema, UserCreateSchema, UserUpdateSchema

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


THROTTLE_NOTED = parse_limit("1 per minute")


def _login_failed(response) -> bool:
    """Only wrong credentials count toward the login limits: a successful login or an empty form does not."""
    return response.status_code == 401


def _account_and_address() -> str:
    return f"{services.account_key(request.form.get('email', ''))}@{get_remote_address()}"


def _login_throttled(limit: RequestLimit):
    """The login form again, 429 with Retry-After; the refusal is a security event (never a password), noted
    once a minute for each limit and client, so a flood of refused requests is not a flood of writes."""
    if limiter.limiter.hit(THROTTLE_NOTED, "login-throttled-noted", limit.key):
        services.record_security_event("login_throttled", request.form.get("email", ""), get_remote_address())
        db.session.commit()
    wait = max(1, ceil(limit.window.reset_time - time.time()))
    message = f"Too many failed attempts. Wait {ceil(wait / 60)} minute{'s' if wait > 60 else ''} and try again."
    form = {"email": request.form.get("email", "")}
    response = make_response(render_template("auth/login.html", form=form, errors={"_form": message}), 429)
    response.headers["Retry-After"] = str(wait)
    return response


def _account_limit() -> str:
    return f"{current_app.config['LOGIN_MAX_FAILURES']} per {current_app.config['LOGIN_LOCKOUT_MINUTES']} minutes"


@auth_bp.route("/login", methods=["GET", "POST"])
# Per client address, whatever the e-mails (a spray); and per (e-mail, address), which slows guessing one
# account without locking its owner out: failures from one address never refuse the password from another.
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    methods=["POST"],
    deduct_when=_login_failed,
    on_breach=_login_throttled,
)
@limiter.limit(
    _account_limit,
    key_func=_account_and_address,
    methods=["POST"],
    deduct_when=_login_failed,
    on_breach=_login_throttled,
)
def login():
    """Show the login form, or sign in and go to the user's home screen."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form, errors, status = {"email": ""}, {}, 200
    if request.method == "POST":
        try:
            form = LoginSchema().load(request.form)
            user = services.authenticate(form["email"], form["password"], get_remote_address())
            if user:
                services.start_session(user, request.headers.get("User-Agent", ""))
            db.session.commit()  # the login, or the failed attempt, is on the record either way
        except ValidationError as err:
            errors, status = first_errors(err), 422
            form = {"email": request.form.get("email", "")}
        else:
            if user:
                session.clear()  # a fresh session (and CSRF token) for the new login
                session.permanent = True  # survives closing the app; see PERMANENT_SESSION_LIFETIME
                login_user(user)  # the cookie holds "<user id>:<login token>" (User.get_id)
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
    """End the session: on the server too, so a copy of the cookie opens nothing afterwards."""
    services.end_session(current_user)
    db.session.commit()
    _forget_login("You are logged out.")
    return redirect(url_for("auth.login"))


def _forget_login(message: str) -> None:
    logout_user()
    session.clear()
    flash(message, "info")


@auth_bp.get("/account")
def account():
    """The user's own account: where they are logged in, and "log out everywhere"."""
    this = services.current_login(current_user)
    return render_template(
        "auth/account.html", logins=services.active_sessions(current_user), this_login_id=this.id if this else None
    )


@auth_bp.post("/account/logout-everywhere")
def logout_everywhere():
    """End every login of this user, this device's included (a lost phone, a shared password)."""
    ended = services.log_out_everywhere(current_user, get_remote_address())
    db.session.commit()
    _forget_login(f"You are logged out everywhere ({ended} session{'s' if ended != 1 else ''} ended).")
    return redirect(url_for("auth.login"))


# --- users -------------------------------------------------------------------------------------


def _users_context(form=None, errors=None):
    return {
        "users": services.users(),
        "roles": ROLE_LABELS,
        "form": form or {"role": Role.AUDITOR.value},
        "errors": errors or {},
        "assignable": _assignable_roles(),
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
    done = submit(
        UserCreateSchema(),
        lambda data: services.create_user(current_user, data["email"], data["name"], data["role"], data["password"]),
    )
    if not done.ok:
        return render("admin/users.html", "admin/_users.html", done.status, **_users_context(typed, done.errors))
    user = done.result
    flash(f"{user.name} ({user.email}) can now log in as {user.role_enum.label}.", "success")
    return (
        render("admin/users.html", "admin/_users.html", 201, **_users_context())
        if wants_fragment()
        else redirect(url_for("admin.users"))
    )


@admin_bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(*ADMINS)
def edit_user(user_id: int):
    """Change a user's name, role, status or password."""
    user = db.get_or_404(User, user_id)
    form = {"name": user.name, "role": user.role, "active": user.active}
    errors, status = {}, 200
    if request.method == "POST":
        form = {
            "name": request.form.get("name", ""),
            "role": request.form.get("role", ""),
            "active": bool(request.form.get("active")),
        }
        done = submit(
            UserUpdateSchema(),
            lambda data: services.update_user(
                current_user, user, data["name"], data["role"], data["active"], data["password"]
            ),
        )
        errors, status = done.errors, done.status
        if done.ok:
            flash(f"Saved changes to {user.name}.", "success")
            return redirect(url_for("admin.users"))
    return render_template(
        "admin/user_edit.html", user=user, form=form, errors=errors, roles=_assignable_roles()
    ), status


@admin_bp.post("/users/<int:user_id>/checklist-author")
@roles_required(*ADMINS)
def set_checklist_author(user_id: int):
    """Grant or take back the right to write and publish checklists in the browser (logged)."""
    user = db.get_or_404(User, user_id)
    done = submit(
        ChecklistAuthorSchema(), lambda data: services.set_checklist_author(current_user, user, data["allowed"])
    )
    if not done.ok:
        flash(next(iter(done.errors.values())), "error")
    elif user.checklist_author:
        flash(f"{user.name} can now write and publish checklists.", "success")
    else:
        flash(f"{user.name} can no longer write or publish checklists.", "success")
    return redirect(url_for("admin.users"))


# --- areas -------------------------------------------------------------------------------------


def _areas_context(form=None, errors=None):
    return {"areas": services.areas(), "owner_options": _owner_options(), "form": form or {}, "errors": errors or {}}


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
    done = submit(
        AreaSchema(),
        lambda data: services.create_area(current_user, data["name"], data["description"], data["owner_id"]),
    )
    if not done.ok:
        return render("admin/areas.html", "admin/_areas.html", done.status, **_areas_context(typed, done.errors))
    area = done.result
    flash(f"Area {area.name} added.", "success")
    return (
        render("admin/areas.html", "admin/_areas.html", 201, **_areas_context())
        if wants_fragment()
        else redirect(url_for("admin.areas"))
    )


@admin_bp.route("/areas/<int:area_id>", methods=["GET", "POST"])
@roles_required(*ADMINS)
def edit_area(area_id: int):
    """Rename an area, describe it, or change its owner."""
    area = db.get_or_404(Area, area_id)
    form: dict[str, Any] = {"name": area.name, "description": area.description, "owner_id": area.owner_id}
    errors, status = {}, 200
    if request.method == "POST":
        form = typed_in()
        done = submit(
            AreaSchema(),
            lambda data: services.update_area(current_user, area, data["name"], data["description"], data["owner_id"]),
        )
        errors, status = done.errors, done.status
        if done.ok:
            flash(f"Saved changes to {area.name}.", "success")
            return redirect(url_for("admin.areas"))
    return render_template(
        "admin/area_edit.html", area=area, form=form, errors=errors, owner_options=_owner_options()
    ), status
