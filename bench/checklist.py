"""Checklists at the size real teams write them: validating and importing a 1,000-item checklist from
YAML and from XLSX, and the audit screen of a 120-item checklist, each as a ratio to the shipped 94-item
ISO 9001 checklist measured in the same run (so the ratios survive a noisy machine).

  - validate: the YAML validator alone (`loader.validate_text`: parse, schema, cross-checks, standards);
    from XLSX, reading the workbook into that YAML and validating it (`spreadsheet.read_checklist_upload`);
  - import: validation plus a new version written to the database (`services.import_checklist`,
    committed), the path the folder sync, the browser editor and the spreadsheet import share;
  - audit screen: bytes of HTML and server time of GET /audits/<id> for an audit of each checklist;
  - yardstick: one plain ruamel.yaml round-trip load of the 94-item file, the unit the validator's cost
    is also given in (the loader once parsed each text twice; issue 15), so runs on different commits
    compare on a shared, noisy machine.

The 1,000-item file is generated: ten sections of 100 items on real ISO 9001 clauses, each with
guidance and evidence, so it is as heavy per item as the shipped one; its XLSX is the app's own export
of it. The 120-item checklist is an inspection walk made the same way whose items are answered by
yes/no, numbers with limits and choices (answer types), scored (issue 15: points per result, a choice's
points per option, item and section weights); the same walk without scoring is measured too, so the
score's own cost shows. An answer's response (the item, progress and, scored, the section and total
scores out of band) is timed on each audit as well.

Runs in-process with Flask's test client on a temporary SQLite database. Times are this process's CPU
time (time.process_time), not wall time: on a shared machine the wall clock mostly measures the wait for
a core (everything here runs in this one thread; SQLite's writes are its own CPU too).

    .venv/bin/python bench/checklist.py [--repeat 5]
"""

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
from ruamel.yaml import YAML  # noqa: E402

from auditapp import create_app  # noqa: E402
from auditapp.accounts import services as accounts  # noqa: E402
from auditapp.audits import services as audits  # noqa: E402
from auditapp.checklists import services as checklists  # noqa: E402
from auditapp.checklists import spreadsheet  # noqa: E402
from auditapp.checklists.loader import LoadedChecklist, validate_text  # noqa: E402
from auditapp.checklists.standards import by_name  # noqa: E402
from auditapp.extensions import db  # noqa: E402

PASSWORD = "bench password 123"
REFERENCE = ROOT / "checklists" / "iso9001-2015.yaml"


ANSWERS = [
    "",
    '        answer: {type: yes_no, "no": minor_nc}',
    "        answer: {type: number, unit: Nm, min: 40, max: 45}",
    "        answer: {type: choice, options: [{value: clean, result: conform}, {value: dirty, result: minor_nc}]}",
]
SCORED_CHOICE = (
    "        answer: {type: choice, options: [{value: clean, result: conform, points: 3},"
    " {value: dirty, result: minor_nc, points: 1}]}"
)


def generated(key: str, sections: int, per_section: int, typed: bool = False, scored: bool = False) -> str:
    """A checklist of sections x per_section items on ISO 9001 clauses, as an author would write it
    (scored: points per result, every third section weighing 2, every fifth item 3, choices with points)."""
    standard = by_name("ISO 9001:2015")
    assert standard is not None
    clauses = [c.code for c in standard.units]
    lines = [
        f"id: {key}",
        f"title: Generated checklist {key}",
        "version: 1",
        "standards: [ISO 9001:2015]",
    ]
    if scored:
        lines.append("scoring: {points: {conform: 2, observation: 1, ofi: 2, minor_nc: 1, major_nc: 0}}")
    lines.append("sections:")
    n = 0
    for s in range(sections):
        lines.append(f"  - title: Section {s + 1}")
        if scored and s % 3 == 2:
            lines.append("    weight: 2")
        lines.append("    items:")
        for _ in range(per_section):
            clause = clauses[n % len(clauses)]
            lines += [
                f"      - id: item-{n:04d}",
                f'        clause: "{clause}"',
                f"        question: Is requirement {n} of clause {clause} met on the floor, with records to show it?",
                "        guidance: Ask for the record of the last three occasions and compare them with what you"
                " see at the station; note the record numbers.",
                "        evidence: [work instruction, last three records, operator interview]",
                "        photo: required_on_nc",
            ]
            answer = ANSWERS[n % len(ANSWERS)]
            if scored and "type: choice" in answer:
                answer = SCORED_CHOICE
            if typed and answer:
                lines.append(answer)
            if scored and n % 5 == 4:
                lines.append("        weight: 3")
            n += 1
    return "\n".join(lines) + "\n"


def validated(text: str, shown_as: str) -> LoadedChecklist:
    loaded = LoadedChecklist(path=Path(shown_as), display_path=shown_as, source_text=text)
    validate_text(text, loaded)
    assert loaded.ok, [str(p) for p in loaded.problems[:3]]
    return loaded


def timed_ms(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def median_ms(action: Callable[[int], object], repeat: int) -> float:
    times = []
    for n in range(repeat):
        start = time.process_time()
        action(n)
        times.append((time.process_time() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    reference_text = REFERENCE.read_text()
    big_text = generated("bench-big", 10, 100)
    walk_text = generated("bench-walk", 6, 20, typed=True, scored=True)
    unscored_walk_text = generated("bench-walk-unscored", 6, 20, typed=True)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3",
                "SECRET_KEY": "bench",
                "INSTANCE_PATH": tmp,
                "WTF_CSRF_ENABLED": False,
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            }
        )
        rows = []
        with app.app_context():
            flask_migrate.upgrade()
            lead = accounts.create_user(None, "lead@example.com", "Lead", "quality_lead", PASSWORD)
            db.session.commit()

            def importer(text: str, key: str) -> Callable[[int], object]:
                def run(n: int) -> object:
                    # A new checklist each time: an unchanged one would be recognised and skipped.
                    loaded = validated(text.replace(f"id: {key}\n", f"id: {key}-{n}\n", 1), f"{key}-{n}.yaml")
                    outcome, _version, problems = checklists.import_checklist(loaded, lead)
                    assert outcome == "imported" and not problems, (outcome, problems)
                    db.session.commit()
                    return outcome

                return run

            yardstick = median_ms(lambda n: YAML(typ="rt").load(reference_text), args.repeat)
            for name, text, key in (
                ("1,000-item YAML", big_text, "bench-big"),
                ("94-item ISO 9001 (reference)", reference_text, "iso9001-2015"),
            ):
                rows.append(("validate " + name, median_ms(lambda n, t=text: validated(t, "x.yaml"), args.repeat)))
                rows.append(("validate + import " + name, median_ms(importer(text, key), args.repeat)))
                data = validated(text, "x.yaml").data
                assert data is not None
                books = [spreadsheet.checklist_workbook({**data, "id": f"{key}-x{n}"}) for n in range(args.repeat)]
                xlsx_name = name.replace("YAML", "XLSX") if "YAML" in name else name + " from XLSX"

                def from_xlsx(n: int, books=books) -> object:
                    result = spreadsheet.read_checklist_upload(books[n], "x.xlsx")
                    assert not result.problems, [str(p) for p in result.problems[:3]]
                    return result

                def xlsx_import(n: int, books=books) -> object:
                    version, problems = checklists.publish_text(from_xlsx(n).yaml_text, lead, "bench.xlsx")
                    assert version is not None and not problems, problems
                    db.session.commit()
                    return version

                rows.append(("validate " + xlsx_name, median_ms(from_xlsx, args.repeat)))
                rows.append(("validate + import " + xlsx_name, median_ms(xlsx_import, args.repeat)))

            planned = {}
            walks = (
                ("120-item walk", walk_text),
                ("120-item walk, no scoring", unscored_walk_text),
                ("94-item ISO 9001", reference_text),
            )
            graded: dict[str, list[int]] = {}
            for name, text in walks:
                loaded = validated(text, f"{name}.yaml")
                _outcome, version, _problems = checklists.import_checklist(loaded, lead)
                db.session.commit()
                assert version is not None
                audit = audits.plan_audit(
                    lead,
                    checklist_id=version.checklist_id,
                    title=name,
                    planned_date=date.today(),
                    lead_auditor_id=lead.id,
                    team_ids=[],
                    area_id=None,
                )
                db.session.commit()
                planned[name] = audit.id
                graded[name] = [i.id for i in version.items if i.answer is None]  # answered by one tap

        client = app.test_client()
        client.post("/login", data={"email": "lead@example.com", "password": PASSWORD})
        # The three audits are measured in turns (one request each per round), so a load that comes and goes
        # on a shared machine falls on all of them alike and the ratios hold.
        sizes, page_ms, answer_ms = {}, defaultdict(list), defaultdict(list)
        for name, audit_id in planned.items():
            page = client.get(f"/audits/{audit_id}")
            assert page.status_code == 200, page.status_code
            sizes[name] = len(page.data)
        for n in range(args.repeat):
            for name, audit_id in planned.items():
                url = f"/audits/{audit_id}"
                page_ms[name].append(timed_ms(lambda u=url: client.get(u)))
                done: list = []
                answer_ms[name].append(
                    timed_ms(
                        lambda u=url, item=graded[name][n], n=n, done=done: done.append(
                            client.post(
                                f"{u}/items/{item}/answer",
                                data={"result": "minor_nc" if n % 2 else "conform", "base_revision": 0},
                                headers={"HX-Request": "true"},
                            )
                        )
                    )
                )
                assert done[0].status_code == 200, done[0].status_code
        pages = {name: (sizes[name], statistics.median(page_ms[name])) for name in planned}
        answers = {name: statistics.median(answer_ms[name]) for name in planned}

    print(f"auditapp checklist benchmark: in-process, SQLite; CPU time, medians of {args.repeat}")
    print(f"{'measure':<52}{'value':>12}{'reference':>12}{'ratio':>9}")
    ref = dict(rows)
    for name, ms in rows:
        if "reference" in name:
            continue
        step = "validate + import" if "import" in name else "validate"
        base = ref[f"{step} 94-item ISO 9001 (reference)"]  # from YAML, as today
        print(f"{name:<52}{ms:>9.0f} ms{base:>9.0f} ms{ms / base:>8.2f}x  (10.6x the items)")
    iso_ms = ref["validate 94-item ISO 9001 (reference)"]
    print(
        f"{'validate 94-item ISO 9001, in round-trip loads':<52}{iso_ms:>9.0f} ms{yardstick:>9.0f} ms"
        f"{iso_ms / yardstick:>8.2f}x  (reference: one ruamel.yaml round-trip load of the file)"
    )
    iso_bytes, iso_ms = pages["94-item ISO 9001"]
    for name in ("120-item walk", "120-item walk, no scoring"):
        walk_bytes, walk_ms = pages[name]
        label = "scored walk" if name == "120-item walk" else "walk, no scoring"
        print(
            f"{'audit screen HTML, 120-item ' + label + ' (ref: ISO)':<52}{walk_bytes:>12,}{iso_bytes:>12,}"
            f"{walk_bytes / iso_bytes:>8.2f}x  ({walk_bytes / 120:,.0f} vs {iso_bytes / 94:,.0f} B per item)"
        )
        print(
            f"{'audit screen server time, 120-item ' + label:<52}{walk_ms:>9.1f} ms{iso_ms:>9.1f} ms"
            f"{walk_ms / iso_ms:>8.2f}x"
        )
        ref_answer = answers["94-item ISO 9001"]
        print(
            f"{'answer response server time, 120-item ' + label:<52}{answers[name]:>9.1f} ms{ref_answer:>9.1f} ms"
            f"{answers[name] / ref_answer:>8.2f}x"
        )


if __name__ == "__main__":
    main()
