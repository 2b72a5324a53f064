"""deploy/: the systemd units and the environment file, read as systemd reads them and their commands run.

Each ExecStart line is run for real with this checkout standing in for /opt/auditapp and the example
environment file (its placeholders replaced by test values: the test database, a temporary instance
folder, a real SMTP server and Redis): the exact command lines of production are the ones proven here.
"""

import os
import shutil
import socket
import subprocess

import pytest

from auditapp.capa.models import ReminderSent
from auditapp.extensions import db

from .support.capa import plan_due_actions
from .support.deploy import (
    DEPLOY,
    ROOT,
    UNITS,
    command_line,
    env_example,
    env_example_mentions,
    here,
    settings_config_reads,
    settings_named_in,
    units,
)
from .support.hosts import stop, wait_until_answering
from .support.mail import smtp_server
from .support.ports import free_port
from .support.redis import redis_server

ENV_FILE = "/etc/auditapp/auditapp.env"
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
# Read by config.py but not for production: printing reminders instead of sending them (scripts/run).
DEV_ONLY = {"AUDITAPP_DEMO"}
# Set in the example for libpq itself (the database's CA for sslmode=verify-full), not for the app.
OTHER_PROGRAMS = {"PGSSLROOTCERT"}
HARDENING = {
    "User": "auditapp",
    "Group": "auditapp",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "ReadWritePaths": "/var/lib/auditapp",
    "CapabilityBoundingSet": "",
}
JOBS = {
    "auditapp-reminders.service": [["actions", "remind"]],
    "auditapp-checkpoint.service": [["events", "checkpoint"]],
    "auditapp-cleanup.service": [["changes", "prune"], ["photos", "sweep", "--delete"]],
}


def host_settings(database_url, tmp_path, **overrides) -> dict[str, str]:
    """The example's settings as one test host gets them: placeholders replaced, paths under tmp_path."""
    instance = tmp_path / "var-lib-auditapp"
    settings = dict(env_example())
    settings.pop("PGSSLROOTCERT")  # the test database speaks no TLS
    settings.update(
        AUDITAPP_DATABASE_URL=database_url,
        AUDITAPP_INSTANCE_PATH=str(instance),
        AUDITAPP_PHOTO_DIR=str(instance / "photos"),
        AUDITAPP_CHECKPOINT_FILE=str(instance / "checkpoints.jsonl"),
        AUDITAPP_SECRET_KEY="test-secret-key",
        AUDITAPP_EVENT_KEY="test-event-key",  # the key the test app's events were written with
        AUDITAPP_RATELIMIT_STORAGE_URI="memory://",
    )
    settings.update(overrides)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITAPP_")}
    env.update(settings, PYTHONPATH=str(ROOT))
    instance.mkdir(parents=True, exist_ok=True)
    return env


# --- what the units say ---------------------------------------------------------------------------


def test_each_timer_starts_a_oneshot_job_of_the_same_name_and_each_job_has_a_timer():
    services, timers = units("service"), units("timer")
    assert set(timers) == {"auditapp-reminders.timer", "auditapp-checkpoint.timer", "auditapp-cleanup.timer"}
    for name, timer in timers.items():
        service = timer["Timer"].get("Unit", [name.replace(".timer", ".service")])[0]
        assert service in services, f"{name} starts {service}, which deploy/systemd/ does not have"
        assert services[service]["Service"]["Type"] == ["oneshot"]
        assert timer["Timer"]["OnCalendar"] and timer["Timer"]["Persistent"] == ["true"]
        assert timer["Install"]["WantedBy"] == ["timers.target"]
    oneshots = {n for n, s in services.items() if s["Service"]["Type"] == ["oneshot"]}
    assert oneshots == {t.replace(".timer", ".service") for t in timers} == set(JOBS)


@pytest.mark.parametrize("name", sorted(p.name for p in UNITS.glob("*.service")))
def test_every_service_runs_as_the_app_user_with_the_env_file_and_hardening(name):
    service = units("service")[name]["Service"]
    assert service["EnvironmentFile"] == [ENV_FILE]
    assert service["WorkingDirectory"] == ["/var/lib/auditapp"]
    for key, value in HARDENING.items():
        assert service.get(key) == [value], f"{name}: {key}"
    for line in service["ExecStart"]:
        assert line.startswith("/opt/auditapp/.venv/bin/"), line


def test_the_job_services_run_the_scheduled_commands():
    services = units("service")
    for name, commands in JOBS.items():
        lines = services[name]["Service"]["ExecStart"]
        assert lines == [f"/opt/auditapp/.venv/bin/flask --app auditapp {' '.join(c)}" for c in commands]


def test_the_app_service_runs_gunicorn_with_the_deploy_configuration():
    service = units("service")["auditapp.service"]["Service"]
    assert command_line(service["ExecStart"][0])[1:] == ["-c", str(GUNICORN_CONF), "auditapp:create_app()"]
    assert service["Type"] == ["notify"] and service["Restart"] == ["on-failure"]


def test_systemd_accepts_the_units(tmp_path):
    """systemd's own reader: unknown keys, bad values, calendar specs, commands that are not there."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is missing; CI must install Debian's systemd package")
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    # Commands must exist where the unit says, so the units are checked with this checkout's paths.
    for unit in UNITS.iterdir():
        (tmp_path / unit.name).write_text(here(unit.read_text()))
    names = sorted(str(p) for p in tmp_path.iterdir())
    result = subprocess.run([analyze, "verify", "--man=no", *names], capture_output=True, text=True, cwd=tmp_path)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
    for timer in units("timer").values():
        calendar = timer["Timer"]["OnCalendar"][0]
        assert subprocess.run([analyze, "calendar", calendar], capture_output=True).returncode == 0, calendar


# --- the environment file -------------------------------------------------------------------------


def test_the_env_example_names_only_settings_the_app_reads():
    known = settings_config_reads() | OTHER_PROGRAMS
    if GUNICORN_CONF.exists():
        known |= settings_named_in(GUNICORN_CONF)
    else:  # deploy/gunicorn.conf.py comes with the serving branch; until it is merged, its documented names
        known |= {"AUDITAPP_BIND", "AUDITAPP_WORKERS", "AUDITAPP_THREADS"}
    named = env_example_mentions() | set(env_example())
    assert named - known == set(), "the example sets what nothing reads"


def test_every_setting_the_app_reads_is_in_the_env_example():
    assert settings_config_reads() - env_example_mentions() - DEV_ONLY == set()
    assert DEV_ONLY <= settings_config_reads()  # the allow-list names real settings only


def test_the_env_example_sets_what_several_hosts_need():
    settings = env_example()
    assert settings["AUDITAPP_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "sslmode=verify-full" in settings["AUDITAPP_DATABASE_URL"]
    assert settings["AUDITAPP_RATELIMIT_STORAGE_URI"].startswith("redis://")
    assert settings["AUDITAPP_TRUSTED_PROXIES"] == "1" and settings["AUDITAPP_SECURE_COOKIES"] == "1"
    assert settings["AUDITAPP_BASE_URL"].startswith("https://")
    assert {"AUDITAPP_SECRET_KEY", "AUDITAPP_EVENT_KEY", "AUDITAPP_SMTP_HOST"} <= set(settings)


# --- the commands, run -----------------------------------------------------------------------------


def test_the_job_services_commands_run_with_the_example_settings(app, make_user, tmp_path):
    owed = plan_due_actions(make_user)
    services = units("service")
    with smtp_server() as (inbox, port):
        env = host_settings(
            app.config["SQLALCHEMY_DATABASE_URI"],
            tmp_path,
            AUDITAPP_SMTP_HOST="127.0.0.1",
            AUDITAPP_SMTP_PORT=str(port),
            AUDITAPP_SMTP_STARTTLS="0",
            AUDITAPP_SMTP_USER="",  # aiosmtpd offers no login without TLS
        )
        outputs = {}
        for name in JOBS:
            for line in services[name]["Service"]["ExecStart"]:
                done = subprocess.run(
                    command_line(line), env=env, cwd=env["AUDITAPP_INSTANCE_PATH"], capture_output=True, text=True
                )
                assert done.returncode == 0, f"{line}\n{done.stdout}{done.stderr}"
                outputs[line.split("--app auditapp ")[1]] = done.stdout
    assert outputs["actions remind"] == f"{owed} reminders sent (smtp)\n"
    assert len(inbox.messages) == owed and db.session.scalar(db.select(db.func.count(ReminderSent.id))) == owed
    assert outputs["events checkpoint"].startswith("checkpoint: entry ")
    assert (tmp_path / "var-lib-auditapp" / "checkpoints.jsonl").read_text().count("\n") == 1
    assert outputs["changes prune"].startswith("Pruned the stored answers of 0 changes older than 30 days")
    assert outputs["photos sweep --delete"].startswith("Removed 0 files")


def test_the_app_service_starts_tells_systemd_it_is_ready_answers_and_stops(app, tmp_path):
    if not GUNICORN_CONF.exists():
        pytest.skip("deploy/gunicorn.conf.py comes with the serving branch; this runs once it is merged")
    service = units("service")["auditapp.service"]["Service"]
    port = free_port()
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)  # as systemd listens for Type=notify
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(60)
    with redis_server() as redis_url, notify:
        env = host_settings(
            app.config["SQLALCHEMY_DATABASE_URI"],
            tmp_path,
            AUDITAPP_RATELIMIT_STORAGE_URI=redis_url,
            AUDITAPP_BIND=f"127.0.0.1:{port}",
            NOTIFY_SOCKET=str(tmp_path / "notify"),
        )
        server = subprocess.Popen(
            command_line(service["ExecStart"][0]),
            env=env,
            cwd=env["AUDITAPP_INSTANCE_PATH"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert b"READY=1" in notify.recv(4096)
            wait_until_answering(f"http://127.0.0.1:{port}/login", server)
        finally:
            output = stop(server)
    assert server.returncode == 0, output


def test_the_env_file_read_by_a_shell_as_the_readme_does_sets_up_the_database(tmp_path):
    """README, Production: `flask db upgrade` under `sh -c 'set -a; . FILE; exec ...'` with the env file.
    The example with its placeholders replaced line by line, so what the shell reads is the file's syntax."""
    database = tmp_path / "fresh.sqlite3"
    values = host_settings(f"sqlite:///{database}", tmp_path)
    lines = [
        f"{line.split('=', 1)[0]}={values[line.split('=', 1)[0]]}" if "=" in line and line[0] != "#" else line
        for line in (DEPLOY / "auditapp.env.example").read_text().splitlines()
        if not line.startswith("PGSSLROOTCERT=")
    ]
    env_file = tmp_path / "auditapp.env"
    env_file.write_text("\n".join(lines) + "\n")
    flask = here("/opt/auditapp/.venv/bin/flask")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AUDITAPP_")} | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        ["sh", "-c", f"set -a; . {env_file}; exec {flask} --app auditapp db upgrade"],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "Running upgrade 0012 -> 0013" in done.stderr and database.exists()
