"""Building nonconformities for tests."""

from datetime import date, timedelta

from auditapp.capa import services as capa
from auditapp.capa.models import Nonconformity
from auditapp.extensions import db


def raise_nc(
    quality_lead,
    area=None,
    severity="minor",
    clause="8.5.2",
    description="Labels missing on rack B",
    source="customer_complaint",
) -> Nonconformity:
    nc = capa.raise_manually(
        quality_lead,
        source=source,
        clause=clause,
        area_id=area.id if area else None,
        severity=severity,
        description=description,
    )
    db.session.commit()
    return nc


def advance_to_actions_done(manager, nc, owner, due=None):
    """Contain, find the cause, plan one action owned by `owner`, complete it."""
    capa.record_containment(manager, nc, "Quarantined the rack.")
    capa.identify_cause(manager, nc, ["No label printer at the station"], "machine")
    action = capa.add_action(manager, nc, "Install a label printer", owner.id, due or date.today() + timedelta(days=30))
    db.session.commit()
    capa.complete_action(owner, action, "Printer installed and in use")
    db.session.commit()
    return action


def close_nc(quality, verifier, nc, owner, first_check_effective=True):
    """Through the 10.2 workflow to closed; not effective at first means a second round of actions."""
    advance_to_actions_done(quality, nc, owner)
    if not first_check_effective:
        capa.verify(verifier, nc, False, "Came back after a week", date.today())
        capa.identify_cause(quality, nc, ["Printer jammed"], "machine")
        action = capa.add_action(quality, nc, "Service the printer", owner.id, date.today())
        db.session.commit()
        capa.complete_action(owner, action, "Serviced")
    capa.verify(verifier, nc, True, "Clean for four weeks", date.today())
    capa.close(verifier, nc)
    db.session.commit()


def plan_due_actions(make_user) -> int:
    """Three open actions of one owner (sam@example.com): due in a month, in two days, yesterday.
    Returns the reminders they are owed: three assignments, one due soon, one overdue."""
    lead, owner = make_user("quality_lead"), make_user("supervisor", email="sam@example.com")
    nc = raise_nc(lead, description="Torque wrench out of calibration")
    capa.record_containment(lead, nc, "Held")
    capa.identify_cause(lead, nc, ["No recall"], "measurement")
    today = date.today()
    for due in (today + timedelta(days=30), today + timedelta(days=2), today - timedelta(days=1)):
        capa.add_action(lead, nc, f"Action due {due}", owner.id, due)
    db.session.commit()
    return 5
