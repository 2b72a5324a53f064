"""The files of deploy/ as the machine reads them: systemd units, the environment file, and the
production paths (/opt/auditapp, its .venv) turned into this checkout's, so their commands can be run."""

import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
ENV_EXAMPLE = DEPLOY / "auditapp.env.example"
VENV_BIN = Path(sys.executable).parent
# One KEY=value a line with nothing a shell or systemd would read differently: no quotes, spaces, $ ; & \ `.
ENV_LINE = re.compile(r"^(?P<key>[A-Z][A-Z0-9_]*)=(?P<value>[^\s\"'$;&\\`]*)$")
COMMENTED_SETTING = re.compile(r"^#\s?(?P<key>AUDITAPP_[A-Z0-9_]+)=")


def read_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """section -> key -> values (ExecStart may repeat), as systemd reads a unit file without drop-ins."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}: {line!r} outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: {line!r} is not key=value"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def units(suffix: str) -> dict[str, dict[str, dict[str, list[str]]]]:
    return {path.name: read_unit(path) for path in sorted(UNITS.glob(f"*.{suffix}"))}


def here(text: str) -> str:
    """A production path or command line with /opt/auditapp turned into this checkout (and its venv)."""
    return text.replace("/opt/auditapp/.venv/bin", str(VENV_BIN)).replace("/opt/auditapp", str(ROOT))


def command_line(exec_start: str) -> list[str]:
    """ExecStart's argv: systemd splits words and quotes as the shell does (none of ours uses $ or %)."""
    assert "$" not in exec_start and "%" not in exec_start, exec_start
    return [here(word) for word in shlex.split(exec_start)]


def env_example() -> dict[str, str]:
    """The active settings of deploy/auditapp.env.example."""
    found = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            match = ENV_LINE.match(line)
            assert match, f"auditapp.env.example: {line!r} is not one plain KEY=value"
            found[match["key"]] = match["value"]
    return found


def env_example_mentions() -> set[str]:
    """Every AUDITAPP_* setting the example names, set or shown commented out with its default."""
    commented = {m["key"] for line in ENV_EXAMPLE.read_text().splitlines() if (m := COMMENTED_SETTING.match(line))}
    return commented | {key for key in env_example() if key.startswith("AUDITAPP_")}


def settings_config_reads() -> set[str]:
    """The AUDITAPP_* settings auditapp/config.py reads, through _env("NAME") or _flag("NAME")."""
    text = (ROOT / "auditapp" / "config.py").read_text()
    return {f"AUDITAPP_{n}" for n in re.findall(r"""\b_(?:env|flag)\(\s*["']([A-Z0-9_]+)["']""", text)}


def settings_named_in(path: Path) -> set[str]:
    """The AUDITAPP_* names a file spells out in full (deploy/gunicorn.conf.py reads its settings so)."""
    return set(re.findall(r"""["'](AUDITAPP_[A-Z0-9_]+)["']""", path.read_text()))
