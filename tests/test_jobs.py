"""Scheduled work runs once, whatever the number of hosts whose timers fire (core/jobs.py)."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from auditapp.capa.models import ReminderSent
from auditapp.core.jobs import ScheduledRun, acquire, last_run, release, run_once
from auditapp.core.timeutil import utcnow
from auditapp.extensions import db

from .support.app import run_at_once
from .support.capa import plan_due_actions
from .support.hosts import finish, host_env, start_flask, wait_for_one_to_exit
from .support.mail import smtp_server

LEASE = timedelta(minutes=10)


def test_of_two_hosts_racing_for_a_job_exactly_one_holds_it(app):
    """Two app instances (own connections) race for twenty jobs, the first ten never run before."""
    for job in (f"job{n}" for n in range(10, 20)):
        assert acquire(job, "earlier", LEASE)
        release(job, "earlier", "done")
    winners: dict[str, list[int]] = {f"job{n}": [] for n in range(20)}

    def race(host):
        for job in winners:
            if acquire(job, f"host{host}", LEASE):
                winners[job].append(host)

    assert run_at_once(app, 2, race) == []
    assert all(len(held_by) == 1 for held_by in winners.values()), winners


def test_a_held_job_is_refused_until_released(app):
    with run_once("reminders", LEASE) as held:
        assert held
        with run_once("reminders", LEASE) as again:
            assert not again
        assert last_run("reminders").last_outcome == "running"
    row = last_run("reminders")
    assert row.locked_until is None and row.last_outcome == "done" and row.last_finished_at >= row.last_started_at
    with run_once("reminders", LEASE) as next_run:
        assert next_run


def test_a_failed_run_is_recorded_and_frees_the_job(app):
    with pytest.raises(RuntimeError), run_once("checkpoint", LEASE) as held:
        assert held
        raise RuntimeError("disk full")
    row = last_run("checkpoint")
    assert row.last_outcome == "failed" and row.locked_until is None
    assert acquire("checkpoint", "next", LEASE)


def test_an_expired_lease_is_taken_over_and_its_late_release_frees_nothing(app):
    assert acquire("reminders", "crashed-host", LEASE)
    assert not acquire("reminders", "other-host", LEASE)
    # The crashed holder's lease runs out (moved into the past rather than waited for).
    with db.engine.begin() as conn:
        conn.execute(update(ScheduledRun).values(locked_until=utcnow() - timedelta(seconds=1)))
    assert acquire("reminders", "other-host", LEASE)
    release("reminders", "crashed-host", "done")  # the old holder wakes up: the job stays with other-host
    assert not acquire("reminders", "third-host", LEASE)
    assert last_run("reminders").holder == "other-host"


@pytest.mark.parametrize(
    "command, job",
    [
        (["actions", "remind"], "reminders"),
        (["changes", "prune"], "changes-prune"),
        (["photos", "sweep", "--delete"], "photos-sweep"),
    ],
)
def test_a_command_whose_job_another_host_runs_says_so_and_succeeds(app, runner, command, job, tmp_path):
    app.config.update(MAIL_TO_CONSOLE=True)
    assert acquire(job, "other-host", LEASE)
    result = runner.invoke(args=command)
    assert result.exit_code == 0 and result.output == f"another host is running {job}; skipped\n"
    release(job, "other-host", "done")
    result = runner.invoke(args=command)
    assert result.exit_code == 0 and "skipped" not in result.output
    assert last_run(job).last_outcome == "done"


def test_the_dry_runs_need_no_lock(app, runner):
    assert acquire("changes-prune", "other-host", LEASE) and acquire("photos-sweep", "other-host", LEASE)
    assert "dry run" in runner.invoke(args=["changes", "prune", "--dry-run"]).output
    assert "dry run" in runner.invoke(args=["photos", "sweep"]).output


def test_a_reminder_run_on_two_hosts_at_once_sends_each_email_once(app, make_user, tmp_path):
    """Two `flask actions remind` processes, own instance folders, one database, one real SMTP server.

    The server holds every delivery until the first process has exited: so both runs overlap for sure,
    and without the lock both would be waiting to deliver the same mails."""
    owed = plan_due_actions(make_user)
    gate = threading.Event()
    with smtp_server(gate) as (inbox, port):
        hosts = [
            start_flask(
                ["actions", "remind"],
                host_env(
                    tmp_path / f"host{n}",
                    app.config["SQLALCHEMY_DATABASE_URI"],
                    SMTP_HOST="127.0.0.1",
                    SMTP_PORT=str(port),
                ),
            )
            for n in (1, 2)
        ]
        wait_for_one_to_exit(hosts, timeout=60)
        gate.set()
        outputs = [finish(h) for h in hosts]
        codes = [h.returncode for h in hosts]
    assert codes == [0, 0], outputs
    assert sorted(o.strip().splitlines()[-1] for o in outputs) == sorted(
        [f"{owed} reminders sent (smtp)", "another host is running reminders; skipped"]
    ), outputs
    deliveries = inbox.deliveries()
    assert len(deliveries) == owed and len(set(deliveries)) == owed
    assert db.session.scalar(db.select(db.func.count(ReminderSent.id))) == owed
    assert last_run("reminders").last_outcome == "done"
