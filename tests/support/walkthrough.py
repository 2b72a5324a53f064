"""Following the README's production section on one machine, as root would on a server, but inside a
temporary folder: /opt/auditapp, /etc/auditapp, /var/lib/auditapp and /etc/systemd/system move under it.

What a test cannot do there is stood in for by small commands put first on PATH, each saying what it
replaces: no system user is made (useradd, runuser and install's owner flags run as the test's user),
the editor fills in the settings a person would, systemd is read by `systemctl` here (it starts a
unit's own ExecStart with its EnvironmentFile, and runs oneshot jobs), and `caddy run` gets the certificate
from Caddy's internal CA instead of ACME (the adapted configuration is otherwise the file's own)."""

import re
import textwrap
from pathlib import Path

from .gunicorn import ROOT

#: Production paths and where they go in the test's folder.
MOVED = ("/opt/auditapp", "/etc/auditapp", "/var/lib/auditapp", "/etc/systemd/system")


def production_blocks(readme: Path = ROOT / "README.md") -> list[str]:
    """The bash blocks of the README's "## Production" section, in order."""
    text = readme.read_text()
    start = text.index("\n## Production")
    end = text.index("\n## ", start + 1)
    return re.findall(r"```bash\n(.*?)```", text[start:end], flags=re.S)


def moved(text: str, root: Path) -> str:
    """The production paths in `text` moved under `root` (and the clone URL turned into this checkout)."""
    text = re.sub(r"https://example\.com/auditapp\.git", str(ROOT), text)
    for path in MOVED:
        text = text.replace(path, f"{root}{path}")
    return text


SHIMS = {
    "useradd": """#!/bin/sh
# Stand-in: the test runs as its own user, so no system user is made.
echo "useradd (skipped in the test): $*"
""",
    "runuser": """#!/bin/sh
# Stand-in: run the command as the test's own user (runuser -u USER -- CMD...).
while [ "$1" != "--" ]; do shift; done; shift
exec "$@"
""",
}

PYTHON_SHIMS = {
    "install": '''
"""Stand-in: /usr/bin/install without -o/-g (the test's user owns everything)."""
import os, sys
kept, skip = [], False
for arg in sys.argv[1:]:
    if skip:
        skip = False
    elif arg in ("-o", "-g"):
        skip = True
    else:
        kept.append(arg)
os.execv("/usr/bin/install", ["install", *kept])
''',
    "caddy": '''
"""Stand-in for `caddy run` with the production Caddyfile: the real Caddy, started in the background, with
the file adapted by Caddy itself and only the issuer (internal CA, not ACME), ports and storage changed."""
import json, os, subprocess, sys, time
from pathlib import Path
from tests.support.caddy import on_loopback
args = sys.argv[1:]
assert args[0] == "run", args
config = subprocess.run(["/usr/bin/caddy", "adapt", *args[1:]], check=True, capture_output=True, text=True).stdout
root = Path(os.environ["WALKTHROUGH_ROOT"])
adapted = on_loopback(json.loads(config), root / "caddy", int(os.environ["WALKTHROUGH_HTTPS_PORT"]))
(root / "caddy.json").write_text(json.dumps(adapted))
log = open(root / "run" / "caddy.log", "ab")
process = subprocess.Popen(["/usr/bin/caddy", "run", "--config", str(root / "caddy.json")], stdout=log, stderr=log)
(root / "run" / "caddy.pid").write_text(str(process.pid))
''',
    "editor": '''
"""Stand-in for the person editing the env file: sets the test's values for every CHANGE-ME and example."""
import json, os, sys
path = sys.argv[1]
values = json.loads(os.environ["WALKTHROUGH_SETTINGS"])
lines = []
for line in open(path).read().splitlines():
    key = line.split("=", 1)[0].lstrip("#")
    if key in values:
        line = f"{key}={values.pop(key)}" if values.get(key) is not None else "# removed by the test: " + key
    lines.append(line)
lines += [f"{k}={v}" for k, v in values.items() if v is not None]
open(path, "w").write("\\n".join(lines) + "\\n")
''',
    "systemctl": '''
"""Stand-in for systemd: starts a service's ExecStart with its EnvironmentFile, runs oneshot jobs."""
import os, shlex, subprocess, sys
from pathlib import Path
units = Path(os.environ["WALKTHROUGH_ROOT"] + "/etc/systemd/system")
run = Path(os.environ["WALKTHROUGH_ROOT"] + "/run")
run.mkdir(exist_ok=True)

def unit(name):
    """The unit's settings, its production paths moved under the test's folder as the files were."""
    values = {}
    for line in (units / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            for path in ("/opt/auditapp", "/etc/auditapp", "/var/lib/auditapp"):
                value = value.replace(path, os.environ["WALKTHROUGH_ROOT"] + path)
            values.setdefault(key.strip(), value.strip())
    return values

def environment(values):
    env = dict(os.environ)
    for line in open(values["EnvironmentFile"]).read().splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            env[key] = value
    return env

def start(name, wait):
    values = unit(name)
    command, cwd = shlex.split(values["ExecStart"]), values["WorkingDirectory"]
    log = open(run / f"{name}.log", "ab")
    process = subprocess.Popen(command, env=environment(values), cwd=cwd, stdout=log, stderr=log)
    if wait:
        sys.exit(process.wait())
    (run / f"{name}.pid").write_text(str(process.pid))

verb, names = sys.argv[1], [a for a in sys.argv[2:] if not a.startswith("-")]
if verb == "daemon-reload":
    pass
elif verb == "enable":
    for name in names:
        assert (units / name).exists(), f"{name} is not installed"
        if name.endswith(".service") and "--now" in sys.argv:
            start(name, wait=False)
        elif name.endswith(".timer"):
            target = unit(name).get("Unit", name.replace(".timer", ".service"))
            assert (units / target).exists(), f"{name} starts {target}, which is not installed"
            (run / f"{name}.enabled").write_text(target)
elif verb == "start":
    for name in names:
        start(name, wait=unit(name).get("Type") == "oneshot")
elif verb == "list-timers":
    for timer in sorted(run.glob("*.timer.enabled")):
        print(timer.name.removesuffix(".enabled"), "->", timer.read_text())
else:
    sys.exit(f"systemctl stand-in: {verb} is not known to the test")
''',
}


def write_shims(folder: Path, python: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in SHIMS.items():
        (folder / name).write_text(body)
    for name, body in PYTHON_SHIMS.items():
        (folder / name).write_text(f"#!{python}\n" + textwrap.dedent(body))
    for path in folder.iterdir():
        path.chmod(0o755)
    return folder
