"""Account rules: sign-in with throttling, creating and changing users and areas."""
import hashlib
from datetime import timedelta

from flask import current_app
from sqlalchemy import func

from ..core.errors import RuleError
from ..core.forms import MAX_ID
from ..core.timeutil import utcnow
from ..events import services as events
from ..events.models import Event
from ..extensions import db
from .models import Area, Role, User, new_session_token

# Checked against when the e-mail is unknown, so timing does not reveal which accounts exist.
_DUMMY_HASH = None


class LoginThrottled(Exception):
    pass


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(db.select(User).filter_by(email=normalise_email(email)))


def _login_key(email: str) -> str:
    """The key failed logins are recorded and counted under (fits the log's 64-character id)."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def recent_failures(email: str) -> int:
    since = utcnow() - timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
    return db.session.scalar(
        db.select(func.count(Event.id)).where(
            Event.entity_type == "login", Event.entity_id == _login_key(email),
            Event.action == "failed", Event.occurred_at >= since,
        )
    )


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, or None; raises LoginThrottled after repeated failures."""
    global _DUMMY_HASH
    email = normalise_email(email)
    if recent_failures(email) >= current_app.config["LOGIN_MAX_FAILURES"]:
        raise LoginThrottled()
    user = find_user(email)
    if user is None:
        if _DUMMY_HASH is None:
            probe = User(password_hash="")
            probe.set_password("timing-equaliser", current_app.config["PASSWORD_HASH_METHOD"])
            _DUMMY_HASH = probe.password_hash
        User(password_hash=_DUMMY_HASH).check_password(password)
    elif user.check_password(password) and user.active:
        events.record(user, "user", user.id, "logged_in")
        return user
    events.record(user, "login", _login_key(email), "failed")
    return None


def create_user(actor: User | None, email: str, name: str, role: str, password: str) -> User:
    """Add an account; refuses a taken e-mail and roles the actor may not grant. Does not commit."""
    email = normalise_email(email)
    _check_may_grant(actor, role)
    if find_user(email):
        raise RuleError("email", "A user with this e-mail already exists.")
    user = User(email=email, name=name, role=role)
    user.set_password(password, current_app.config["PASSWORD_HASH_METHOD"])
    db.session.add(user)
    db.session.flush()
    events.record(actor, "user", user.id, "created", {"email": email, "name": name, "role": role})
    return user


def update_user(actor: User | None, user: User, name: str, role: str, active: bool, password: str = "") -> User:
    """Change a user's name, role, status or password, logging each change. Does not commit."""
    _check_may_grant(actor, role)
    _check_may_grant(actor, user.role)  # a quality lead cannot edit an administrator
    if actor is not None and actor.id == user.id and (role != user.role or not active):
        raise RuleError("role", "You cannot change your own role or deactivate yourself.")
    changes = events.apply_changes(user, name=name, role=role, active=active)
    if password:
        user.set_password(password, current_app.config["PASSWORD_HASH_METHOD"])
        changes["password"] = ["(hidden)", "(changed)"]
    if not active and "active" in changes:
        user.session_token = new_session_token()  # ends the user's open sessions
    if changes:
        events.record(actor, "user", user.id, "updated", changes)
    return user


def _check_may_grant(actor: User | None, role: str) -> None:
    if actor is None:  # the command line is trusted (it has the database anyway)
        return
    if role == Role.ADMIN and not actor.has_role(Role.ADMIN):
        raise RuleError("role", "Only an administrator can manage administrator accounts.")


def users() -> list[User]:
    return list(db.session.scalars(db.select(User).order_by(User.active.desc(), User.name)).all())


def supervisors() -> list[User]:
    return list(db.session.scalars(
        db.select(User).where(User.role == Role.SUPERVISOR, User.active.is_(True)).order_by(User.name)
    ).all())


def areas() -> list[Area]:
    return list(db.session.scalars(db.select(Area).order_by(Area.name)).all())


def create_area(actor: User | None, name: str, description: str = "", owner_id: int | None = None) -> Area:
    """Add an area; its owner must be an active supervisor. Does not commit."""
    if db.session.scalar(db.select(Area).filter(func.lower(Area.name) == name.lower())):
        raise RuleError("name", "An area with this name already exists.")
    _check_owner(owner_id)
    area = Area(name=name, description=description, owner_id=owner_id)
    db.session.add(area)
    db.session.flush()
    events.record(actor, "area", area.id, "created", {"name": name, "owner_id": owner_id})
    return area


def update_area(actor: User, area: Area, name: str, description: str, owner_id: int | None) -> Area:
    clash = db.session.scalar(db.select(Area).filter(func.lower(Area.name) == name.lower(), Area.id != area.id))
    if clash:
        raise RuleError("name", "An area with this name already exists.")
    _check_owner(owner_id)
    changes = events.apply_changes(area, name=name, description=description, owner_id=owner_id)
    if changes:
        events.record(actor, "area", area.id, "updated", changes)
    return area


def _check_owner(owner_id: int | None) -> None:
    if owner_id is None:
        return
    owner = db.session.get(User, owner_id)
    if owner is None or not owner.active or owner.role != Role.SUPERVISOR:
        raise RuleError("owner_id", "The owner must be an active supervisor.")


def user_for_session(cookie_id: str) -> User | None:
    """The user of a session (Flask-Login's user loader); a stale token (password changed,
    deactivated, logged out everywhere) finds nobody."""
    user_id, _, token = cookie_id.partition(":")
    if not user_id.isdigit() or not token or int(user_id) > MAX_ID:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_token != token or not user.active:
        return None
    return user
