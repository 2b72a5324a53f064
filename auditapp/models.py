"""Imports every domain's models so the metadata (and Alembic) sees all tables."""

from .accounts.models import Area, Role, User  # noqa: F401
from .auditors.models import AuditorQualification  # noqa: F401
from .audits.models import Audit, Response, audit_team  # noqa: F401
from .capa.models import ContainmentNotice, CorrectiveAction, Nonconformity, ReminderSent  # noqa: F401
from .checklists.models import Checklist, ChecklistItem, ChecklistSection, ChecklistVersion  # noqa: F401
from .core.changes import AppliedChange  # noqa: F401
from .core.jobs import ScheduledRun  # noqa: F401
from .core.numbering import NumberSequence  # noqa: F401
from .events.models import Event, EventChainHead  # noqa: F401
from .findings.models import Finding  # noqa: F401
from .improvements.models import Improvement  # noqa: F401
from .photos.models import Photo  # noqa: F401
from .programme.models import ProgrammeEntry, programme_audits  # noqa: F401
from .reports.models import ClauseAudit, ClauseTally  # noqa: F401
from .review.models import ManagementReview, ReviewArchive, ReviewDecision  # noqa: F401
from .scope.models import QmsScope  # noqa: F401
from .web.pdf import KeptPdf  # noqa: F401
