"""People and places: users with a role, and the areas (processes) they own."""

import hashlib
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..core.enums import LabelledEnum
from ..core.timeutil import utcnow
from ..extensions import Model


class Role(LabelledEnum):
    AUDITOR = "auditor", "Internal auditor"
    SUPERVISOR = "supervisor", "Supervisor"
    QUALITY_LEAD = "quality_lead", "Quality lead"
    ADMIN = "admin", "Administrator"


ROLE_LABELS = Role.labels()


def new_session_token() -> str:
    return secrets.token_hex(8)


class User(UserMixin, Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN ({', '.join(repr(r.value) for r in Role)})", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # May write and publish checklists in the browser (granted by a quality lead; leads and admins may anyway).
    checklist_author: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # No longer read: each login has its own row in login_sessions, ended on logout, a new password or a
    # deactivation (accounts.services.end_sessions). Kept until a migration rebuilds the users table.
    session_token: Mapped[str] = mapped_column(String(32), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    areas: Mapped[list["Area"]] = relationship(back_populates="owner", order_by="Area.name")

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    # The token of the login this user object was loaded for (set at login and by the user loader).
    login_token = ""

    def get_id(self) -> str:
        return f"{self.id}:{self.login_token}"

    def set_password(self, password: str, method: str = "scrypt") -> None:
        self.password_hash = generate_password_hash(password, method=method)
        self.session_token = new_session_token()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def has_role(self, *roles: Role) -> bool:
        return self.role in {str(r) for r in roles}

    @property
    def can_author_checklists(self) -> bool:
        """May write, upload and publish checklists in the browser."""
        return self.active and (self.checklist_author or self.has_role(Role.QUALITY_LEAD, Role.ADMIN))

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


def token_digest(token: str) -> str:
    """What is stored of a login token: a database reader cannot turn rows back into cookies."""
    return hashlib.sha256(token.encode()).hexdigest()


class LoginSession(Model):
    """One login: its token is in the session cookie; ended by logout, "log out everywhere", a new
    password or a deactivation. A cookie whose login has ended (or is unknown) is anonymous."""

    __tablename__ = "login_sessions"
    __table_args__ = (Index("ix_login_sessions_user_active", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)  # moved at most once a minute
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship()


class SecurityEvent(Model):
    """Failed logins, throttling and "log out everywhere": kept apart from the hash-chained event log,
    so anonymous clients never write to the evidence or wait for its lock. No passwords, ever."""

    __tablename__ = "security_events"
    __table_args__ = (Index("ix_security_events_account", "account_key", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    # sha256 of the normalised e-mail typed (known account or not), as the event log kept it before.
    account_key: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[str] = mapped_column(String(45), default="")  # the client address (IPv6 fits)


class Area(Model):
    """A production area or process in the audit scope, owned by a supervisor."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    owner: Mapped[User | None] = relationship(back_populates="areas")
