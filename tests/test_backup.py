"""flask backup create | verify | restore, on the database the suite runs on (SQLite, or PostgreSQL)."""

import io
import json
import shutil
import tarfile
import threading
import time
from datetime import date

import pytest
from sqlalchemy import make_url, select

from auditapp.accounts.models import User
from auditapp.audits import services as audits
from auditapp.audits.models import Response
from auditapp.checklists import services as checklists
from auditapp.extensions import db
from auditapp.ops.databases import libpq
from auditapp.photos import services as photos
from auditapp.photos.models import Photo

from .support.accounts import log_in
from .support.audits import items_of
from .support.backup import (
    AnsweringClient,
    RemovedWhileRead,
    empty_database,
    empty_store_like,
    fill_instance,
    instance_app,
    invoke,
    needs_postgresql_tools,
    photo_count,
    photo_problems,
    rows_per_table,
    unreachable,
    use_store,
)
from .support.browser import LiveServer
from .support.photos import jpeg, upload

CLIENTS = 8


@pytest.fixture
def filled(request, app, runner, client, plan, make_user, shipped_checklists, tmp_path):
    """The test's instance with demo data and a completed audit with photos; its event key in instance/event_key.

    Its photos are in the folder, or in S3 when a test parametrizes this fixture indirectly with "s3"."""
    needs_postgresql_tools()
    if getattr(request, "param", "folder") == "s3":
        use_store(app, request.getfixturevalue("s3_settings"))
    # As in production without AUDITAPP_EVENT_KEY: the key is a file in the instance folder (the one the
    # fixtures' users were already logged with, so the chain stays whole).
    (tmp_path / "instance" / "event_key").write_text(app.config["EVENT_KEY"])
    app.config["EVENT_KEY"] = None
    fill_instance(runner, client, plan, make_user)
    assert invoke(app, "events", "checkpoint").exit_code == 0
    return app


@pytest.mark.parametrize("filled", ["folder", "s3"], indirect=True)
def test_a_backup_restores_into_an_empty_instance_with_its_rows_photos_log_and_key(filled, tmp_path):
    archive = tmp_path / "backups" / "auditapp.tar.gz"
    created = invoke(filled, "backup", "create", str(archive), "--with-keys")
    assert created.exit_code == 0, created.output
    assert "the event key is IN the archive" in created.output
    checked = invoke(filled, "backup", "verify", str(archive))
    assert checked.exit_code == 0, checked.output
    assert ": OK: " in checked.output
    fresh_store = empty_store_like(filled)
    with (
        empty_database(tmp_path) as url,
        instance_app(tmp_path / "restored", url, EVENT_KEY=None, **fresh_store) as target,
    ):
        restored = invoke(target, "backup", "restore", str(archive))
        assert restored.exit_code == 0, restored.output
        assert "event key: in place (restored from the archive)" in restored.output
        verified = invoke(target, "events", "verify", "--records")
        assert verified.exit_code == 0, verified.output
        assert "checkpoints: 1 in" in verified.output  # the checkpoint file came along and agrees
        assert rows_per_table(target) == rows_per_table(filled)
        assert photo_count(target) == photo_count(filled) == 3
        assert photo_problems(target) == []


def test_without_keys_the_restore_says_the_key_must_come_from_its_safe_copy(filled, tmp_path):
    archive = tmp_path / "auditapp.tar"
    created = invoke(filled, "backup", "create", str(archive))
    assert "the event key is not in the archive" in created.output
    with tarfile.open(archive) as tar:
        assert not any("key" in name for name in tar.getnames())
    with empty_database(tmp_path) as url, instance_app(tmp_path / "restored", url, EVENT_KEY=None) as target:
        restored = invoke(target, "backup", "restore", str(archive))
        assert restored.exit_code == 0, restored.output
        assert "event key: NOT in the archive" in restored.output
        # The key comes back from its safe copy, as the README says; then the log verifies.
        shutil.copy(tmp_path / "instance" / "event_key", tmp_path / "restored" / "instance" / "event_key")
        with instance_app(tmp_path / "restored", url, EVENT_KEY=None) as restarted:
            verified = invoke(restarted, "events", "verify")
        assert verified.exit_code == 0, verified.output


def test_a_photo_removed_while_its_file_is_copied_leaves_the_backup_with_its_row(
    app, client, plan, make_user, tmp_path
):
    needs_postgresql_tools()
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    upload(client, audit, items_of(audit)["7.1.5-gauges"], ("a.jpg", jpeg()), ("b.jpg", jpeg(color=(0, 90, 200))))
    removed, kept = sorted(db.session.scalars(select(Photo.sha256)))

    def remove(sha256):  # another user, in a request of their own, after the snapshot was taken
        with app.app_context():
            photos.remove_photo(
                db.session.get(User, lead.id), db.session.scalar(select(Photo).filter_by(sha256=sha256))
            )
            db.session.commit()

    app.extensions["auditapp.photo_store"] = RemovedWhileRead(app.config["PHOTO_DIR"], removed, remove)
    archive = tmp_path / "auditapp.tar"
    created = invoke(app, "backup", "create", str(archive))
    assert created.exit_code == 0, created.output
    assert "the snapshot was taken 2 times" in created.output
    assert invoke(app, "backup", "verify", str(archive)).exit_code == 0
    with empty_database(tmp_path) as url, instance_app(tmp_path / "restored", url) as target:
        assert invoke(target, "backup", "restore", str(archive)).exit_code == 0
        assert invoke(target, "events", "verify", "--records").exit_code == 0
        with target.app_context():
            assert list(db.session.scalars(select(Photo.sha256))) == [kept]
            db.session.remove()
        assert photo_problems(target) == []


# --- verify catches a damaged archive ---------------------------------------------------------------------


def _rewrite(archive, change):
    """Rewrite an uncompressed archive member by member through change(name, data) -> data or None (left out)."""
    with tarfile.open(archive) as tar:
        members = [(info.name, tar.extractfile(info).read()) for info in tar]
    with tarfile.open(archive, "w") as tar:
        for name, data in members:
            data = change(name, data)
            if data is not None:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def _flip_a_photo_byte(archive):
    def change(name, data):
        if name.startswith("photos/") and not name.endswith(".thumb.jpg"):
            return data[:100] + bytes([data[100] ^ 1]) + data[101:]
        return data

    _rewrite(archive, change)


def _drop_a_photo(archive):
    dropped = []

    def change(name, data):
        if name.startswith("photos/") and name.endswith(".thumb.jpg") and not dropped:
            dropped.append(name)
            return None
        return data

    _rewrite(archive, change)


def _tamper_with_the_manifest(archive):
    def change(name, data):
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["photo_rows"] -= 1
            return json.dumps(manifest).encode()
        return data

    _rewrite(archive, change)


def _cut_short(archive):
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) * 2 // 3])


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (_flip_a_photo_byte, "its content does not match the manifest"),
        (_drop_a_photo, ".thumb.jpg: missing from the archive"),
        (_tamper_with_the_manifest, "photo rows, the manifest says"),
        (_cut_short, "cut short"),
    ],
)
def test_verify_finds_a_damaged_archive(filled, tmp_path, damage, expected):
    archive = tmp_path / "auditapp.tar"
    assert invoke(filled, "backup", "create", str(archive)).exit_code == 0
    assert invoke(filled, "backup", "verify", str(archive)).exit_code == 0
    damage(archive)
    checked = invoke(filled, "backup", "verify", str(archive))
    assert checked.exit_code == 1
    assert expected in checked.output
    assert "do not rely on this backup" in checked.output


def test_restore_refuses_an_archive_that_fails_its_check(filled, tmp_path):
    archive = tmp_path / "auditapp.tar"
    assert invoke(filled, "backup", "create", str(archive)).exit_code == 0
    _flip_a_photo_byte(archive)
    with empty_database(tmp_path) as url, instance_app(tmp_path / "restored", url) as target:
        restored = invoke(target, "backup", "restore", str(archive))
        assert restored.exit_code == 1
        assert "restore refused: the archive fails its check" in restored.output
        assert rows_per_table(target) == {}


# --- restore refuses a non-empty instance --------------------------------------------------------------


def test_restore_refuses_an_instance_that_holds_data_unless_forced_and_confirmed(filled, tmp_path):
    archive = tmp_path / "auditapp.tar.gz"
    assert invoke(filled, "backup", "create", str(archive), "--with-keys").exit_code == 0
    before = rows_per_table(filled)
    filled.config["EVENT_KEY"] = "a later key"  # a change after the backup, to see the restore undo it
    refused = invoke(filled, "backup", "restore", str(archive))
    assert refused.exit_code == 1
    assert "the instance is not empty (" in refused.output and "add --force to wipe" in refused.output
    declined = invoke(filled, "backup", "restore", str(archive), "--force", input="n\n")
    assert declined.exit_code == 1
    assert "its database will be WIPED" in declined.output
    assert rows_per_table(filled) == before
    filled.config["EVENT_KEY"] = None
    forced = invoke(filled, "backup", "restore", str(archive), "--force", "--yes")
    assert forced.exit_code == 0, forced.output
    assert rows_per_table(filled) == before
    assert invoke(filled, "events", "verify", "--records").exit_code == 0


def test_a_restore_that_fails_partway_says_so_and_may_be_run_again_with_force(filled, tmp_path):
    archive = tmp_path / "auditapp.tar"
    assert invoke(filled, "backup", "create", str(archive), "--with-keys").exit_code == 0
    (tmp_path / "a").mkdir()
    not_a_folder = tmp_path / "a" / "photos"
    not_a_folder.write_text("the photo folder is mistyped as a file's name")
    with empty_database(tmp_path / "a") as url:
        with instance_app(tmp_path / "a", url, EVENT_KEY=None, PHOTO_DIR=str(not_a_folder)) as target:
            failed = invoke(target, "backup", "restore", str(archive))
        assert failed.exit_code == 1 and not isinstance(failed.exception, OSError)
        assert "restore failed partway: " in failed.output and "restore again with --force" in failed.output
        with instance_app(tmp_path / "a", url, EVENT_KEY=None, PHOTO_DIR=str(tmp_path / "a" / "fixed")) as target:
            again = invoke(target, "backup", "restore", str(archive), "--force", "--yes")
            assert again.exit_code == 0, again.output
            assert photo_problems(target) == []
            assert invoke(target, "events", "verify", "--records").exit_code == 0


# --- photos in S3 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("filled", ["s3"], indirect=True)
def test_a_restore_into_s3_writes_every_photo_into_the_new_prefix_and_refuses_a_prefix_holding_photos(
    filled, seaweedfs, s3_prefix, tmp_path
):
    archive = tmp_path / "auditapp.tar"
    assert invoke(filled, "backup", "create", str(archive), "--with-keys").exit_code == 0
    with tarfile.open(archive) as tar:
        archived = {name.removeprefix("photos/") for name in tar.getnames() if name.startswith("photos/")}
    stored = {key.removeprefix(s3_prefix) for key in seaweedfs.keys(s3_prefix)}
    assert archived == stored and len(stored) == 4  # two distinct photos (one uploaded twice), each with its thumbnail
    fresh_store = empty_store_like(filled)
    prefix = fresh_store["S3_PREFIX"]
    with empty_database(tmp_path) as url, instance_app(tmp_path / "a", url, EVENT_KEY=None, **fresh_store) as target:
        assert seaweedfs.keys(prefix) == set()
        restored = invoke(target, "backup", "restore", str(archive))
        assert restored.exit_code == 0, restored.output
        assert {key.removeprefix(prefix) for key in seaweedfs.keys(prefix)} == stored
        assert photo_problems(target) == []
        assert invoke(target, "events", "verify", "--records").exit_code == 0
    # Another empty database, on the prefix that now holds photos: the store is not empty.
    (tmp_path / "b").mkdir()
    with (
        empty_database(tmp_path / "b") as url,
        instance_app(tmp_path / "b", url, EVENT_KEY=None, **fresh_store) as target,
    ):
        refused = invoke(target, "backup", "restore", str(archive))
        assert refused.exit_code == 1
        assert "the instance is not empty (photos in the photo store)" in refused.output
        assert rows_per_table(target) == {}
        forced = invoke(target, "backup", "restore", str(archive), "--force", "--yes")
        assert forced.exit_code == 0, forced.output
        assert {key.removeprefix(prefix) for key in seaweedfs.keys(prefix)} == stored
        assert photo_problems(target) == []
        assert invoke(target, "events", "verify", "--records").exit_code == 0


@pytest.mark.parametrize("filled", ["s3"], indirect=True)
def test_backup_and_restore_say_so_when_the_bucket_cannot_be_reached(filled, tmp_path):
    archive = tmp_path / "auditapp.tar"
    assert invoke(filled, "backup", "create", str(archive)).exit_code == 0
    use_store(filled, unreachable(filled.config))
    failed = invoke(filled, "backup", "create", str(tmp_path / "later.tar"))
    assert failed.exit_code == 1 and not isinstance(failed.exception, OSError)
    assert "backup failed: photo store: reading" in failed.output
    assert sorted(path.name for path in tmp_path.iterdir() if ".tar" in path.name) == ["auditapp.tar"]  # no partial
    with empty_database(tmp_path) as url, instance_app(tmp_path / "a", url, **unreachable(filled.config)) as target:
        refused = invoke(target, "backup", "restore", str(archive))
        assert refused.exit_code == 1 and not isinstance(refused.exception, OSError)
        assert "restore refused: photo store: listing the photos failed" in refused.output
        assert rows_per_table(target) == {}


# --- the acceptance test: a backup while eight clients keep answering ---------------------------------


def _busy_audit(shipped_checklists, make_user):
    checklists.sync_directory(shipped_checklists)
    lead = make_user("auditor", email="lead@example.com")
    planner = make_user("quality_lead")
    checklist = checklists.get_checklist("iso9001-2015")
    audit = audits.plan_audit(
        planner, checklist_id=checklist.id, title="Busy", planned_date=date.today(), lead_auditor_id=lead.id
    )
    db.session.commit()
    return audit.id, [item.id for item in audit.checklist_version.items]


class Answering:
    """CLIENTS sessions, each answering its own items over and over (and now and then adding a photo)."""

    def __init__(self, port, audit_id, items):
        self.audit_id, self.items, self.stop = audit_id, items, threading.Event()
        # (item, revision or None, when the 200 arrived, when the request was sent)
        self.answers, self.photos, self.errors = [], [], []
        self.clients = [AnsweringClient(port) for _ in range(CLIENTS)]
        for client in self.clients:
            client.log_in("lead@example.com")
        self.threads = [threading.Thread(target=self._work, args=(k,)) for k in range(CLIENTS)]

    def _work(self, k):
        client, own, revisions, step = self.clients[k], self.items[k::CLIENTS], {}, 0
        try:
            while not self.stop.is_set():
                item = own[step % len(own)]
                base = revisions.get(item, 0)
                sent = time.monotonic()
                status = client.answer(self.audit_id, item, "conform" if base % 2 == 0 else "observation", base)
                if status == 200:
                    revisions[item] = base + 1
                    self.answers.append((item, base + 1, time.monotonic(), sent))
                if step % 6 == 5 and client.upload(self.audit_id, own[0], jpeg(160, 120, (k, step % 256, 7))) == 200:
                    self.photos.append((own[0], None, time.monotonic(), sent))
                step += 1
        except Exception as exc:  # reported by the test
            self.errors.append(exc)
        finally:
            client.close()

    def wait_for(self, answers, photos=0):
        deadline = time.monotonic() + 120
        while not self.errors and time.monotonic() < deadline:
            if len(self.answers) >= answers and len(self.photos) >= photos:
                return
            time.sleep(0.05)
        raise AssertionError(f"{len(self.answers)} answers, {len(self.photos)} photos so far; {self.errors}")

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)


def test_a_backup_taken_while_eight_clients_answer_restores_every_acknowledged_answer_and_photo(
    app, shipped_checklists, make_user, tmp_path
):
    needs_postgresql_tools()
    audit_id, items = _busy_audit(shipped_checklists, make_user)
    archive = tmp_path / "busy.tar.gz"
    with LiveServer(app) as server, Answering(server.port, audit_id, items) as answering:
        answering.wait_for(5 * CLIENTS, photos=CLIENTS)
        began = time.monotonic()
        created = invoke(app, "backup", "create", str(archive))
        ended = time.monotonic()
        answering.wait_for(len(answering.answers) + CLIENTS)  # they went on answering after it, too
    assert answering.errors == []
    assert created.exit_code == 0, created.output
    # Saves in flight while the backup ran (sent before it ended, answered after it began): the clients
    # never paused for it, however quick it was.
    during = [a for a in answering.answers if a[3] < ended and a[2] > began]
    assert during, "no answer was in flight while the backup ran"
    acknowledged = {}
    for item, revision, when, _sent in answering.answers:
        if when < began:
            acknowledged[item] = max(acknowledged.get(item, 0), revision)
    photos_before = {}
    for item, _none, when, _sent in answering.photos:
        if when < began:
            photos_before[item] = photos_before.get(item, 0) + 1
    with empty_database(tmp_path) as url, instance_app(tmp_path / "restored", url) as target:
        restored = invoke(target, "backup", "restore", str(archive))
        assert restored.exit_code == 0, restored.output
        verified = invoke(target, "events", "verify", "--records")
        assert verified.exit_code == 0, verified.output
        assert photo_problems(target) == []
        with target.app_context():
            revisions = dict(db.session.execute(select(Response.item_id, Response.revision)).all())
            photos = db.session.execute(select(Photo.item_id, db.func.count()).group_by(Photo.item_id)).all()
            db.session.remove()
            db.engine.dispose()
    missing = [(item, rev) for item, rev in acknowledged.items() if revisions.get(item, 0) < rev]
    assert missing == []
    assert all(dict(photos).get(item, 0) >= count for item, count in photos_before.items())
    print(
        f"\n{sum(1 for a in answering.answers if a[2] < began)} answers and "
        f"{sum(photos_before.values())} photos acknowledged before the backup began, all restored; "
        f"{len(during)} answers in flight while it ran; {len(answering.answers)} answers in all"
    )


def test_pg_dump_gets_the_password_in_its_environment_never_in_its_arguments():
    dsn, env = libpq(make_url("postgresql+psycopg://auditapp:s3cret%40x@db.example:5433/audits?sslmode=require"))
    assert dsn == "postgresql://auditapp@db.example:5433/audits?sslmode=require"
    assert env["PGPASSWORD"] == "s3cret@x"
