"""Every way checklist YAML comes in is refused the same way when it nests deeper than a checklist can
(before the YAML parser sees it) or names a version the database cannot store (issue 15)."""

from pathlib import Path

import pytest

from auditapp.checklists import loader, services
from auditapp.checklists.loader import load_checklist_file
from auditapp.checklists.models import ChecklistVersion
from auditapp.extensions import db

from .support.checklists import VALID

DEEP = [
    ("[" * 5000, ":1: [ and { are nested more than 16 deep; a checklist needs a few levels"),
    ("- " * 800, ":1: is indented more than 120 columns"),
    (VALID + "    extra:\n" + "".join(" " * (4 + 2 * n) + f"k{n}:\n" for n in range(1, 70)), "is indented more than"),
]


def write(folder: Path, text: str, name="floor.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def unparsed(monkeypatch):
    """The YAML parser fails the test if it is reached."""

    def parsed(*args, **kwargs):
        raise AssertionError("the YAML parser was reached")

    monkeypatch.setattr(loader, "_scan_events", parsed)


@pytest.mark.parametrize(("text", "said"), DEEP)
def test_a_folder_file_nested_too_deeply_is_refused_before_it_is_parsed(runner, app, unparsed, text, said):
    folder = Path(app.config["CHECKLIST_DIR"])
    write(folder, text)
    check = runner.invoke(args=["checklists", "check"])
    assert check.exit_code == 1 and said in check.output and "0 valid, 1 invalid" in check.output
    sync = runner.invoke(args=["checklists", "sync"])
    assert sync.exit_code == 1 and said in sync.output and "skipped checklists/floor.yaml" in sync.output
    assert db.session.scalar(db.select(db.func.count(ChecklistVersion.id))) == 0
    [status] = services.folder_status(folder)  # the library page's view of the folder
    assert status.state == "invalid" and said in str(status.loaded.problems[0])


@pytest.mark.parametrize(("text", "said"), DEEP[:2])
def test_the_browser_and_a_file_say_the_same(app, unparsed, tmp_path, text, said):
    from_file = load_checklist_file(write(tmp_path, text), shown_as="floor.yaml").problems
    assert [str(p) for p in from_file] == [str(p) for p in services.check_text(text, "floor.yaml").problems]
    assert said in str(from_file[0])


def test_what_the_guard_cannot_see_is_still_a_problem_not_a_crash(monkeypatch, tmp_path):
    monkeypatch.setattr(loader, "nesting_problem", lambda text: None)
    [problem] = load_checklist_file(write(tmp_path, "- " * 800), shown_as="floor.yaml").problems
    assert str(problem) == "floor.yaml: is nested too deeply to read; a checklist needs a few levels"


@pytest.mark.parametrize("number", [2**31, 10**20])  # past PostgreSQL's integer; past SQLite's too
def test_a_version_the_database_cannot_store_is_a_problem_in_the_file(runner, app, number):
    folder = Path(app.config["CHECKLIST_DIR"])
    write(folder, VALID.replace("version: 1", f"version: {number}"))
    said = "floor.yaml:3: checklist version: must be at most 2,147,483,647"
    check = runner.invoke(args=["checklists", "check"])
    assert check.exit_code == 1 and said in check.output
    sync = runner.invoke(args=["checklists", "sync"])
    assert sync.exit_code == 1 and said in sync.output and "not imported" not in sync.output
    assert db.session.scalar(db.select(db.func.count(ChecklistVersion.id))) == 0
    write(folder, VALID.replace("version: 1", f"version: {2**31 - 1}"))
    stored = runner.invoke(args=["checklists", "sync"], catch_exceptions=False)
    assert stored.exit_code == 0, stored.output
    assert db.session.scalar(db.select(ChecklistVersion.number)) == 2**31 - 1
