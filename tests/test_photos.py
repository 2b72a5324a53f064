"""Photo evidence through the app: upload in place, bad photos leave nothing, removal, serving."""

import random
import sqlite3
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy
from PIL import Image, ImageChops
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from auditapp.capa import services as capa
from auditapp.capa.models import Nonconformity
from auditapp.events.models import Event
from auditapp.extensions import db
from auditapp.photos import intake
from auditapp.photos.models import Photo
from auditapp.photos.storage import photo_store

from .support.accounts import log_in
from .support.audits import HX, answer, items_of
from .support.findings import NC_TEXT, post_finding
from .support.photos import jpeg, start, upload


def photo_files(app) -> list[Path]:
    folder = Path(app.config["PHOTO_DIR"])
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_upload_shows_thumbnails_in_place_and_stores_no_metadata(app, client, plan, make_user):
    audit, item = start(client, plan, make_user)
    response = upload(client, audit, item, ("gauge.jpg", jpeg(gps=True)), ("label.jpg", jpeg(color=(0, 90, 200))))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.startswith("<li")
    photos = db.session.scalars(db.select(Photo).filter_by(audit_id=audit.id)).all()
    assert len(photos) == 2 and all(p.item_id == item.id for p in photos)
    assert html.count("size=thumb") == 2 and '"audit:photo-added"' in response.headers["HX-Trigger"]
    first = photos[0]
    assert (first.original_width, first.original_height) == (600, 800)  # upright after EXIF orientation
    data = (Path(app.config["PHOTO_DIR"]) / first.sha256[:2] / f"{first.sha256}.jpg").read_bytes()
    with Image.open(BytesIO(data)) as stored:
        assert stored.format == "JPEG" and len(stored.getexif()) == 0
    assert b"GPS" not in data
    assert len(photo_files(app)) == 4  # two photos, two thumbnails
    assert db.session.scalar(db.select(db.func.count(Event.id)).filter_by(entity_type="photo", action="added")) == 2


def test_the_same_photo_twice_is_stored_once(app, client, plan, make_user):
    audit, item = start(client, plan, make_user)
    same = jpeg()
    upload(client, audit, item, ("a.jpg", same))
    upload(client, audit, item, ("b.jpg", same))
    assert db.session.scalar(db.select(db.func.count(Photo.id))) == 2
    assert len(photo_files(app)) == 2


def test_a_phone_that_has_the_photo_gets_304_without_the_store_being_read(app, client, plan, make_user):
    audit, item = start(client, plan, make_user)
    upload(client, audit, item, ("gauge.jpg", jpeg()))
    photo = db.session.scalar(db.select(Photo))
    first = client.get(f"/photos/{photo.id}")
    assert first.status_code == 200 and first.headers["ETag"] == f'"{photo.sha256}"'
    for path in photo_files(app):
        path.unlink()  # so any read of the store would now find nothing
    again = client.get(f"/photos/{photo.id}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and "immutable" in again.headers["Cache-Control"]
    assert client.get(f"/photos/{photo.id}").status_code == 404  # without the ETag the store is read


def test_a_bad_photo_is_refused_in_place_and_nothing_is_kept(app, client, plan, make_user):
    audit, item = start(client, plan, make_user)
    good = jpeg()
    for name, content, status in (
        ("notes.jpg", b"<html>not a photo</html>", 422),
        ("half.jpg", good[: len(good) // 2], 422),
    ):
        response = upload(client, audit, item, ("fine.jpg", jpeg(color=(1, 2, 3))), (name, content))
        html = response.get_data(as_text=True)
        assert response.status_code == status, name
        assert "Photo 2 of 2:" in html and "Nothing was saved." in html and html.startswith("<li")
    assert db.session.scalar(db.select(db.func.count(Photo.id))) == 0
    assert photo_files(app) == []


def test_oversize_upload_is_refused_with_413_before_storing(app, client, plan, make_user):
    audit, item = start(client, plan, make_user)
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    response = upload(client, audit, item, ("big.jpg", b"\xff\xd8" + b"0" * 60_000))
    assert response.status_code == 413
    assert db.session.scalar(db.select(db.func.count(Photo.id))) == 0


def test_upload_without_a_file_says_so(client, plan, make_user):
    audit, item = start(client, plan, make_user)
    response = client.post(f"/audits/{audit.id}/photos", data={"item_id": item.id}, headers=HX)
    assert response.status_code == 422 and b"Choose or take a photo first." in response.data


def test_photo_is_served_only_to_people_who_may_see_the_audit(app, client, plan, make_user):
    audit, item = start(client, plan, make_user)
    upload(client, audit, item, ("gauge.jpg", jpeg()))
    photo = db.session.scalar(db.select(Photo))
    full = client.get(f"/photos/{photo.id}")
    thumb = client.get(f"/photos/{photo.id}?size=thumb")
    assert full.status_code == 200 and full.mimetype == "image/jpeg"
    assert "immutable" in full.headers["Cache-Control"] and full.headers["ETag"]
    assert max(Image.open(BytesIO(thumb.data)).size) <= 320 < max(Image.open(BytesIO(full.data)).size)
    full.close()
    thumb.close()
    client.post("/logout")
    log_in(client, make_user("auditor"))
    assert client.get(f"/photos/{photo.id}").status_code == 404
    assert client.get("/photos/../../etc/passwd").status_code == 404


def test_an_action_owner_sees_the_photos_of_the_finding_behind_the_nc(app, client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    item = items_of(audit)["7.1.5-gauges"]
    answer(client, audit, item, "minor_nc")
    post_finding(client, audit, item, NC_TEXT)
    jpeg = BytesIO()
    Image.new("RGB", (300, 200), (10, 20, 30)).save(jpeg, "JPEG")
    jpeg.seek(0)
    uploaded = client.post(
        f"/audits/{audit.id}/photos",
        headers=HX,
        content_type="multipart/form-data",
        data={"item_id": str(item.id), "photo": [(jpeg, "g.jpg")]},
    )
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


def test_photo_removal_until_completion(app, client, plan, make_user):
    audit, item = start(client, plan, make_user)
    upload(client, audit, item, ("gauge.jpg", jpeg()))
    photo = db.session.scalar(db.select(Photo))
    page = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert 'hx-confirm="Remove this photo from the audit?"' in page
    response = client.post(f"/audits/{photo.audit_id}/photos/{photo.id}/delete", headers=HX)
    assert response.status_code == 200 and "size=thumb" not in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Photo.id))) == 0 and photo_files(app) == []
    assert db.session.scalar(db.select(Event).filter_by(entity_type="photo", action="removed")).item_id == item.id
    upload(client, audit, item, ("gauge.jpg", jpeg()))
    for other in audit.checklist_version.items:
        answer(client, audit, other, "conform")
    client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Done."})
    photo = db.session.scalar(db.select(Photo))
    assert client.post(f"/audits/{photo.audit_id}/photos/{photo.id}/delete", headers=HX).status_code == 409
    assert upload(client, audit, item, ("more.jpg", jpeg())).status_code == 409
    assert db.session.scalar(db.select(db.func.count(Photo.id))) == 1


def test_photos_attach_to_the_items_finding_and_show_in_the_report(app, client, plan, make_user):
    audit, item = start(client, plan, make_user)
    answer(client, audit, item, "minor_nc")
    client.post(
        f"/audits/{audit.id}/items/{item.id}/finding",
        headers=HX,
        data={"statement": "Gauge overdue", "evidence": "Label due 2026-10"},
    )
    upload(client, audit, item, ("gauge.jpg", jpeg()))
    photo = db.session.scalar(db.select(Photo))
    assert photo.finding_id is not None
    report = client.get(f"/audits/{audit.id}/report").get_data(as_text=True)
    assert f"/photos/{photo.id}" in report


def test_only_members_upload(client, plan, make_user):
    audit = plan()
    log_in(client, make_user("quality_lead"))
    item = items_of(audit)["7.1.5-gauges"]
    assert upload(client, audit, item, ("gauge.jpg", jpeg())).status_code == 403


def test_report_pdf_carries_the_findings_and_their_photos(app, client, plan, make_user):
    from pypdf import PdfReader

    audit, item = start(client, plan, make_user)
    answer(client, audit, item, "minor_nc")
    client.post(
        f"/audits/{audit.id}/items/{item.id}/finding",
        headers=HX,
        data={"statement": "Gauge overdue", "evidence": "Label due 2026-10"},
    )
    upload(client, audit, item, ("gauge.jpg", jpeg(1200, 900)))
    response = client.get(f"/audits/{audit.id}/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(BytesIO(response.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert f"Internal audit report {audit.number}" in text and "Gauge overdue" in text
    assert "Reopen" not in text and "Audit screen" not in text  # screen-only parts stay out
    assert "Minor NC" in text  # the item's grade, in the Result column
    images = [image for page in reader.pages for image in page.images]
    assert len({image.name for image in images}) == 1 and images[0].image.size == (900, 1200)  # upright, as stored
    # People who may not see the audit get no PDF either
    client.post("/logout")
    log_in(client, make_user("supervisor"))
    assert client.get(f"/audits/{audit.id}/report.pdf").status_code == 404


def grainy_jpeg(seed: int, size=(2000, 1500)) -> bytes:
    """A photo that compresses like a phone's (gradients and sensor grain), the same bytes every run."""
    half = (size[0] // 2, size[1] // 2)
    grain = Image.frombytes("L", half, random.Random(seed).randbytes(half[0] * half[1])).resize(size)
    across = Image.linear_gradient("L").resize(size)
    rgb = Image.merge("RGB", (ImageChops.add(across, grain, 3), across, ImageChops.add(grain, across, 3)))
    out = BytesIO()
    rgb.save(out, "JPEG", quality=90)
    return out.getvalue()


def test_a_report_with_ten_photos_embeds_them_at_print_resolution_under_2_mb(app, client, plan, make_user):
    from pypdf import PdfReader

    audit, item = start(client, plan, make_user)
    answer(client, audit, item, "minor_nc")
    post_finding(client, audit, item, NC_TEXT)
    for n in range(10):
        # Encoded here: the test client would spool a body this large to a file it never closes.
        boundary, body = encode_multipart(
            {"item_id": str(item.id), "photo": FileStorage(BytesIO(grainy_jpeg(n)), "p.jpg")}
        )
        content_type = f"multipart/form-data; boundary={boundary}"
        assert (
            client.post(f"/audits/{audit.id}/photos", data=body, headers=HX, content_type=content_type).status_code
            == 200
        )
    with app.app_context():
        stored = [len(photo_store().read(p.sha256)) for p in db.session.scalars(sqlalchemy.select(Photo))]
    assert len(stored) == 10 and sum(stored) > 4_000_000  # embedded as stored, the report would be over 4 MB

    response = client.get(f"/audits/{audit.id}/report.pdf")
    assert response.status_code == 200
    reader = PdfReader(BytesIO(response.data))
    sizes = {image.name: image.image.size for page in reader.pages for image in page.images}
    assert len(response.data) < 2_000_000
    assert len(sizes) == 10 and all(max(size) == 1200 for size in sizes.values())


def test_a_pdf_asked_while_the_renderer_has_enough_to_do_is_refused_with_retry_after(client, plan, make_user):
    from auditapp.web import pdf

    audit, _item = start(client, plan, make_user)
    taken = [pdf._waiting.acquire(blocking=False) for _ in range(pdf.PDF_WAITING)]  # PDFs already waiting
    try:
        assert all(taken)
        busy = client.get(f"/audits/{audit.id}/report.pdf")
    finally:
        for _ in taken:
            pdf._waiting.release()
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
    assert client.get(f"/audits/{audit.id}/report.pdf").status_code == 200  # the turn is given back


def test_making_a_pdf_does_not_make_the_pipeline_accept_truncated_photos(app):
    """WeasyPrint switches Pillow's global LOAD_TRUNCATED_IMAGES on when imported; we switch it off."""
    from auditapp.photos.pipeline import PhotoRejected, process_photo
    from auditapp.web.pdf import render_pdf

    with app.test_request_context():
        render_pdf("<p>x</p>")
    good = jpeg()
    with pytest.raises(PhotoRejected):
        process_photo(BytesIO(good[: len(good) // 2]))


def test_a_jpeg_comment_never_reaches_the_stored_photo_or_its_thumbnail(app, client, plan, make_user):
    audit, item = start(client, plan, make_user)
    out = BytesIO()
    Image.new("RGB", (4000, 3000), (90, 90, 90)).save(out, "JPEG", comment=b"GPS 52.3702N 4.8952E taken at home")
    assert upload(client, audit, item, ("home.jpg", out.getvalue())).status_code == 200
    stored = photo_files(app)
    assert len(stored) == 2
    for path in stored:
        data = path.read_bytes()
        assert b"GPS 52" not in data and b"\xff\xfe" not in data.split(b"\xff\xda", 1)[0], path.name


def test_more_photos_than_one_request_may_carry_are_refused_and_nothing_is_stored(app, client, plan, make_user):
    audit, item = start(client, plan, make_user)
    eleven = [(f"p{n}.jpg", jpeg(40, 30, color=(n, 0, 0))) for n in range(11)]  # the default limit is 10
    response = upload(client, audit, item, *eleven)
    assert response.status_code == 413
    assert "11 photos were sent at once; at most 10 can be added in one go." in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Photo.id))) == 0 and photo_files(app) == []
    app.config["PHOTO_MAX_PER_REQUEST"] = 2  # AUDITAPP_MAX_PHOTOS_PER_REQUEST
    assert upload(client, audit, item, *eleven[:3]).status_code == 413
    assert upload(client, audit, item, *eleven[:2]).status_code == 200


def test_when_no_photo_processing_turn_is_free_the_upload_gets_503_with_retry_after(app, client, plan, make_user):
    audit, item = start(client, plan, make_user)
    app.config.update(PHOTO_WORKERS=1, PHOTO_WAIT_SECONDS=0.2)
    turns = intake.processing_slots()
    assert turns.acquire(timeout=1)  # another request is decoding a photo
    try:
        response = upload(client, audit, item, ("gauge.jpg", jpeg()))
    finally:
        turns.release()
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    assert "busy" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Photo.id))) == 0 and photo_files(app) == []
    assert upload(client, audit, item, ("gauge.jpg", jpeg())).status_code == 200  # the turn is given back


def test_photo_files_are_written_before_the_change_lock_is_taken(app, client, plan, make_user):
    audit, item = start(client, plan, make_user)
    files_when_locked = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE EVENT_CHAIN_HEAD") and not files_when_locked:
            files_when_locked.append(len(photo_files(app)))

    sqlalchemy.event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        response = upload(client, audit, item, ("a.jpg", jpeg()), ("b.jpg", jpeg(color=(0, 90, 200))))
    finally:
        sqlalchemy.event.remove(db.engine, "before_cursor_execute", on_execute)
    assert response.status_code == 200
    assert files_when_locked == [4]  # both photos and both thumbnails were on disk before the first lock


def test_a_database_locked_by_another_writer_answers_503_with_retry_after(app, client, plan, make_user):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite:///"):
        pytest.skip("SQLite's database-wide write lock")
    audit, item = start(client, plan, make_user)
    other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another request holds the write lock past the 5 s busy timeout
        response = upload(client, audit, item, ("gauge.jpg", jpeg()))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    assert "busy" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Photo.id))) == 0
    assert upload(client, audit, item, ("gauge.jpg", jpeg())).status_code == 200
