"""A photo marked up on the phone (circle, arrow, label): the original and the marked-up copy are both kept,
linked, run through the same pipeline and limits, shown as the copy with a link to the original, logged both."""

import base64
import io
import json
from pathlib import Path

from PIL import Image

from auditapp.capa import services as capa
from auditapp.capa.models import Nonconformity
from auditapp.events.models import Event
from auditapp.extensions import db
from auditapp.photos.models import Photo

from .support.accounts import log_in
from .support.audits import HX, answer
from .support.findings import NC_TEXT, post_finding
from .support.photos import jpeg, start


def marked(color=(200, 40, 40)) -> bytes:
    """The same photo with a white ring drawn on it, as markup.js sends it (no EXIF: the canvas drops it)."""
    image = Image.new("RGB", (600, 800), color)
    for x in range(200, 400):
        for y in (300, 301, 302, 500, 501, 502):
            image.putpixel((x, y), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


def upload_pair(client, audit, item, photo=None, copy=None, **extra):
    data = {
        "item_id": str(item.id),
        "photo": [(io.BytesIO(photo or jpeg()), "gauge.jpg")],
        "marked_up": [(io.BytesIO(copy or marked()), "gauge-marked.jpg")],
        **extra,
    }
    return client.post(f"/audits/{audit.id}/photos", data=data, headers=HX, content_type="multipart/form-data")


def rows(audit):
    return db.session.scalars(db.select(Photo).filter_by(audit_id=audit.id).order_by(Photo.created_at)).all()


def pair_of(audit):
    photos = rows(audit)
    copy = next(p for p in photos if p.marked_up_from_id)
    original = next(p for p in photos if p.id == copy.marked_up_from_id)
    return original, copy


def stored(app, photo) -> Path:
    return Path(app.config["PHOTO_DIR"]) / photo.sha256[:2] / f"{photo.sha256}.jpg"


def test_the_original_and_its_marked_up_copy_are_both_kept_and_linked(app, client, plan, make_user):
    audit, item = start(client, plan, make_user)
    response = upload_pair(client, audit, item)
    assert response.status_code == 200, response.data[:500]
    photos = rows(audit)
    assert len(photos) == 2
    original, copy = pair_of(audit)
    assert original.marked_up_from_id is None and original.sha256 != copy.sha256
    assert {p.item_id for p in photos} == {item.id}
    # Both went through the pipeline: upright, re-encoded, files and thumbnails in the store.
    assert (original.width, original.height) == (600, 800) == (copy.width, copy.height)
    assert stored(app, original).exists() and stored(app, copy).exists()
    # The item shows the marked-up copy, with a link to the original; the original is not shown twice.
    html = response.get_data(as_text=True)
    assert html.count("size=thumb") == 1 and f"/photos/{copy.id}?size=thumb" in html
    assert f'href="/photos/{original.id}"' in html and ">Original</a>" in html
    assert "marked up" in html
    # The log has both, the copy naming its original.
    added = db.session.scalars(db.select(Event).filter_by(entity_type="photo", action="added")).all()
    assert {e.entity_id for e in added} == {original.id, copy.id}
    logged = {e.entity_id: json.loads(e.changes) if isinstance(e.changes, str) else e.changes for e in added}
    assert logged[copy.id]["marked_up_from"] == original.id and "marked_up_from" not in logged[original.id]


def test_a_photo_without_markup_is_uploaded_as_today(client, plan, make_user):
    audit, item = start(client, plan, make_user)
    data = {"item_id": str(item.id), "photo": [(io.BytesIO(jpeg()), "gauge.jpg")]}
    assert client.post(f"/audits/{audit.id}/photos", data=data, headers=HX).status_code == 200
    [photo] = rows(audit)
    assert photo.marked_up_from_id is None
    assert ">Original</a>" not in client.get(f"/audits/{audit.id}").get_data(as_text=True)


def test_both_files_count_against_the_per_request_limit(app, client, plan, make_user):
    audit, item = start(client, plan, make_user)
    app.config["PHOTO_MAX_PER_REQUEST"] = 1
    response = upload_pair(client, audit, item)
    assert response.status_code == 413 and "2 photos" in response.get_data(as_text=True)
    assert rows(audit) == [] and not any(Path(app.config["PHOTO_DIR"]).rglob("*.jpg"))


def test_a_marked_up_copy_that_is_not_a_photo_refuses_both(app, client, plan, make_user):
    audit, item = start(client, plan, make_user)
    response = upload_pair(client, audit, item, copy=b"<svg>not a photo</svg>")
    assert response.status_code == 422 and "Photo 2 of 2" in response.get_data(as_text=True)
    assert rows(audit) == []


def test_a_marked_up_copy_without_its_original_is_refused(client, plan, make_user):
    audit, item = start(client, plan, make_user)
    data = {"item_id": str(item.id), "marked_up": [(io.BytesIO(marked()), "m.jpg")]}
    response = client.post(f"/audits/{audit.id}/photos", data=data, headers=HX)
    assert response.status_code == 422 and rows(audit) == []
    two = {"item_id": str(item.id), "photo": [(io.BytesIO(jpeg()), "a.jpg")]}
    two["marked_up"] = [(io.BytesIO(marked()), "m.jpg"), (io.BytesIO(marked((0, 0, 0))), "n.jpg")]
    response = client.post(f"/audits/{audit.id}/photos", data=two, headers=HX)
    assert response.status_code == 422 and "drawn on" in response.get_data(as_text=True) and rows(audit) == []


def test_the_nth_marked_up_copy_belongs_to_the_nth_photo(client, plan, make_user):
    audit, item = start(client, plan, make_user)
    first, second = jpeg(color=(10, 200, 10)), jpeg(color=(10, 10, 200))
    data = {
        "item_id": str(item.id),
        "photo": [(io.BytesIO(first), "a.jpg"), (io.BytesIO(second), "b.jpg")],
        "marked_up": [(io.BytesIO(marked()), "a-marked.jpg")],
    }
    assert client.post(f"/audits/{audit.id}/photos", data=data, headers=HX).status_code == 200
    photos = rows(audit)
    assert len(photos) == 3
    copy = next(p for p in photos if p.marked_up_from_id)
    drawn_on = db.session.get(Photo, copy.marked_up_from_id)
    with Image.open(io.BytesIO(client.get(f"/photos/{drawn_on.id}").data)) as image:
        assert image.getpixel((300, 400))[1] > 150  # the green one, the first sent
    html = client.get(f"/audits/{audit.id}/items/{item.id}", headers=HX).get_data(as_text=True)
    assert html.count("size=thumb") == 2  # the copy stands for the first; the second is shown as it is


def test_only_who_may_see_the_audit_sees_either_photo(client, plan, make_user):
    audit, item = start(client, plan, make_user)
    upload_pair(client, audit, item)
    original, copy = pair_of(audit)
    for photo in (original, copy):
        served = client.get(f"/photos/{photo.id}")
        assert served.status_code == 200 and served.mimetype == "image/jpeg"
        served.close()
    client.post("/logout")
    log_in(client, make_user("auditor"))  # not on the team
    assert client.get(f"/photos/{original.id}").status_code == 404
    assert client.get(f"/photos/{copy.id}").status_code == 404


def test_removing_the_marked_up_photo_removes_its_original_too(app, client, plan, make_user):
    audit, item = start(client, plan, make_user)
    upload_pair(client, audit, item)
    original, copy = pair_of(audit)
    files, ids = [stored(app, original), stored(app, copy)], sorted([original.id, copy.id])
    response = client.post(f"/audits/{audit.id}/photos/{copy.id}/delete", headers=HX)
    assert response.status_code == 200 and "size=thumb" not in response.get_data(as_text=True)
    assert rows(audit) == [] and not any(f.exists() for f in files)
    removed = db.session.scalars(db.select(Event.entity_id).filter_by(entity_type="photo", action="removed")).all()
    assert sorted(removed) == ids


def test_removing_the_original_by_its_address_removes_the_copy_too(client, plan, make_user):
    audit, item = start(client, plan, make_user)
    upload_pair(client, audit, item)
    original, _copy = pair_of(audit)
    assert client.post(f"/audits/{audit.id}/photos/{original.id}/delete", headers=HX).status_code == 200
    assert rows(audit) == []


def test_the_report_and_the_nc_show_the_marked_up_photo_and_link_the_original(app, client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    audit, item = audit, next(i for i in audit.checklist_version.items if i.key == "7.1.5-gauges")
    answer(client, audit, item, "minor_nc")
    post_finding(client, audit, item, NC_TEXT)
    assert upload_pair(client, audit, item).status_code == 200
    original, copy = pair_of(audit)
    assert original.finding_id is not None and copy.finding_id == original.finding_id
    report = client.get(f"/audits/{audit.id}/report").get_data(as_text=True)
    assert f'src="/photos/{copy.id}"' in report and f'src="/photos/{original.id}"' not in report
    assert f'href="/photos/{original.id}"' in report and "(marked up)" in report
    nc = db.session.scalar(db.select(Nonconformity))
    quality = make_user("quality_lead")
    capa.record_containment(quality, nc, "Held")
    db.session.commit()
    page = client.get(f"/nc/{nc.id}").get_data(as_text=True)
    assert f"/photos/{copy.id}?size=thumb" in page and f"/photos/{original.id}?size=thumb" not in page
    assert f'href="/photos/{original.id}"' in page


def export_with_markup(audit, item) -> bytes:
    def data_url(content: bytes) -> str:
        return "data:image/jpeg;base64," + base64.b64encode(content).decode()

    entry = {
        "seq": 1,
        "path": f"/audits/{audit.id}/photos",
        "changeId": "chg-m0000001",
        "queuedAt": "2026-11-28T07:14:00Z",
        "fields": [
            ["item_id", str(item.id)],
            ["photo", {"file": "g.jpg", "dataUrl": data_url(jpeg())}],
            ["marked_up", {"file": "g-marked.jpg", "dataUrl": data_url(marked())}],
        ],
    }
    return json.dumps({"exported": "2026-11-28T08:00:00Z", "user": "a@example.com", "entries": [entry]}).encode()


def test_an_exported_outbox_entry_with_a_marked_up_photo_is_imported_as_a_pair_once(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    item = next(i for i in audit.checklist_version.items if i.key == "7.1.5-gauges")
    log_in(client, make_user("quality_lead"))
    content = export_with_markup(audit, item)
    for _ in range(2):
        response = client.post(
            "/outbox/import",
            content_type="multipart/form-data",
            data={"export": (io.BytesIO(content), "outbox.json")},
        )
        assert response.status_code == 200
    assert len(rows(audit)) == 2
    original, copy = pair_of(audit)
    assert copy.marked_up_from_id == original.id


def test_a_batched_photo_with_its_marked_up_copy_is_applied_once(client, plan, make_user):
    audit, item = start(client, plan, make_user)
    change = {
        "changeId": "chg-m0000002",
        "path": f"/audits/{audit.id}/photos",
        "fields": [["item_id", str(item.id)], ["photo", {"file": "f0"}], ["marked_up", {"file": "f1"}]],
    }
    for _ in range(2):
        response = client.post(
            "/outbox/batch",
            data={
                "changes": json.dumps([change]),
                "f0": (io.BytesIO(jpeg()), "p.jpg", "image/jpeg"),
                "f1": (io.BytesIO(marked()), "m.jpg", "image/jpeg"),
            },
            content_type="multipart/form-data",
        )
        assert response.status_code == 200 and response.get_json()["results"][0]["status"] == 200
    assert len(rows(audit)) == 2
    original, copy = pair_of(audit)
    assert copy.marked_up_from_id == original.id


def test_the_report_pdf_carries_the_marked_up_photo(client, plan, make_user):
    from pypdf import PdfReader

    audit, item = start(client, plan, make_user)
    answer(client, audit, item, "minor_nc")
    post_finding(client, audit, item, NC_TEXT)
    assert upload_pair(client, audit, item).status_code == 200
    original, _copy = pair_of(audit)
    response = client.get(f"/audits/{audit.id}/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    images = [image for page in reader.pages for image in page.images]
    assert len({image.name for image in images}) == 1  # one photo (pypdf may list it once per use)
    shown = images[0].image.convert("RGB")
    assert shown.size == (600, 800)
    assert min(shown.getpixel((300, 301))) > 200  # the white ring drawn on the copy
    assert shown.getpixel((300, 400))[0] > 150  # the photo's red around it
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "original of photo 1" in text
    assert original.id  # kept, and linked from the PDF's text
