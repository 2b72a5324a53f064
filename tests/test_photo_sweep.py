"""`flask photos sweep`: files a crash left without a photo row, listed by default, removed with --delete."""

import os
import time
from io import BytesIO
from pathlib import Path

import pytest

from auditapp.extensions import db
from auditapp.photos.cli import _still_unused
from auditapp.photos.models import Photo
from auditapp.photos.pipeline import process_photo
from auditapp.photos.storage import FolderStore, photo_file, store_photo

from .support.photos import jpeg, start, upload

TWO_HOURS_AGO = time.time() - 2 * 3600


def _age(*paths: Path) -> None:
    for path in paths:
        os.utime(path, (TWO_HOURS_AGO, TWO_HOURS_AGO))


def _both(photo_dir: Path, sha256: str) -> list[Path]:
    return [photo_file(photo_dir, sha256), photo_file(photo_dir, sha256, thumbnail=True)]


def test_sweep_lists_then_removes_only_old_files_no_photo_row_refers_to(app, client, plan, make_user):
    photo_dir = Path(app.config["PHOTO_DIR"])
    audit, item = start(client, plan, make_user)
    assert upload(client, audit, item, ("kept.jpg", jpeg())).status_code == 200
    kept = _both(photo_dir, db.session.scalar(db.select(Photo.sha256)))
    old, young = (process_photo(BytesIO(jpeg(color=color))) for color in ((1, 2, 3), (4, 5, 6)))
    store_photo(photo_dir, old)
    store_photo(photo_dir, young)
    old_files = _both(photo_dir, old.sha256)
    crashed_write = photo_dir / old.sha256[:2] / f".{old.sha256}.jpg.abc123.tmp"
    crashed_write.write_bytes(b"half a photo")
    unrelated = photo_dir / "README.txt"
    unrelated.write_text("not ours")
    _age(*kept, *old_files, crashed_write, unrelated)  # the referenced files are old too: the row keeps them

    runner = app.test_cli_runner()
    dry = runner.invoke(args=["photos", "sweep"])
    assert dry.exit_code == 0, dry.output
    listed = [line for line in dry.output.splitlines() if line.startswith("would remove ")]
    assert sorted(line.split()[2] for line in listed) == sorted(
        str(p.relative_to(photo_dir)) for p in (*old_files, crashed_write)
    )
    assert all(line.endswith(" KB)") for line in listed)
    assert "Would remove 3 files" in dry.output and "dry run" in dry.output
    assert all(p.exists() for p in (*kept, *old_files, crashed_write))

    removed = runner.invoke(args=["photos", "sweep", "--delete"])
    assert removed.exit_code == 0, removed.output
    assert "Removed 3 files" in removed.output
    assert not any(p.exists() for p in (*old_files, crashed_write))
    assert all(p.exists() for p in (*kept, *_both(photo_dir, young.sha256), unrelated))

    assert "Removed 2 files" in runner.invoke(args=["photos", "sweep", "--delete", "--min-age", "0"]).output
    assert not any(p.exists() for p in _both(photo_dir, young.sha256))
    assert all(p.exists() for p in kept)


def test_a_file_used_again_by_a_new_upload_counts_as_young(app):
    photo_dir = Path(app.config["PHOTO_DIR"])
    again = process_photo(BytesIO(jpeg()))
    store_photo(photo_dir, again)
    _age(*_both(photo_dir, again.sha256))
    store_photo(photo_dir, again)  # a new upload of the same photo, its row not yet committed
    output = app.test_cli_runner().invoke(args=["photos", "sweep", "--delete"]).output
    assert "Removed 0 files" in output
    assert all(p.exists() for p in _both(photo_dir, again.sha256))


def test_folder_store_round_trip_and_refuses_foreign_names(tmp_path):
    store = FolderStore(tmp_path / "photos")
    photo = process_photo(BytesIO(jpeg(64, 48)), max_edge=2048)
    assert store.save(photo) is True and store.save(photo) is False
    assert store.read(photo.sha256) == photo.data
    assert store.read(photo.sha256, thumbnail=True) == photo.thumbnail
    assert store.read("0" * 64) is None
    listed = {(f.sha256, f.thumbnail, f.temporary) for f in store.files()}
    assert listed == {(photo.sha256, False, False), (photo.sha256, True, False)}
    for name in ("../secret_key", f"{photo.sha256[:2]}/../../secret_key", "README.txt"):
        with pytest.raises(ValueError):
            store.remove(name)
    store.delete(photo.sha256)
    assert list(store.files()) == []
    store.write(photo.sha256, photo.data)  # a restore puts bytes back as they were
    assert store.read(photo.sha256) == photo.data


def test_folder_store_check_fails_when_the_folder_cannot_be_written(tmp_path):
    FolderStore(tmp_path / "photos").check()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the photo folder should be")
    with pytest.raises(OSError):
        FolderStore(blocker).check()


def test_sweep_asks_again_before_removing_what_its_listing_called_unused(app, client, plan, make_user):
    """A listing can be minutes old on a large bucket: a row committed since then keeps the file."""
    photo_dir = Path(app.config["PHOTO_DIR"])
    content = jpeg(color=(10, 200, 10))
    orphan = process_photo(BytesIO(content))
    store_photo(photo_dir, orphan)
    _age(*_both(photo_dir, orphan.sha256))
    store = FolderStore(photo_dir)
    listed = [f for f in store.files() if f.sha256 == orphan.sha256 and not f.thumbnail][0]
    cutoff = time.time() - 3600
    assert _still_unused(store, listed, cutoff)
    audit, item = start(client, plan, make_user)
    assert upload(client, audit, item, ("same.jpg", content)).status_code == 200  # its row is committed now
    _age(*_both(photo_dir, orphan.sha256))  # even with the file's time set back, the row keeps it
    assert not _still_unused(store, listed, cutoff)
