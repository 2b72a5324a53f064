"""Photos in S3-compatible storage (a real SeaweedFS server): the store behaves as the folder does, and
the app uploads, serves, removes, sweeps, prints and migrates photos through it, from two hosts at once."""

import hashlib
import shutil
import time
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from auditapp import create_app
from auditapp.events.models import Event
from auditapp.extensions import db
from auditapp.photos.models import Photo
from auditapp.photos.pipeline import process_photo
from auditapp.photos.s3 import S3Store
from auditapp.photos.storage import FolderStore, photo_store
from auditapp.web import pdf

from .support.accounts import log_in
from .support.app import CSRFClient, base_config
from .support.audits import HX, answer, items_of
from .support.photos import jpeg, upload
from .support.ports import free_ports
from .support.s3 import BUCKET

BAD_NAMES = ("../../etc/passwd", "A" * 64, "0" * 63, "0" * 64 + "/x", "")


def _photo(shade: int = 1):
    return process_photo(BytesIO(jpeg(color=(shade * 30 % 256, 60, 90))))


def _names(sha: str) -> tuple[str, str]:
    return f"{sha[:2]}/{sha}.jpg", f"{sha[:2]}/{sha}.thumb.jpg"


def _down(settings: dict) -> dict:
    """The same settings with the endpoint moved to a port where nothing listens."""
    return {**settings, "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_ports(1)[0]}", "S3_MAX_ATTEMPTS": 1}


@pytest.fixture(params=["folder", "s3"])
def store(request, tmp_path):
    """Each test below runs against both kinds of store."""
    if request.param == "folder":
        return FolderStore(tmp_path / "photos")
    return S3Store.from_config(request.getfixturevalue("s3_settings"))


def _put_foreign(store, name: str, data: bytes = b"not a photo") -> None:
    """Something in the store's place that the store did not write."""
    if isinstance(store, FolderStore):
        path = store.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    else:
        store.client.put_object(Bucket=store.bucket, Key=store.prefix + name, Body=data)


def _use(app, settings: dict) -> None:
    """Point the app at other store settings (the store is built once per app, on first use; /ready
    keeps its verdict for a moment, which would still be the old store's)."""
    app.config.update(settings)
    app.extensions.pop("auditapp.photo_store", None)
    app.extensions.pop("auditapp.ready", None)


# --- the store itself, folder and S3 alike -------------------------------------------------------


def test_a_saved_photo_reads_back_with_its_thumbnail_and_is_stored_once(store):
    photo = _photo()
    assert store.save(photo) is True
    assert store.read(photo.sha256) == photo.data
    assert store.read(photo.sha256, thumbnail=True) == photo.thumbnail
    assert store.save(photo) is False
    assert len(list(store.files())) == 2


def test_a_missing_photo_reads_as_none_and_names_must_be_hashes(store):
    assert store.read("0" * 64) is None and store.read("0" * 64, thumbnail=True) is None
    for bad in BAD_NAMES:
        for call in (store.read, store.delete, lambda name: store.write(name, b"x")):
            with pytest.raises(ValueError):
                call(bad)


def test_files_lists_what_the_store_wrote_and_nothing_else(store):
    photo = _photo()
    sha = photo.sha256
    store.save(photo)
    other_shard = "00" if sha[:2] != "00" else "01"
    for name in ("readme.txt", f"{sha[:2]}/notes.txt", f"{sha[:2]}/{sha}.png", f"{other_shard}/{sha}.jpg"):
        _put_foreign(store, name)
    files = sorted(store.files(), key=lambda f: f.name)
    assert [(f.name, f.sha256, f.thumbnail, f.temporary, f.size) for f in files] == [
        (_names(sha)[0], sha, False, False, len(photo.data)),
        (_names(sha)[1], sha, True, False, len(photo.thumbnail)),
    ]
    # Seconds since the epoch, like a file's mtime (both clocks are this machine's).
    assert all(abs(f.modified - time.time()) < 3600 for f in files)


def test_remove_takes_one_listed_file_and_refuses_any_other_name(store):
    photo = _photo()
    sha = photo.sha256
    store.save(photo)
    for bad in (
        "../x.jpg",
        "readme.txt",
        f"{sha[:2]}/{sha}.png",
        f"/{_names(sha)[0]}",
        f"{sha[:2]}/../{_names(sha)[0]}",
    ):
        with pytest.raises(ValueError):
            store.remove(bad)
    store.remove(_names(sha)[1])
    store.remove(_names(sha)[1])  # already gone: no error
    assert store.read(sha, thumbnail=True) is None and store.read(sha) == photo.data


def test_delete_removes_the_photo_and_its_thumbnail_only(store):
    gone, kept = _photo(1), _photo(2)
    store.save(gone)
    store.save(kept)
    store.delete(gone.sha256)
    store.delete(gone.sha256)  # already gone: no error
    assert store.read(gone.sha256) is None and store.read(gone.sha256, thumbnail=True) is None
    assert {f.sha256 for f in store.files()} == {kept.sha256}


def test_write_puts_back_the_bytes_of_a_backup(store):
    photo = _photo()
    store.write(photo.sha256, photo.data)
    store.write(photo.sha256, photo.thumbnail, thumbnail=True)
    assert store.read(photo.sha256) == photo.data and store.read(photo.sha256, thumbnail=True) == photo.thumbnail
    assert sorted(f.name for f in store.files()) == sorted(_names(photo.sha256))


def test_saving_a_stored_photo_again_marks_its_files_as_used_now(store):
    """So `flask photos sweep` leaves them to the row an upload is about to commit."""
    photo = _photo()
    store.save(photo)
    before = {f.name: f.modified for f in store.files()}
    time.sleep(1.1)  # S3's LastModified counts whole seconds
    assert store.save(photo) is False
    after = {f.name: f.modified for f in store.files()}
    assert after.keys() == before.keys() and all(after[name] > before[name] for name in before)
    assert store.read(photo.sha256) == photo.data and store.read(photo.sha256, thumbnail=True) == photo.thumbnail


def test_modified_is_read_at_the_moment_asked(store):
    """What `flask photos sweep` asks just before removing a file its listing called old."""
    photo = _photo()
    store.save(photo)
    image = _names(photo.sha256)[0]
    listed = {f.name: f.modified for f in store.files()}[image]
    time.sleep(1.1)  # S3's LastModified counts whole seconds
    store.save(photo)  # an upload of the same photo, after the listing
    assert store.modified(image) > listed
    store.delete(photo.sha256)
    assert store.modified(image) is None
    with pytest.raises(ValueError):
        store.modified(f"{photo.sha256[:2]}/../{image}")


def test_check_passes_on_a_usable_store(store):
    store.check()


# --- S3 only ---------------------------------------------------------------------------------------


def test_keys_mirror_the_folder_layout_under_the_prefix(seaweedfs, s3_settings, s3_prefix):
    store = S3Store.from_config(s3_settings)
    photo = _photo()
    store.save(photo)
    assert seaweedfs.keys(s3_prefix) == {s3_prefix + name for name in _names(photo.sha256)}
    client = seaweedfs.client()
    assert client.head_object(Bucket=BUCKET, Key=s3_prefix + _names(photo.sha256)[0])["ContentType"] == "image/jpeg"
    time.sleep(1.1)
    store.save(photo)  # refreshed by a copy onto itself: the content type must survive it
    assert client.head_object(Bucket=BUCKET, Key=s3_prefix + _names(photo.sha256)[0])["ContentType"] == "image/jpeg"
    # A photo-shaped key beside the prefix belongs to someone else.
    client.put_object(Bucket=BUCKET, Key=s3_prefix.replace("photos/", "other/") + _names("ab" * 32)[0], Body=b"x")
    assert {f.sha256 for f in store.files()} == {photo.sha256}


def test_check_fails_when_the_bucket_is_missing(s3_settings):
    store = S3Store.from_config({**s3_settings, "S3_BUCKET": "no-such-bucket"})
    with pytest.raises(OSError, match="no-such-bucket"):
        store.check()
    with pytest.raises(OSError):
        store.save(_photo())
    with pytest.raises(OSError):  # not None: a missing bucket is not a missing photo
        store.read("0" * 64)


def test_every_operation_fails_with_an_os_error_when_the_endpoint_is_down(s3_settings):
    store = S3Store.from_config(_down(s3_settings))
    photo = _photo()
    for call in (
        store.check,
        lambda: store.save(photo),
        lambda: store.read(photo.sha256),
        lambda: store.write(photo.sha256, photo.data),
        lambda: store.delete(photo.sha256),
        lambda: list(store.files()),
        lambda: store.remove(_names(photo.sha256)[0]),
    ):
        with pytest.raises(OSError):
            call()


def test_an_s3_store_needs_a_bucket(s3_settings):
    with pytest.raises(RuntimeError, match="AUDITAPP_S3_BUCKET"):
        S3Store.from_config({**s3_settings, "S3_BUCKET": ""})


# --- the app with AUDITAPP_PHOTO_STORAGE=s3 ---------------------------------------------------------


def test_the_environment_chooses_the_s3_store(monkeypatch, tmp_path, database_url, seaweedfs, s3_prefix):
    for name, value in {
        "PHOTO_STORAGE": "s3",
        "S3_BUCKET": BUCKET,
        "S3_ENDPOINT_URL": seaweedfs.endpoint,
        "S3_ACCESS_KEY_ID": "test",
        "S3_SECRET_ACCESS_KEY": "test",
        "S3_REGION": "us-east-1",
        "S3_PREFIX": s3_prefix,
        "S3_READ_TIMEOUT": "7.5",
    }.items():
        monkeypatch.setenv(f"AUDITAPP_{name}", value)
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        store = photo_store()
        assert isinstance(store, S3Store) and (store.bucket, store.prefix) == (BUCKET, s3_prefix)
        assert store.client.meta.config.read_timeout == 7.5
        store.check()
        db.engine.dispose()


@pytest.fixture
def s3_app(app, s3_settings):
    _use(app, s3_settings)
    return app


@pytest.fixture
def audit_and_item(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    return audit, items_of(audit)["7.1.5-gauges"]


def _object(seaweedfs, key: str) -> bytes:
    return seaweedfs.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_an_uploaded_photo_lands_in_the_bucket_and_is_served_only_to_who_may_see_it(
    s3_app, client, audit_and_item, make_user, seaweedfs, s3_prefix
):
    audit, item = audit_and_item
    assert isinstance(photo_store(), S3Store)
    assert upload(client, audit, item, ("gauge.jpg", jpeg())).status_code == 200
    photo = db.session.scalar(db.select(Photo))
    image, thumb = (s3_prefix + name for name in _names(photo.sha256))
    assert seaweedfs.keys(s3_prefix) == {image, thumb}
    full = client.get(f"/photos/{photo.id}")
    small = client.get(f"/photos/{photo.id}?size=thumb")
    assert full.status_code == small.status_code == 200 and full.mimetype == "image/jpeg"
    assert full.data == _object(seaweedfs, image) and small.data == _object(seaweedfs, thumb)
    assert hashlib.sha256(full.data).hexdigest() == photo.sha256
    assert not Path(s3_app.config["PHOTO_DIR"]).exists()  # nothing went to the local folder
    client.post("/logout")
    log_in(client, make_user("auditor"))
    assert client.get(f"/photos/{photo.id}").status_code == 404
    assert client.get(f"/photos/{photo.id}?size=thumb").status_code == 404


def test_a_removed_photos_objects_go_once_no_row_refers_to_them(s3_app, client, audit_and_item, seaweedfs, s3_prefix):
    audit, item = audit_and_item
    same = jpeg()
    upload(client, audit, item, ("a.jpg", same))
    upload(client, audit, item, ("b.jpg", same))
    first, second = db.session.scalars(db.select(Photo).order_by(Photo.created_at)).all()
    assert len(seaweedfs.keys(s3_prefix)) == 2
    assert client.post(f"/audits/{audit.id}/photos/{first.id}/delete", headers=HX).status_code == 200
    assert len(seaweedfs.keys(s3_prefix)) == 2  # the other row still uses them
    assert client.post(f"/audits/{audit.id}/photos/{second.id}/delete", headers=HX).status_code == 200
    assert seaweedfs.keys(s3_prefix) == set()


def test_sweep_removes_old_unreferenced_objects_and_keeps_referenced_and_young_ones(
    s3_app, client, audit_and_item, seaweedfs, s3_prefix
):
    audit, item = audit_and_item
    upload(client, audit, item, ("kept.jpg", jpeg()))
    kept = {s3_prefix + name for name in _names(db.session.scalar(db.select(Photo.sha256)))}
    orphan = _photo(7)  # files whose rows never came (a crash between upload and commit)
    photo_store().save(orphan)
    runner = s3_app.test_cli_runner()

    young = runner.invoke(args=["photos", "sweep", "--delete"])  # an hour's grace: all of them are young
    assert young.exit_code == 0 and "Removed 0 files" in young.output
    assert len(seaweedfs.keys(s3_prefix)) == 4

    dry = runner.invoke(args=["photos", "sweep", "--min-age", "0"])
    assert sorted(line.split()[2] for line in dry.output.splitlines() if line.startswith("would remove ")) == sorted(
        _names(orphan.sha256)
    )
    removed = runner.invoke(args=["photos", "sweep", "--delete", "--min-age", "0"])
    assert removed.exit_code == 0 and "Removed 2 files" in removed.output, removed.output
    assert seaweedfs.keys(s3_prefix) == kept


def test_the_report_pdf_carries_a_photo_from_the_bucket(s3_app, client, audit_and_item):
    audit, item = audit_and_item
    answer(client, audit, item, "minor_nc")
    client.post(
        f"/audits/{audit.id}/items/{item.id}/finding",
        headers=HX,
        data={"statement": "Gauge overdue", "evidence": "Label due 2026-10"},
    )
    upload(client, audit, item, ("gauge.jpg", jpeg(1200, 900)))
    response = client.get(f"/audits/{audit.id}/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    images = [image for page in PdfReader(BytesIO(response.data)).pages for image in page.images]
    assert len({image.name for image in images}) == 1 and images[0].image.size == (900, 1200)


def test_a_completed_report_pdf_is_prepared_in_the_background_with_its_photo_from_the_bucket(
    s3_app, client, audit_and_item
):
    s3_app.config["PDF_PREPARE"] = True
    audit, item = audit_and_item
    answer(client, audit, item, "minor_nc")
    finding = {"statement": "Gauge overdue", "evidence": "Label due 2026-10"}
    client.post(f"/audits/{audit.id}/items/{item.id}/finding", headers=HX, data=finding)
    upload(client, audit, item, ("gauge.jpg", jpeg(1200, 900)))
    done = client.post(f"/audits/{audit.id}/complete", data={"conclusion": "Done.", "confirm_unanswered": "on"})
    assert done.status_code == 302
    assert pdf.wait_for_preparations(180)
    with db.engine.connect() as conn:
        prepared = conn.scalar(db.select(pdf.KeptPdf.pdf).where(pdf.KeptPdf.name == f"audit-report-{audit.id}"))
    assert prepared is not None
    images = [image for page in PdfReader(BytesIO(prepared)).pages for image in page.images]
    assert len({image.name for image in images}) == 1 and images[0].image.size == (900, 1200)
    assert client.get(f"/audits/{audit.id}/report.pdf").data == prepared


def test_a_photo_uploaded_through_one_host_is_served_by_the_other(
    s3_app, client, audit_and_item, make_user, s3_settings, tmp_path
):
    """Two app instances: own instance folders, one database, one bucket."""
    audit, item = audit_and_item
    other = create_app({**base_config(tmp_path / "host-b", s3_app.config["SQLALCHEMY_DATABASE_URI"]), **s3_settings})
    other.test_client_class = CSRFClient
    assert other.instance_path != s3_app.instance_path
    try:
        assert upload(client, audit, item, ("gauge.jpg", jpeg())).status_code == 200
        photo = db.session.scalar(db.select(Photo))
        served_here = client.get(f"/photos/{photo.id}").data
        there = other.test_client()
        log_in(there, audit.lead_auditor)
        served_there = there.get(f"/photos/{photo.id}")
        assert served_there.status_code == 200 and served_there.data == served_here
        assert there.get(f"/photos/{photo.id}?size=thumb").status_code == 200
        assert not Path(other.config["PHOTO_DIR"]).exists()
    finally:
        with other.app_context():
            db.engine.dispose()


def test_an_upload_while_the_store_is_down_is_refused_with_503_and_nothing_is_recorded(
    app, client, audit_and_item, s3_settings
):
    _use(app, _down(s3_settings))
    audit, item = audit_and_item
    response = upload(client, audit, item, ("gauge.jpg", jpeg()))
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "photo store cannot be reached" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Photo.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Event.id)).filter_by(entity_type="photo")) == 0


def test_while_the_store_is_down_photos_answer_503_and_removal_leaves_the_objects_to_the_sweep(
    app, client, audit_and_item, s3_settings, seaweedfs, s3_prefix
):
    _use(app, s3_settings)
    audit, item = audit_and_item
    upload(client, audit, item, ("gauge.jpg", jpeg()))
    photo = db.session.scalar(db.select(Photo))
    _use(app, _down(s3_settings))
    assert client.get(f"/photos/{photo.id}").status_code == 503
    assert client.post(f"/audits/{audit.id}/photos/{photo.id}/delete", headers=HX).status_code == 200
    assert db.session.scalar(db.select(db.func.count(Photo.id))) == 0
    assert len(seaweedfs.keys(s3_prefix)) == 2  # unreferenced now: `flask photos sweep` takes them later


def test_ready_answers_by_whether_the_bucket_can_be_reached(app, client, s3_settings):
    _use(app, s3_settings)
    assert client.get("/ready").status_code == 200
    for broken in ({**s3_settings, "S3_BUCKET": "no-such-bucket"}, _down(s3_settings)):
        _use(app, broken)
        response = client.get("/ready")
        assert response.status_code == 503 and response.get_json() == {"status": "unavailable", "failed": ["photos"]}
        assert b"127.0.0.1" not in response.data and b"no-such-bucket" not in response.data


# --- commands ----------------------------------------------------------------------------------------


def test_photos_check_says_whether_the_store_is_usable(app, s3_settings, seaweedfs, s3_prefix):
    runner = app.test_cli_runner()
    folder = runner.invoke(args=["photos", "check"])
    assert folder.exit_code == 0 and "The photo store (folder) is reachable and writable." in folder.output
    _use(app, s3_settings)
    bucket = runner.invoke(args=["photos", "check"])
    assert bucket.exit_code == 0 and "(s3) is reachable and writable" in bucket.output
    assert seaweedfs.keys(s3_prefix) == set()  # the probe is gone again
    for broken in ({**s3_settings, "S3_BUCKET": "no-such-bucket"}, _down(s3_settings)):
        _use(app, broken)
        result = runner.invoke(args=["photos", "check"])
        assert result.exit_code == 1 and "The photo store (s3) is not usable" in result.output


def test_copy_to_s3_copies_every_photo_verified_and_may_run_again(
    app, client, audit_and_item, s3_settings, seaweedfs, s3_prefix
):
    audit, item = audit_and_item
    upload(client, audit, item, ("a.jpg", jpeg(color=(10, 20, 30))), ("b.jpg", jpeg(color=(30, 20, 10))))
    folder = Path(app.config["PHOTO_DIR"])
    photo = db.session.scalars(db.select(Photo)).first()
    (folder / photo.sha256[:2] / f".{photo.sha256}.jpg.abc.tmp").write_bytes(b"half a photo")  # a crashed write
    app.config.update({key: value for key, value in s3_settings.items() if key != "PHOTO_STORAGE"})
    runner = app.test_cli_runner()

    first = runner.invoke(args=["photos", "copy-to-s3"])
    assert first.exit_code == 0 and "Copied 4 files to bucket 'auditapp-test'; 0 were there already." in first.output
    in_folder = {str(p.relative_to(folder)): p.read_bytes() for p in folder.glob("??/*.jpg")}
    assert {s3_prefix + name for name in in_folder} == seaweedfs.keys(s3_prefix)
    assert all(_object(seaweedfs, s3_prefix + name) == data for name, data in in_folder.items())
    again = runner.invoke(args=["photos", "copy-to-s3"])
    assert again.exit_code == 0 and "Copied 0 files" in again.output and "4 were there already" in again.output

    # Switched over, with the folder gone: the photos are served from the bucket.
    _use(app, {"PHOTO_STORAGE": "s3"})
    shutil.rmtree(folder)
    assert client.get(f"/photos/{photo.id}").status_code == 200


def test_copy_to_s3_refuses_a_file_that_does_not_match_its_name(app, s3_settings, seaweedfs, s3_prefix):
    sha = hashlib.sha256(b"what the name promises").hexdigest()
    path = Path(app.config["PHOTO_DIR"]) / sha[:2] / f"{sha}.jpg"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"something else")
    app.config.update(s3_settings)
    result = app.test_cli_runner().invoke(args=["photos", "copy-to-s3"])
    assert result.exit_code == 1 and "does not match its hash" in result.output
    assert seaweedfs.keys(s3_prefix) == set()
