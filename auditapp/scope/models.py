"""The QMS scope statement (ISO 9001 4.3), kept with every revision."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..core.timeutil import utcnow
from ..extensions import Model


class QmsScope(Model):
    """One revision of the scope; a change adds a revision, earlier ones stay as they were."""

    __tablename__ = "qms_scopes"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, unique=True)
    activities: Mapped[str] = mapped_column(Text)
    sites: Mapped[str] = mapped_column(Text)
    products_services: Mapped[str] = mapped_column(Text)
    # Requirements that do not apply, each with why (4.3): e.g. "8.3 design: we build to print".
    exclusions: Mapped[str] = mapped_column(Text, default="")
    change_note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    created_by: Mapped[User | None] = relationship()
