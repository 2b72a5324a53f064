"""Importing checklists as versions (flask checklists check|sync) and the library pages."""

from pathlib import Path

from auditapp.checklists import services
from auditapp.checklists.models import Checklist, ChecklistItem, ChecklistVersion
from auditapp.events.models import Event
from auditapp.extensions import db

from .support.checklists import VALID


def write(folder: Path, text: str, name="floor.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def versions(key="floor"):
    return db.session.scalars(
        db.select(ChecklistVersion).join(Checklist).where(Checklist.key == key).order_by(ChecklistVersion.number)
    ).all()


def test_check_command_passes_shipped_checklists(runner, shipped_checklists):
    result = runner.invoke(args=["checklists", "check"])
    assert result.exit_code == 0, result.output
    assert "iso9001-2015.yaml: ok, version 1" in result.output
    assert (
        "7 valid, 0 invalid" in result.output
    )  # ISO 9001, 14001, 45001, the floor walk, the 5S walk, the supplier audit, the layered process audit


def test_check_command_prints_every_error_and_exits_1(runner, tmp_path):
    bad = write(
        tmp_path,
        VALID.replace("majr", "")
        .replace("major_nc, observation", "majr_nc, observation")
        .replace("guidance: Sample", "guidnce: Sample"),
    )
    good = write(tmp_path, VALID.replace("id: floor", "id: good"), "good.yaml")
    result = runner.invoke(args=["checklists", "check", str(bad), str(good)])
    assert result.exit_code == 1
    item = 'section 1 "Production and service provis…", item 1 "8.5.2-traceability"'
    assert f':16: {item} results entry 3: "majr_nc" is not a result; did you mean "major_nc"?' in result.output
    assert f":13: {item} guidnce: unknown field" in result.output
    assert "1 valid, 1 invalid" in result.output


def test_check_command_with_empty_folder_fails_clearly(runner, tmp_path):
    (tmp_path / "empty").mkdir()
    result = runner.invoke(args=["checklists", "check", str(tmp_path / "empty")])
    assert result.exit_code == 1 and "no checklist files" in result.output


def test_sync_imports_and_an_unchanged_file_adds_nothing(runner, shipped_checklists):
    result = runner.invoke(args=["checklists", "sync"])
    assert result.exit_code == 0, result.output
    assert (
        "imported iso9001-2015 version 1 (94 items)" in result.output
        or "imported iso9001-2015 version 1" in result.output
    )
    counts = (
        db.session.scalar(db.select(db.func.count(ChecklistVersion.id))),
        db.session.scalar(db.select(db.func.count(ChecklistItem.id))),
    )
    again = runner.invoke(args=["checklists", "sync"])
    assert "unchanged iso9001-2015 version 1" in again.output
    assert (
        db.session.scalar(db.select(db.func.count(ChecklistVersion.id))),
        db.session.scalar(db.select(db.func.count(ChecklistItem.id))),
    ) == counts
    assert counts[0] == 7 and counts[1] >= 90  # the seven shipped checklists


def test_changed_file_becomes_a_new_version_and_the_old_one_stays(app):
    folder = Path(app.config["CHECKLIST_DIR"])
    write(folder, VALID)
    services.sync_directory(folder)
    first_hash = versions()[0].content_hash
    write(folder, VALID.replace("version: 1", "version: 2").replace("Sample three parts.", "Sample five parts."))
    report = services.sync_directory(folder)
    assert [v.number for v in report.imported] == [2]
    v1, v2 = versions()
    assert v1.content_hash == first_hash and v2.content_hash != first_hash
    assert v1.items[0].guidance == "Sample three parts." and v2.items[0].guidance == "Sample five parts."
    assert "version: 2" in v2.source_text
    event = db.session.scalar(db.select(Event).filter_by(entity_type="checklist_version", entity_id=str(v2.id)))
    assert event.action == "imported" and event.changes["version"] == 2


def test_changed_content_without_a_new_version_number_is_refused(app):
    folder = Path(app.config["CHECKLIST_DIR"])
    write(folder, VALID)
    services.sync_directory(folder)
    write(folder, VALID.replace("Sample three parts.", "Sample five parts."))
    report = services.sync_directory(folder)
    assert [str(p) for p in report.problems] == [
        f"{report.problems[0].path}:3: checklist version: the content changed since version 1 was imported; raise version to 2"
    ]
    assert len(versions()) == 1


def test_invalid_file_is_skipped_while_valid_files_import(app):
    folder = Path(app.config["CHECKLIST_DIR"])
    write(folder, VALID.replace("majr", "").replace("major_nc", "majr_nc"))
    write(folder, VALID.replace("id: floor", "id: good"), "good.yaml")
    report = services.sync_directory(folder)
    assert [v.checklist.key for v in report.imported] == ["good"]
    assert len(report.skipped_files) == 1 and report.skipped_files[0].endswith("floor.yaml")
    assert versions("floor") == []


def test_a_failing_import_leaves_nothing_half_stored(app, monkeypatch):
    folder = Path(app.config["CHECKLIST_DIR"])
    write(folder, VALID)
    real_record = services.events.record

    def fail_after_items(*args, **kwargs):
        db.session.flush()  # items are written by now
        raise_integrity()

    def raise_integrity():
        from sqlalchemy.exc import IntegrityError

        raise IntegrityError("INSERT", {}, Exception("disk full"))

    monkeypatch.setattr(services.events, "record", fail_after_items)
    report = services.sync_directory(folder)
    assert report.imported == [] and report.skipped_files
    monkeypatch.setattr(services.events, "record", real_record)
    assert db.session.scalar(db.select(db.func.count(ChecklistItem.id))) == 0
    assert db.session.scalar(db.select(db.func.count(ChecklistVersion.id))) == 0


def test_sync_command_exits_1_when_a_file_was_skipped(runner, app):
    write(Path(app.config["CHECKLIST_DIR"]), "id: [broken\n")
    result = runner.invoke(args=["checklists", "sync"])
    assert result.exit_code == 1
    assert "not valid YAML" in result.output and "skipped" in result.output


# --- pages -------------------------------------------------------------------------------------


def test_library_page_lists_checklists_and_invalid_files(app, client, login):
    folder = Path(app.config["CHECKLIST_DIR"])
    write(folder, VALID)
    services.sync_directory(folder)
    write(
        folder, VALID.replace("id: floor", "id: broken").replace("guidance: Sample", "guidnce: Sample"), "broken.yaml"
    )
    write(folder, VALID.replace("id: floor", "id: fresh"), "fresh.yaml")
    login()
    html = client.get("/checklists/").get_data(as_text=True)
    assert "Floor walk" in html and "<dd>2</dd>" in html  # 2 items
    assert "item 1 &#34;8.5.2-traceability&#34; guidnce: unknown field" in html
    assert "not imported yet" in html
    assert "Import changed files" not in html  # auditors cannot import


def test_library_empty_state(client, login):
    login()
    html = client.get("/checklists/").get_data(as_text=True)
    assert "No checklists imported yet" in html and "has no <code>.yaml</code> files" in html


def test_quality_lead_imports_from_the_page(app, client, login):
    write(Path(app.config["CHECKLIST_DIR"]), VALID)
    login("quality_lead")
    response = client.post("/checklists/sync", follow_redirects=True)
    assert "Imported Floor walk, version 1 (2 items)." in response.get_data(as_text=True)
    assert len(versions()) == 1
    again = client.post("/checklists/sync", follow_redirects=True)
    assert "nothing to import" in again.get_data(as_text=True)


def test_preview_shows_items_as_an_auditor_sees_them(app, client, login):
    write(
        Path(app.config["CHECKLIST_DIR"]),
        VALID.replace("results: [conform, minor_nc, major_nc, observation, ofi, na]", "results: [conform, minor_nc]"),
    )
    services.sync_directory(Path(app.config["CHECKLIST_DIR"]))
    login()
    html = client.get("/checklists/floor/v1").get_data(as_text=True)
    assert "Are outputs traceable to their work order?" in html
    assert "<summary>Guidance and typical evidence</summary>" in html and "routing card" in html
    first_item = html.split('id="item-8.5.2-traceability"')[1].split('<p class="meta')[0]
    assert "Minor NC" in first_item and "Major NC" not in first_item
    assert client.get("/checklists/floor/v9").status_code == 404
    source = client.get("/checklists/floor/v1/source")
    assert source.mimetype == "text/plain" and "id: floor" in source.get_data(as_text=True)


def test_compare_shows_added_removed_renamed_and_reworded(app, client, login):
    folder = Path(app.config["CHECKLIST_DIR"])
    write(folder, VALID)
    services.sync_directory(folder)
    v2 = (
        VALID.replace("version: 1", "version: 2")
        .replace("sections:", 'renamed: {"8.5.2-traceability": "8.5.2-trace"}\nsections:')
        .replace("id: 8.5.2-traceability", "id: 8.5.2-trace")
        .replace("Are outputs traceable to their work order?", "Is every output traceable to its work order?")
        .replace(
            '      - id: 8.5.1-instructions\n        clause: "8.5.1"\n        question: Are work instructions at the point of use?\n',
            '      - id: 8.5.1-gauges\n        clause: "8.5.1"\n        question: Are gauges calibrated?\n',
        )
    )
    write(folder, v2)
    report = services.sync_directory(folder)
    assert report.problems == []
    login()
    html = client.get("/checklists/floor/compare").get_data(as_text=True)
    assert "1 added · 1 removed · 1 renamed · 1 reworded · 0 unchanged" in html
    assert "8.5.1-gauges" in html.split('id="diff-added"')[1].split("</section>")[0]
    assert "8.5.1-instructions" in html.split('id="diff-removed"')[1].split("</section>")[0]
    assert "<del>Are outputs traceable to their work order?</del>" in html
    assert client.get("/checklists/floor/compare?from=1&to=7").status_code == 404


def test_compare_shows_the_rules_of_the_checklist_and_its_sections(app, client, login):
    """Issue 15: finding rules, scoring, a section's weight, condition and repetition are no item's field;
    a new version that changes them says so (they change what an audit records and scores)."""
    folder = Path(app.config["CHECKLIST_DIR"])
    write(folder, VALID)
    services.sync_directory(folder)
    v2 = (
        VALID.replace("version: 1", "version: 2")
        .replace(
            "sections:",
            "findings: {required_for: [major_nc]}\nscoring: {points: {conform: 2, observation: 1, ofi: 2, minor_nc: 1, major_nc: 0}}\nsections:",
        )
        .replace(
            "    title: Production and service provision\n",
            "    title: Production and service provision\n    weight: 2\n    repeat: {label: Cell, max: 4}\n",
        )
    )
    write(folder, v2)
    assert services.sync_directory(folder).problems == []
    login()
    html = client.get("/checklists/floor/compare").get_data(as_text=True)
    assert "0 reworded · 2 unchanged · 4 rules changed" in html
    rules = html.split('id="diff-settings"')[1].split("</section>")[0]
    assert "Findings needed for" in rules and "<ins>major_nc</ins>" in rules
    assert "Scoring" in rules and "conform: 2" in rules
    assert "Section “Production and service provision”: weight" in rules and "<ins>2</ins>" in rules
    assert "Section “Production and service provision”: repeats" in rules and "label: Cell; max: 4" in rules
    same = client.get("/checklists/floor/compare?from=2&to=2")
    assert 'id="diff-settings"' not in same.get_data(as_text=True)


def test_compare_with_one_version_says_so(app, client, login):
    write(Path(app.config["CHECKLIST_DIR"]), VALID)
    services.sync_directory(Path(app.config["CHECKLIST_DIR"]))
    login()
    assert "nothing to compare yet" in client.get("/checklists/floor/compare").get_data(as_text=True)
    assert client.get("/checklists/nope/compare").status_code == 404


def test_compare_follows_renames_across_several_versions(app):
    folder = Path(app.config["CHECKLIST_DIR"])
    write(folder, VALID)
    services.sync_directory(folder)
    write(
        folder,
        VALID.replace("version: 1", "version: 2")
        .replace("id: 8.5.2-traceability", "id: step-a")
        .replace("sections:", 'renamed: {"8.5.2-traceability": "step-a"}\nsections:'),
    )
    services.sync_directory(folder)
    write(
        folder,
        VALID.replace("version: 1", "version: 3")
        .replace("id: 8.5.2-traceability", "id: step-b")
        .replace("sections:", 'renamed: {"step-a": "step-b"}\nsections:'),
    )
    services.sync_directory(folder)
    v1, _, v3 = versions()
    diff = services.compare_versions(v1, v3)
    assert [(o.key, n.key) for o, n in diff.renamed] == [("8.5.2-traceability", "step-b")]
    assert diff.added == [] and diff.removed == [] and diff.reworded == []
