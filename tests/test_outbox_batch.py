"""The outbox's batches (POST /outbox/batch): many queued changes in one request, each applied once
by its change id, committed alone, and answered as the single request would have been."""

import io
import json
import re
import threading

from PIL import Image

from auditapp.audits.models import Response
from auditapp.core.changes import AppliedChange
from auditapp.events.models import Event
from auditapp.extensions import db
from auditapp.outbox.batch import NOT_QUEUEABLE
from auditapp.photos.models import Photo

from .support.accounts import log_in
from .support.audits import items_of


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 30, 200)).save(out, "JPEG")
    return out.getvalue()


def answer(audit, item, result, base, change_id):
    return {
        "changeId": change_id,
        "path": f"/audits/{audit.id}/items/{item.id}/answer",
        "fields": [["result", result], ["base_revision", str(base)]],
    }


def photo(audit, item, change_id, part):
    return {
        "changeId": change_id,
        "path": f"/audits/{audit.id}/photos",
        "fields": [["item_id", str(item.id)], ["photo", {"file": part}]],
    }


def send(client, changes, photos=(), **kwargs):
    data = {"changes": json.dumps(changes)}
    for part in photos:
        data[part] = (io.BytesIO(jpeg()), "p.jpg", "image/jpeg")
    return client.post("/outbox/batch", data=data, content_type="multipart/form-data", **kwargs)


def outcomes(response):
    assert response.status_code == 200, response.data
    return [(r["changeId"], r["outcome"], r["status"]) for r in response.get_json()["results"]]


def results_of(audit):
    return {r.item.key: r.result for r in db.session.scalars(db.select(Response).filter_by(audit_id=audit.id))}


def refusal(html: str) -> str:
    found = re.search(r"data-refusal[^>]*>(.*?)</", html, re.S)
    assert found, html
    return " ".join(found.group(1).split())


def count(model, **filters):
    return db.session.scalar(db.select(db.func.count()).select_from(model).filter_by(**filters))


def test_a_batch_applies_each_change_once_and_a_resend_changes_nothing(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    items = items_of(audit)
    log_in(client, lead)
    gauges, trace = items["7.1.5-gauges"], items["8.5.2-traceability"]
    changes = [
        answer(audit, trace, "conform", 0, "chg-b0000001"),
        answer(audit, gauges, "minor_nc", 0, "chg-b0000002"),
        photo(audit, gauges, "chg-b0000003", "f0"),
        answer(audit, trace, "ofi", 1, "chg-b0000004"),
    ]
    response = send(client, changes, ["f0"])
    assert response.headers["Server-Timing"].startswith("outbox;dur=")  # bench/sync.py reads the server's part
    first = outcomes(response)
    assert first == [
        ("chg-b0000001", "applied", 200),
        ("chg-b0000002", "applied", 200),
        ("chg-b0000003", "applied", 200),
        ("chg-b0000004", "applied", 200),
    ]
    assert results_of(audit) == {"8.5.2-traceability": "ofi", "7.1.5-gauges": "minor_nc"}
    events, photos = count(Event), count(Photo)
    assert photos == 1 and count(AppliedChange) == 4
    # The same batch again (the phone never got the answer): every change is recognised, nothing doubles.
    again = outcomes(send(client, changes, ["f0"]))
    assert [o[1] for o in again] == ["already applied"] * 4
    assert count(Event) == events and count(Photo) == photos
    assert results_of(audit) == {"8.5.2-traceability": "ofi", "7.1.5-gauges": "minor_nc"}
    # A change applied by a batch is a replay for the single endpoint too (an older page resending it).
    single = client.post(
        f"/audits/{audit.id}/items/{trace.id}/answer",
        data={"result": "conform", "base_revision": 0},
        headers={"HX-Request": "true", "X-Change-Id": "chg-b0000001"},
    )
    assert single.status_code == 200 and single.headers["X-Change-Replayed"] == "true"
    assert count(Event) == events


def test_a_refusal_in_the_middle_undoes_nothing_and_says_what_the_single_request_says(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    items = items_of(audit)
    log_in(client, lead)
    trace, training, storage = items["8.5.2-traceability"], items["7.2-training"], items["8.5.4-storage"]
    # Someone else answered the item meanwhile: the queued change is stale (a conflict).
    assert (
        client.post(
            f"/audits/{audit.id}/items/{training.id}/answer",
            data={"result": "ofi", "base_revision": 0},
            headers={"HX-Request": "true"},
        ).status_code
        == 200
    )
    stale = answer(audit, training, "conform", 0, "chg-c0000002")
    invalid = answer(audit, storage, "splendid", 0, "chg-c0000003")
    # What the single endpoint answers to the same changes (refused changes are not kept, so it may go first).
    single = {
        c["changeId"]: client.post(
            c["path"], data=dict(c["fields"]), headers={"HX-Request": "true", "X-Change-Id": c["changeId"]}
        )
        for c in (stale, invalid)
    }
    assert single["chg-c0000002"].status_code == 409 and single["chg-c0000003"].status_code == 422
    changes = [answer(audit, trace, "conform", 0, "chg-c0000001"), stale, invalid]
    changes.append(answer(audit, trace, "minor_nc", 1, "chg-c0000004"))
    response = send(client, changes)
    assert outcomes(response) == [
        ("chg-c0000001", "applied", 200),
        ("chg-c0000002", "refused", 409),
        ("chg-c0000003", "refused", 422),
        ("chg-c0000004", "applied", 200),
    ]
    bodies = {r["changeId"]: r["body"] for r in response.get_json()["results"]}
    for change_id in ("chg-c0000002", "chg-c0000003"):
        assert refusal(bodies[change_id]) == refusal(single[change_id].get_data(as_text=True))
    assert results_of(audit) == {"8.5.2-traceability": "minor_nc", "7.2-training": "ofi"}
    assert count(AppliedChange, id="chg-c0000002") == 0  # a refused change may be sent again later


def test_each_change_is_checked_as_its_own_endpoint_checks_it(client, app, plan, make_user):
    lead, outsider = make_user("auditor"), make_user("auditor")
    audit = plan(lead=lead)
    items = items_of(audit)
    trace = items["8.5.2-traceability"]
    log_in(client, outsider)
    single = client.post(
        f"/audits/{audit.id}/items/{trace.id}/answer", data={"result": "conform", "base_revision": 0}
    ).status_code
    batch = outcomes(send(client, [answer(audit, trace, "conform", 0, "chg-d0000001")]))
    assert batch == [("chg-d0000001", "refused", single)] and single == 404
    # A quality lead sees every audit but records only in their own: 403, as the single request.
    quality = app.test_client()
    log_in(quality, make_user("quality_lead"))
    single = quality.post(
        f"/audits/{audit.id}/items/{trace.id}/answer", data={"result": "conform", "base_revision": 0}
    ).status_code
    batch = outcomes(send(quality, [answer(audit, trace, "conform", 0, "chg-d0000004")]))
    assert batch == [("chg-d0000004", "refused", single)] and single == 403
    # Only the changes a phone may queue: any other endpoint is refused, whatever the user may do.
    phone = app.test_client()
    log_in(phone, lead)
    other = {"changeId": "chg-d0000002", "path": f"/audits/{audit.id}/complete", "fields": []}
    response = send(phone, [other])
    assert outcomes(response) == [("chg-d0000002", "refused", 404)]
    assert response.get_json()["results"][0]["body"] == NOT_QUEUEABLE
    assert not audit.is_completed
    # A change id of another user is never a replay.
    assert outcomes(send(phone, [answer(audit, trace, "conform", 0, "chg-d0000003")]))[0][1] == "applied"
    single = client.post(  # the outsider, with the lead's change id: refused, never answered as a replay
        f"/audits/{audit.id}/items/{trace.id}/answer",
        data={"result": "ofi", "base_revision": 1},
        headers={"X-Change-Id": "chg-d0000003"},
    )
    assert single.status_code in (404, 409) and "X-Change-Replayed" not in single.headers
    clash = outcomes(send(client, [answer(audit, trace, "ofi", 1, "chg-d0000003")]))
    assert clash == [("chg-d0000003", "refused", single.status_code)]
    assert results_of(audit) == {"8.5.2-traceability": "conform"}


def test_a_batch_without_the_csrf_token_is_refused(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    trace = items_of(audit)["8.5.2-traceability"]
    log_in(client, lead)
    response = send(client, [answer(audit, trace, "conform", 0, "chg-e0000001")], csrf=False)
    assert response.status_code == 400 and b"Security check failed" in response.data
    assert results_of(audit) == {}


def test_a_batch_too_large_is_refused_whole(client, app, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    items = items_of(audit)
    trace, gauges = items["8.5.2-traceability"], items["7.1.5-gauges"]
    log_in(client, lead)
    app.config["OUTBOX_BATCH_MAX_CHANGES"] = 3
    many = [answer(audit, trace, "conform", n, f"chg-f000000{n}") for n in range(4)]
    response = send(client, many)
    assert response.status_code == 413 and "at most 3" in response.get_json()["error"]
    app.config["PHOTO_MAX_PER_REQUEST"] = 1
    two = [photo(audit, gauges, "chg-f1000001", "f0"), photo(audit, gauges, "chg-f1000002", "f1")]
    response = send(client, two, ["f0", "f1"])
    assert response.status_code == 413 and "2 photos" in response.get_json()["error"]
    app.config["OUTBOX_BATCH_MAX_BYTES"] = 1000
    response = send(client, two[:1], ["f0"])
    assert response.status_code == 413 and "larger than" in response.get_json()["error"]
    assert results_of(audit) == {} and count(Photo) == 0 and count(AppliedChange) == 0


def test_a_damaged_batch_is_refused_whole(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    trace = items_of(audit)["8.5.2-traceability"]
    log_in(client, lead)
    good = answer(audit, trace, "conform", 0, "chg-g0000001")
    for changes in (
        "not json",
        json.dumps([]),
        json.dumps([good, {"changeId": "x", "path": "/", "fields": []}]),
        json.dumps([good, {**good, "changeId": "chg-g0000002", "fields": [["photo", {"file": "missing"}]]}]),
    ):
        response = client.post("/outbox/batch", data={"changes": changes})
        assert response.status_code == 422 and response.get_json()["error"]
    assert results_of(audit) == {}


def test_a_change_the_server_cannot_take_now_stops_the_batch_there(client, app, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    items = items_of(audit)
    trace, gauges = items["8.5.2-traceability"], items["7.1.5-gauges"]
    log_in(client, lead)
    app.config["PHOTO_WAIT_SECONDS"] = 0.01
    busy = threading.BoundedSemaphore(1)
    busy.acquire()  # every decoding turn is taken: the photo is answered 503
    app.extensions["photo_slots"] = busy
    changes = [
        answer(audit, trace, "conform", 0, "chg-h0000001"),
        photo(audit, gauges, "chg-h0000002", "f0"),
        answer(audit, gauges, "conform", 0, "chg-h0000003"),
    ]
    assert outcomes(send(client, changes, ["f0"])) == [
        ("chg-h0000001", "applied", 200),
        ("chg-h0000002", "try again", 503),
        ("chg-h0000003", "not tried", 0),
    ]
    assert results_of(audit) == {"8.5.2-traceability": "conform"} and count(Photo) == 0
