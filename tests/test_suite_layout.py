"""The test suite's own layout: helpers shared between test modules live in tests/support/, fixtures
reach test modules through conftest.py, so no module imports from a test module or from conftest."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _package_of(path: Path) -> list[str]:
    """The dotted package a file under tests/ belongs to, e.g. ["tests", "support"]."""
    return [TESTS.name, *path.relative_to(TESTS).parent.parts]


def _imported_modules(node: ast.AST, package: list[str]) -> list[list[str]]:
    """Every module an import statement may load, as dotted parts (absolute, or resolved from relative)."""
    if isinstance(node, ast.Import):
        return [alias.name.split(".") for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = package[: len(package) - (node.level - 1)] if node.level > 1 else list(package)
    else:
        base = []
    module = base + (node.module.split(".") if node.module else [])
    # `from . import conftest` names a module; `from .x import y` may too (y a submodule of x).
    return [module] + [module + [alias.name] for alias in node.names]


def _is_test_module_or_conftest(parts: list[str]) -> bool:
    if parts and parts[0] == TESTS.name:
        parts = parts[1:]
    elif not parts or not (parts[0] == "conftest" or parts[0].startswith("test_")):
        return False  # some other package (auditapp, pytest, ...)
    return any(part == "conftest" or part.startswith("test_") for part in parts)


def test_no_module_imports_from_a_test_module_or_from_conftest():
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        package = _package_of(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            for parts in _imported_modules(node, package):
                if _is_test_module_or_conftest(parts):
                    offenders.append(f"{path.relative_to(TESTS.parent)}:{node.lineno} imports {'.'.join(parts)}")
                    break
    assert offenders == [], "share helpers through tests/support/ and fixtures through conftest.py:\n" + "\n".join(
        offenders
    )
