"""Certification readiness for quality leads and management: clause coverage, readiness checklist."""
from flask import Blueprint, render_template

from ..accounts.models import Role
from ..timeutil import utcnow
from ..web.security import roles_required
from . import services

bp = Blueprint("reports", __name__)


@bp.get("/coverage")
@roles_required(Role.QUALITY_LEAD, Role.ADMIN)
def coverage():
    """Every auditable clause 4.1 to 10.3: audited in the last 12 months, with what result."""
    rows = services.clause_coverage(utcnow())
    return render_template("reports/coverage.html", rows=rows, audited=sum(r.audited for r in rows))


@bp.get("/readiness")
@roles_required(Role.QUALITY_LEAD, Role.ADMIN)
def readiness():
    """The path to certification, each step green or red with a link to what is missing."""
    return render_template("reports/readiness.html", lines=services.readiness(utcnow()))
