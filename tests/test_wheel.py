"""The built wheel runs: installed into a fresh virtual environment, away from the checkout, it
migrates, loads the shipped checklists and serves pages with their stylesheet.

Slow (a wheel build and an install, ~1 min with a warm pip cache) and needs the package index for
the dependencies: deselect with `-m "not slow_install"`.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from .support.ports import free_port

pytestmark = pytest.mark.slow_install

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
# Not part of the source: left out of the copy the wheel is built from.
NOT_SOURCE = (
    ".git",
    ".venv",
    "build",
    "dist",
    "instance",
    "*.egg-info",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    "test-artifacts",
    "node_modules",
)
# Where the wheel carries the folders that sit next to auditapp/ in the checkout.
IN_WHEEL = {"templates": "auditapp/templates", "static": "auditapp/static", "checklists": "auditapp/shipped/checklists"}


def run(args, cwd, env=None, timeout=300):
    """Run a command; fail the test with its output if it fails or takes longer than timeout."""
    try:
        done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(map(str, args))} took over {timeout} s:\n{exc.stdout}\n{exc.stderr}")
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def source_files() -> dict[str, Path]:
    """Every file the wheel must hold, by its path in the wheel."""
    wanted = {}
    for folder, target in {"auditapp": "auditapp", **IN_WHEEL}.items():
        for path in (ROOT / folder).rglob("*"):
            relative = path.relative_to(ROOT / folder)
            if path.is_dir() or "__pycache__" in relative.parts or path.suffix == ".pyc":
                continue
            if folder == "checklists" and path.suffix != ".yaml":
                continue
            wanted[f"{target}/{relative.as_posix()}"] = path
    return wanted


def clean_env(venv: Path) -> dict[str, str]:
    """The environment of a fresh shell: no settings, no checkout on the path, the venv's bin first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUDITAPP_", "FLASK_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_built_wheel_installs_and_serves(tmp_path):
    # Build from a copy, so nothing left in the checkout's build/ from an earlier build can hide a gap.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    dist = tmp_path / "dist"
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", dist, source],
        cwd=tmp_path,
        timeout=300,
    )
    (wheel,) = dist.glob("auditapp-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        held = set(archive.namelist())
    missing = sorted(set(source_files()) - held)
    assert not missing, f"{len(missing)} files not in the wheel, e.g. {missing[:10]}"

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], cwd=tmp_path, timeout=120)
    python, flask = venv / "bin" / "python", venv / "bin" / "flask"
    env = clean_env(venv)
    run([python, "-m", "pip", "install", "--quiet", "-c", CONSTRAINTS, wheel], cwd=tmp_path, env=env, timeout=600)

    work = tmp_path / "work"  # a working directory outside the checkout, as on a server
    work.mkdir()
    package = Path(
        run([python, "-c", "import auditapp; print(auditapp.__file__)"], cwd=work, env=env, timeout=60).strip()
    ).parent
    assert package.is_relative_to(venv), f"auditapp imported from {package}, not from the installed wheel"

    run([flask, "--app", "auditapp", "db", "upgrade"], cwd=work, env=env, timeout=120)
    demo = run([flask, "--app", "auditapp", "demo"], cwd=work, env=env, timeout=180)
    # The instance folder is made in the working directory, never inside the virtual environment.
    assert (work / "instance" / "auditapp.sqlite3").is_file()
    assert not (package.parent / "instance").exists() and not any(venv.rglob("*.sqlite3"))
    logins = json.loads((work / "instance" / "demo-credentials.json").read_text())
    assert "quality@example.com" in demo

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [str(flask), "--app", "auditapp", "run", "--host", "127.0.0.1", "--port", str(port)],
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

        def get(path: str, data: dict | None = None) -> tuple[int, str, str]:
            body = urllib.parse.urlencode(data).encode() if data is not None else None
            try:
                with opener.open(base + path, data=body, timeout=10) as response:
                    return response.status, response.headers.get("Content-Type", ""), response.read().decode()
            except urllib.error.HTTPError as exc:
                with exc:
                    return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()

        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, f"the server exited {server.returncode}:\n{log.read_text()}"
            try:
                status, _, page = get("/login")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, f"no answer on {base} within 30 s:\n{log.read_text()}"
                time.sleep(0.2)
        assert status == 200, page
        assert "<h1>Log in</h1>" in page
        stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', page)
        assert stylesheet, page
        status, content_type, css = get(stylesheet.group(1))
        assert status == 200 and content_type.startswith("text/css")
        assert css == (ROOT / "static" / "css" / "app.css").read_text()

        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        status, _, home = get(
            "/login", {"csrf_token": token, "email": "quality@example.com", "password": logins["quality@example.com"]}
        )
        assert status == 200 and "Log out" in home, home
        status, _, library = get("/checklists/")
        assert status == 200, library
        # Imported by flask demo from the checklists the wheel ships.
        assert "ISO 9001:2015 system audit" in library and "Production floor walk" in library
        assert "checklists/production-floor-walk.yaml" in library
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
