"""Recording findings in tests: a valid nonconformity text, posting a finding, reading it back."""

from auditapp.extensions import db
from auditapp.findings.models import Finding

from .audits import HX

NC_TEXT = {
    "statement": "Gauge G-17 is past its calibration date.",
    "requirement": "7.1.5: gauges calibrated",
    "evidence": "Label on G-17 shows due 2026-10-01; calibration log page 12.",
}


def finding_of(audit, item):
    db.session.expire_all()
    return db.session.scalar(db.select(Finding).filter_by(audit_id=audit.id, item_id=item.id))


def post_finding(client, audit, item, data):
    return client.post(f"/audits/{audit.id}/items/{item.id}/finding", data=data, headers=HX)
