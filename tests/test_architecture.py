"""The package structure holds what it promises: imports point down, shared pieces import no domain.

Read from the source with `ast`, so the test sees what a reviewer reading the imports sees.
Imports inside `if TYPE_CHECKING:` are left out: they are never executed, and they only name the
class of an argument or a relationship that a domain above passes down (for example a Finding's
audit). Everything else counts, function-level imports included.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "auditapp"
# The layers of auditapp/core/__init__.py, bottom to top. A package may import those before it.
LAYERS = [
    "core",
    "web",
    "events",
    "accounts",
    "scope",
    "checklists",
    "auditors",
    "findings",
    "photos",
    "audits",
    "capa",
    "improvements",
    "gaps",
    "programme",
    "review",
    "reports",
    "outbox",
    "pwa",
    "ops",
]
# Modules of the package root: leaves everyone may import, and the top that wires everything.
LEAVES = {"extensions", "config"}
TOP = {"(factory)", "models", "demo"}
SHARED = {"core", "web"}


def _package_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "(factory)"
    return parts[1]


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every auditapp import of a file."""
    module, is_package = _module_name(path)
    tree = ast.parse(path.read_text(), filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            targets = [f"{target}.{a.name}" for a in node.names] if node.module is None else [target]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        if _type_checking_only(node, parents):
            continue
        in_function = False
        up = parents.get(node)
        while up is not None:
            if isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef)):
                in_function = True
                break
            up = parents.get(up)
        found += [(t, node.lineno, in_function) for t in targets if t.split(".")[0] == "auditapp"]
    return found


def _source_files() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts]


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in _source_files():
        source = _package_of(_module_name(path)[0])
        for target, _line, _in_function in _imports(path):
            dest = _package_of(target)
            if dest != source:
                graph[source].add(dest)
    return graph


def test_every_package_has_a_layer():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists() and p.name != "migrations"}
    assert packages == set(LAYERS)


@pytest.mark.parametrize("package", LAYERS)
def test_imports_point_down(package):
    """A package imports only the layers below it (and the leaves), so no cycle can form."""
    below = set(LAYERS[: LAYERS.index(package)]) | LEAVES
    upward = sorted(package_graph()[package] - below)
    assert upward == [], f"{package} imports {upward}, which sit above it (see core/__init__.py)"


def test_shared_pieces_import_no_domain():
    graph = package_graph()
    for shared in SHARED:
        assert graph[shared] - SHARED - LEAVES == set(), f"{shared} imports a domain"


def test_there_is_no_cycle_between_packages():
    graph = package_graph()
    visiting, done, cycles = set(), set(), []

    def visit(node, path):
        if node in visiting:
            cycles.append(path[path.index(node) :] + [node])
            return
        if node in done:
            return
        visiting.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in TOP:
                visit(nxt, path + [node])
        visiting.discard(node)
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    assert cycles == []


def test_only_the_factory_imports_inside_functions():
    """Function-level imports dodge cycles; only create_app's steps (which load every domain) may."""
    inside = sorted(
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}"
        for path in _source_files()
        if path != PACKAGE / "__init__.py"
        for target, line, in_function in _imports(path)
        if in_function
    )
    assert inside == []


def test_the_import_reader_sees_real_imports():
    """The reader is not blind: a known import of outbox (from audits) shows up as an edge of the graph."""
    tree_imports = _imports(PACKAGE / "outbox" / "replay.py")
    assert any(t.startswith("auditapp.audits") for t, _line, _f in tree_imports)
    assert "audits" in package_graph()["outbox"]


# Who commits (core/__init__.py): views, CLI commands, the demo, the change decorator; and the
# loops that apply batches of independent changes, one commit per unit.
COMMITTERS = {"views.py", "item_views.py", "authoring_views.py", "cli.py", "demo.py"}
BATCH_LOOPS = {
    ("core/changes.py", "applies_change"),
    ("core/changes.py", "wrapped"),
    ("web/forms.py", "submit"),
    ("checklists/services.py", "sync_directory"),
    ("outbox/services.py", "import_outbox"),
    ("capa/reminders.py", "send_reminders"),
}


def test_services_never_commit():
    found = []
    for path in _source_files():
        if path.name in COMMITTERS:
            continue
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit":
                    where = (str(path.relative_to(PACKAGE)), function.name)
                    if where not in BATCH_LOOPS:
                        found.append(f"{where[0]}:{node.lineno} in {where[1]}()")
    assert found == []
