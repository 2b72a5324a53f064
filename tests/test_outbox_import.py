"""Importing an exported outbox: a quality lead applies a phone's waiting changes, each once."""

import base64
import io
import json

from PIL import Image

from auditapp.audits.models import Response
from auditapp.events.models import Event
from auditapp.extensions import db
from auditapp.findings.models import Finding
from auditapp.photos.models import Photo

from .support.accounts import log_in
from .support.audits import items_of


def export_file(audit, items, user="auditor@example.com") -> bytes:
    """An export in the shape static/js/offline.js writes."""
    jpeg = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 30, 200)).save(jpeg, "JPEG")
    data_url = "data:image/jpeg;base64," + base64.b64encode(jpeg.getvalue()).decode()
    gauges, trace = items["7.1.5-gauges"], items["8.5.2-traceability"]
    entries = [
        {
            "seq": 1,
            "path": f"/audits/{audit.id}/items/{trace.id}/answer",
            "changeId": "chg-00000001",
            "queuedAt": "2026-11-28T07:10:00Z",
            "fields": [["result", "conform"], ["base_revision", "0"]],
        },
        {
            "seq": 2,
            "path": f"/audits/{audit.id}/items/{gauges.id}/answer",
            "changeId": "chg-00000002",
            "queuedAt": "2026-11-28T07:12:00Z",
            "fields": [["result", "minor_nc"], ["base_revision", "0"]],
        },
        {
            "seq": 3,
            "path": f"/audits/{audit.id}/items/{gauges.id}/finding",
            "changeId": "chg-00000003",
            "queuedAt": "2026-11-28T07:13:00Z",
            "fields": [["statement", "Gauge overdue"], ["evidence", "Label"]],
        },
        {
            "seq": 4,
            "path": f"/audits/{audit.id}/photos",
            "changeId": "chg-00000004",
            "queuedAt": "2026-11-28T07:14:00Z",
            "fields": [["item_id", str(gauges.id)], ["photo", {"file": "g.jpg", "dataUrl": data_url}]],
        },
        {
            "seq": 5,
            "path": f"/audits/{audit.id}/items/{trace.id}/answer",
            "changeId": "chg-00000005",
            "queuedAt": "2026-11-28T07:15:00Z",
            "fields": [["result", "excellent"], ["base_revision", "1"]],
        },
    ]
    return json.dumps({"exported": "2026-11-28T08:00:00Z", "user": user, "entries": entries}).encode()


def upload(client, content: bytes):
    return client.post(
        "/outbox/import", content_type="multipart/form-data", data={"export": (io.BytesIO(content), "outbox.json")}
    )


def test_quality_lead_imports_an_export_once_in_order(client, plan, make_user):
    audit = plan()
    items = items_of(audit)
    quality = make_user("quality_lead")
    log_in(client, quality)
    response = upload(client, export_file(audit, items))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "4 of 5 applied" in html and "auditor@example.com" in html
    # The importer validates with the view's own schema, so the reason is the one the phone would have got online.
    assert "refused" in html and "result: That is not a result." in html
    results = {r.item.key: r.result for r in db.session.scalars(db.select(Response).filter_by(audit_id=audit.id))}
    assert results == {"8.5.2-traceability": "conform", "7.1.5-gauges": "minor_nc"}
    assert db.session.scalar(db.select(Finding)).statement == "Gauge overdue"
    assert db.session.scalar(db.select(db.func.count(Photo.id))) == 1
    imported = db.session.scalars(db.select(Event).filter_by(entity_type="outbox", action="imported")).all()
    assert len(imported) == 4 and imported[0].changes["exported_by"] == "auditor@example.com"
    again = upload(client, export_file(audit, items)).get_data(as_text=True)
    assert "0 of 5 applied" in again and again.count("already applied") == 4
    assert db.session.scalar(db.select(db.func.count(Photo.id))) == 1


def test_the_phone_may_drop_a_change_that_was_imported(client, app, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    items = items_of(audit)
    log_in(client, make_user("quality_lead"))
    upload(client, export_file(audit, items))
    phone = app.test_client()
    log_in(phone, lead)
    late = phone.post(
        f"/audits/{audit.id}/items/{items['8.5.2-traceability'].id}/answer",
        data={"result": "conform", "base_revision": 0},
        headers={"HX-Request": "true", "X-Change-Id": "chg-00000001"},
    )
    assert late.status_code == 200 and late.headers["X-Change-Replayed"] == "true"


def test_a_damaged_file_is_refused_whole(client, plan, make_user):
    plan()
    log_in(client, make_user("quality_lead"))
    for content, message in (
        (b"\x89PNG not json", b"not JSON"),
        (b'{"entries": [{"path": 3}]}', b"Entry 1 is damaged"),
        (b"[]", b"no list of entries"),
    ):
        response = upload(client, content)
        assert response.status_code == 422 and message in response.data
    assert db.session.scalar(db.select(db.func.count(Response.id))) == 0


def test_only_quality_leads_import(client, make_user):
    log_in(client, make_user("auditor"))
    assert client.get("/outbox/import").status_code == 403
