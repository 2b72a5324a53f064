"""Account rules: sign-in, login sessions, security events, creating and changing users and areas."""

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..core.errors import RuleError
from ..core.forms import MAX_ID
from ..core.timeutil import utcnow
from ..events import services as events
from ..extensions import db
from .models import Area, LoginSession, Role, SecurityEvent, User, token_digest

# Checked against when the e-mail is unknown, so timing does not reveal which accounts exist.
_DUMMY_HASH = None


# The most often a login's "last seen" is written: reads commit nothing, so each write is its own transaction.
SEEN_EVERY = timedelta(minutes=1)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(db.select(User).filter_by(email=normalise_email(email)))


def account_key(email: str) -> str:
    """The key failed logins are recorded and throttled under: a hash of the e-mail typed, known or not."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def authenticate(email: str, password: str, address: str = "") -> User | None:
    """The user for these credentials, or None. A failure is a security event, not evidence: it goes to
    security_events, never to the hash-chained event log (anonymous clients must not write there)."""
    global _DUMMY_HASH
    email = normalise_email(email)
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
    record_security_event("login_failed", email, address)
    return None


def record_security_event(kind: str, email: str, address: str) -> SecurityEvent:
    """Add a security event (failed login, throttled, logged out everywhere). Does not commit."""
    entry = SecurityEvent(kind=kind, account_key=account_key(email), address=(address or "")[:45])
    db.session.add(entry)
    return entry


def security_events(kind: str | None = None) -> list[SecurityEvent]:
    query = db.select(SecurityEvent).order_by(SecurityEvent.id)
    return list(db.session.scalars(query.filter_by(kind=kind) if kind else query))


# --- login sessions ----------------------------------------------------------------------------


def start_session(user: User, user_agent: str = "") -> LoginSession:
    """A new server-side login for user; its token goes into the cookie through user.get_id(). Does not commit."""
    token = secrets.token_urlsafe(32)
    login = LoginSession(token_hash=token_digest(token), user_id=user.id, user_agent=(user_agent or "")[:200])
    db.session.add(login)
    db.session.flush()
    user.login_token = token
    return login


def current_login(user: User) -> LoginSession | None:
    """The login a loaded user object belongs to (None for a user not loaded from a cookie)."""
    if not user.login_token:
        return None
    return db.session.scalar(db.select(LoginSession).filter_by(token_hash=token_digest(user.login_token)))


def end_session(user: User) -> None:
    """Log out: end the login this user object was loaded for. Does not commit."""
    login = current_login(user)
    if login is not None and login.ended_at is None:
        login.ended_at = utcnow()


def end_sessions(user: User) -> int:
    """End every open login of user (log out everywhere, new password, deactivation); how many. Does not commit."""
    result = db.session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    return result.rowcount  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult


def log_out_everywhere(user: User, address: str) -> int:
    ended = end_sessions(user)
    record_security_event("logged_out_everywhere", user.email, address)
    return ended


def active_sessions(user: User) -> list[LoginSession]:
    """The user's logins that still open pages, most recently seen first."""
    return list(
        db.session.scalars(
            db.select(LoginSession)
            .where(
                LoginSession.user_id == user.id,
                LoginSession.ended_at.is_(None),
                LoginSession.last_seen_at >= _oldest_live(),
            )
            .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())
        )
    )


def _oldest_live() -> datetime:
    """A login unseen for longer than the cookie lives is over, even if nobody logged it out."""
    return utcnow() - current_app.config["PERMANENT_SESSION_LIFETIME"]


def _note_seen(login: LoginSession) -> None:
    """Move "last seen" on, in its own short transaction on its own connection: the user loader runs on
    every request, reads included (which commit nothing), and a view that rolls back keeps this."""
    now = utcnow()
    with db.engine.begin() as conn:
        conn.execute(update(LoginSession).where(LoginSession.id == login.id).values(last_seen_at=now))
    set_committed_value(login, "last_seen_at", now)  # as loaded: the request's session has nothing to flush


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
    if password or (not active and "active" in changes):
        end_sessions(user)  # a new password or a deactivation ends the user's open sessions
    if changes:
        events.record(actor, "user", user.id, "updated", changes)
    return user


def set_checklist_author(actor: User | None, user: User, allowed: bool) -> User:
    """Grant or take back the right to write and publish checklists in the browser, logged. Does not commit.

    Quality leads and administrators author by their role; the permission is for everyone else."""
    _check_may_grant(actor, user.role)  # a quality lead cannot edit an administrator
    changes = events.apply_changes(user, checklist_author=allowed)
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
    return list(
        db.session.scalars(
            db.select(User).where(User.role == Role.SUPERVISOR, User.active.is_(True)).order_by(User.name)
        ).all()
    )


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
    """The user of a session (Flask-Login's user loader): "<user id>:<login token>" of a login that has not
    ended (logout, log out everywhere, new password, deactivation) of an active user; else nobody."""
    user_id, _, token = cookie_id.partition(":")
    if not user_id.isdigit() or not token or int(user_id) > MAX_ID:
        return None
    # The login and its user in one query: every request runs it.
    login = db.session.scalar(
        db.select(LoginSession).options(joinedload(LoginSession.user)).filter_by(token_hash=token_digest(token))
    )
    if login is None or login.user_id != int(user_id) or login.ended_at is not None:
        return None
    if login.last_seen_at < _oldest_live() or not login.user.active:
        return None
    if utcnow() - login.last_seen_at >= SEEN_EVERY:
        _note_seen(login)
    user = login.user
    user.login_token = token
    return user
