"""Edge cases found in review: closed records through side doors, huge ids, stuck actions."""
from datetime import date, timedelta

import pytest

from auditapp.capa import services as capa
from auditapp.capa.models import CorrectiveAction, Nonconformity
from auditapp.core.errors import Conflict
from auditapp.extensions import db

from .support.accounts import log_in
from .support.app import count_queries
from .support.audits import HX, answer, items_of
from .support.capa import advance_to_actions_done, raise_nc
from .support.findings import NC_TEXT, post_finding


def test_a_closed_nc_is_not_changed_by_regrading_its_finding_in_a_reopened_audit(client, plan, make_user):
    lead, verifier = make_user("auditor"), make_user("quality_lead")
    audit = plan(lead=lead)
    log_in(client, lead)
    item = items_of(audit)["8.5.2-traceability"]
    answer(client, audit, item, "minor_nc")
    post_finding(client, audit, item, NC_TEXT)
    nc = db.session.scalar(db.select(Nonconformity))
    advance_to_actions_done(verifier, nc, owner=verifier)
    other = make_user("quality_lead")
    capa.verify(other, nc, True, "Clean since", date.today())
    capa.close(other, nc)
    db.session.commit()
    refused = answer(client, audit, item, "conform")
    assert refused.status_code == 409 and b"is closed; a quality lead must reopen it" in refused.data
    refused = post_finding(client, audit, item, {**NC_TEXT, "statement": "Reworded"})
    assert refused.status_code == 409
    db.session.expire_all()
    assert db.session.get(Nonconformity, nc.id).status == "closed"


def test_actions_cannot_be_added_after_verification_and_close_needs_all_done(app, make_user):
    lead, verifier = make_user("quality_lead"), make_user("quality_lead")
    nc = raise_nc(lead)
    advance_to_actions_done(lead, nc, owner=lead)
    capa.verify(verifier, nc, True, "ok", date.today())
    with pytest.raises(Conflict, match="verified effective"):
        capa.add_action(lead, nc, "One more", lead.id, date.today())
    db.session.rollback()


def test_withdrawing_cancels_open_actions_and_they_leave_my_actions(client, make_user):
    lead, supervisor = make_user("quality_lead"), make_user("supervisor")
    nc = raise_nc(lead)
    capa.record_containment(lead, nc, "Held")
    capa.identify_cause(lead, nc, ["Why"], "people")
    capa.add_action(lead, nc, "Train the team", supervisor.id, date.today() - timedelta(days=1))
    capa.withdraw(lead, nc, "Raised twice")
    db.session.commit()
    assert db.session.scalar(db.select(CorrectiveAction)).status == "cancelled"
    log_in(client, supervisor)
    assert b"Train the team" not in client.get("/nc/actions/mine").data


@pytest.mark.parametrize("url", ["/audits/99999999999999999999999", "/nc/99999999999999999999",
                                 "/audits/1/items/99999999999999999999/history"])
def test_huge_ids_are_not_found_not_server_errors(client, login, url):
    login("quality_lead")
    assert client.get(url).status_code == 404


def test_huge_ids_in_forms_and_filters_are_answered_calmly(client, login, walk):
    login("quality_lead")
    response = client.post("/audits/new", data={"checklist_id": walk.id, "title": "x", "planned_date": "2026-12-01",
                                                "lead_auditor_id": "99999999999999999999999"})
    assert response.status_code == 422 and b"Choose from the list." in response.data
    assert client.get("/nc/?area=99999999999999999999&owner=-5").status_code == 200


def test_secret_key_from_environment_still_creates_the_instance_folder(tmp_path, monkeypatch):
    from auditapp import create_app
    monkeypatch.setenv("AUDITAPP_INSTANCE_PATH", str(tmp_path / "fresh"))
    monkeypatch.setenv("AUDITAPP_SECRET_KEY", "given")
    monkeypatch.delenv("AUDITAPP_DATABASE_URL", raising=False)
    create_app()
    assert (tmp_path / "fresh").is_dir()


@pytest.mark.parametrize("url", ["/audits/", "/audits/mine"])
def test_audit_lists_take_the_same_queries_for_2_or_8_audits(client, plan, make_user, url):
    me = make_user("quality_lead")
    log_in(client, me)
    for _ in range(2):
        plan(lead=me, team=[make_user("auditor")])
    few = count_queries(client, url)
    for _ in range(6):
        plan(lead=me, team=[make_user("auditor")])
    assert count_queries(client, url) == few


def test_an_action_owner_sees_the_photos_of_the_finding_behind_the_nc(app, client, plan, make_user):
    from io import BytesIO

    from PIL import Image

    from auditapp.photos.models import Photo
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    item = items_of(audit)["7.1.5-gauges"]
    answer(client, audit, item, "minor_nc")
    post_finding(client, audit, item, NC_TEXT)
    jpeg = BytesIO()
    Image.new("RGB", (300, 200), (10, 20, 30)).save(jpeg, "JPEG")
    jpeg.seek(0)
    uploaded = client.post(f"/audits/{audit.id}/photos", headers=HX, content_type="multipart/form-data",
                           data={"item_id": str(item.id), "photo": [(jpeg, "g.jpg")]})
    assert uploaded.status_code == 200, uploaded.data[:500]
    client.post("/logout")
    nc = db.session.scalar(db.select(Nonconformity))
    assert nc is not None
    owner, quality = make_user("supervisor"), make_user("quality_lead")
    capa.record_containment(quality, nc, "Held")
    capa.identify_cause(quality, nc, ["Why"], "machine")
    capa.add_action(quality, nc, "Recalibrate", owner.id, date.today())
    db.session.commit()
    photo = db.session.scalar(db.select(Photo))
    log_in(client, owner)  # neither on the audit team nor owner of its area
    assert client.get(f"/nc/{nc.id}").status_code == 200
    served = client.get(f"/photos/{photo.id}?size=thumb")
    assert served.status_code == 200
    served.close()
    assert client.get(f"/audits/{audit.id}").status_code == 404  # the audit itself stays private


def test_a_double_submitted_action_is_planned_once(client, make_user):
    lead = make_user("quality_lead")
    nc = raise_nc(lead)
    capa.record_containment(lead, nc, "Held")
    capa.identify_cause(lead, nc, ["Why"], "people")
    db.session.commit()
    log_in(client, lead)
    page = client.get(f"/nc/{nc.id}").get_data(as_text=True)
    assert 'name="change_id" value="' in page
    form = {"description": "Train", "owner_id": lead.id, "due_date": "2026-12-31", "change_id": "double-submit-0001"}
    first = client.post(f"/nc/{nc.id}/actions", data=form)
    second = client.post(f"/nc/{nc.id}/actions", data=form)
    assert first.status_code == second.status_code == 302 and second.headers["X-Change-Replayed"] == "true"
    assert db.session.scalar(db.select(db.func.count(CorrectiveAction.id))) == 1
