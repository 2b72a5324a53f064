"""Answer-saves per second under the production server, with 1 and 8 clients, against a trivial write.

One run seeds the 94-item ISO 9001 audit on a fresh database (a temporary SQLite instance by default;
with --database-url, a PostgreSQL database that is emptied first), starts gunicorn with
deploy/gunicorn.conf.py (bench/proxy.py's start_gunicorn; its defaults: 2 workers x 4 threads), logs
keep-alive clients in as the audit's lead auditor and measures requests per second for:
  - POST /bench/trivial-write  the reference: the same stack as an answer (session, login, CSRF header,
                               form parse, the change id, one row written and committed) and nothing else.
                               It goes through core.changes.applies_change with an empty view, so the row
                               is the change id's own (applied_changes), a fresh primary key per request:
                               the cheapest real write transaction, which never waits on another.
  - POST .../answer            a real one-tap save (each client owns its own items, every save changes
                               the result, so every one writes; the response carries the item and the
                               progress bar, as the phone gets it).
Each measure runs with 1 client, then 8, alternating rounds; the median round is printed. The ratio
answer/trivial-write is taken at 1 client, where it says how heavy an answer is; the scaling 8/1 says
whether answers from a team run side by side. The machine's cores are shared with the clients.

With --flood N the 8-client saves run once more while N attacker processes post wrong passwords for
random e-mails to /login at a fixed rate, and the ratio flooded/quiet is printed (login throttling must
not starve the auditors). Nothing leaves 127.0.0.1.

    .venv/bin/python bench/answer.py [--requests 800] [--rounds 3] [--database-url postgresql+psycopg://...]
                                     [--flood 2 --flood-rate 10]

The last line is read by other tools and always has this form:
    answers/s: 1 client X, 8 clients Y, scaling Y/X = S; answer/trivial-write at 1 client = R
"""

import argparse
import http.client
import json
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SEED = r"""
import json, sys
from datetime import date
from pathlib import Path
from auditapp import create_app
from auditapp.accounts import services as accounts
from auditapp.audits import services as audits
from auditapp.checklists import services as checklists
from auditapp.extensions import db
import flask_migrate
app = create_app()
with app.app_context():
    flask_migrate.upgrade()
    checklists.sync_directory(Path(app.config["CHECKLIST_DIR"]))
    lead = accounts.create_user(None, "bench@example.com", "Bench Lead", "auditor", "bench password 123")
    planner = accounts.create_user(None, "plan@example.com", "Planner", "quality_lead", "bench password 123")
    db.session.commit()
    audit = audits.plan_audit(planner, checklist_id=checklists.get_checklist("iso9001-2015").id, title="Bench",
                              planned_date=date.today(), lead_auditor_id=lead.id)
    db.session.commit()
    print(json.dumps({"audit": audit.id, "items": [i.id for i in audit.checklist_version.items]}))
"""
EMPTY_POSTGRESQL = r"""
import sys
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1])
with engine.begin() as conn:
    conn.execute(text("DROP SCHEMA public CASCADE"))
    conn.execute(text("CREATE SCHEMA public"))
engine.dispose()
"""
CLIENTS = (1, 8)


def bench_app():
    """The shipped app plus the reference endpoint; gunicorn loads it as `bench.answer:bench_app()`."""
    from flask_login import login_required

    from auditapp import create_app
    from auditapp.core.changes import applies_change

    app = create_app()

    @app.post("/bench/trivial-write")
    @login_required
    @applies_change
    def trivial_write():
        return "ok"

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """A keep-alive HTTP client holding one logged-in session and its CSRF token."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def request(self, method, path, body=None, headers=None):
        headers = {**(headers or {}), "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed an idle keep-alive connection (gunicorn's keepalive is 5 s; a loaded
            # machine can leave a gap that long): once more on a new connection.
            self.conn.close()
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, data

    def login(self, email, password):
        status, page = self.request("GET", "/login")
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
        status, _ = self.request(
            "POST", "/login", urlencode({"csrf_token": token, "email": email, "password": password})
        )
        assert status == 302, status
        status, page = self.request("GET", "/health")
        status, page = self.request("GET", "/audits/mine")
        self.csrf = re.search(rb'"X-CSRFToken": "([^"]+)"', page).group(1).decode()


def run(port, n_requests, n_clients, make_request, logged_in=None, connect=None):
    """Send n_requests spread over n_clients threads; return requests per second.

    connect() makes one client (default: plain HTTP to the port; bench/proxy.py passes HTTPS clients).
    logged_in() is called once the clients have logged in, before the clock starts (the login flood
    starts there: the bench's clients share the attacker's loopback address, which is throttled)."""
    clients = []
    for _ in range(n_clients):
        c = connect() if connect else Client(port)
        c.login("bench@example.com", "bench password 123")
        clients.append(c)
    if logged_in is not None:
        logged_in()
    per_client = n_requests // n_clients
    failures = []

    def work(index, client):
        for i in range(per_client):
            status = make_request(client, index, i)
            if status >= 400:
                failures.append(status)

    threads = [threading.Thread(target=work, args=(k, c)) for k, c in enumerate(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. HTTP {failures[0]}")
    return per_client * n_clients / elapsed


def flood_login(port, stop, counts, rate):
    """An attacker (its own process, so it shares no interpreter lock with the auditors' clients):
    wrong passwords for random e-mails at `rate` attempts a second (as fast as answered if slower),
    until told to stop. A fixed rate offers every version of the app the same attack."""
    client, statuses, started, sent = Client(port), {}, time.perf_counter(), 0
    while not stop.is_set():
        time.sleep(max(0.0, started + sent / rate - time.perf_counter()))
        sent += 1
        _status, page = client.request("GET", "/login")
        found = re.search(rb'name="csrf_token" value="([^"]+)"', page)
        body = {
            "csrf_token": found.group(1).decode() if found else "",
            "email": f"{uuid.uuid4().hex[:8]}@example.com",
            "password": "wrong password 123",
        }
        status, _ = client.request("POST", "/login", urlencode(body))
        statuses[status] = statuses.get(status, 0) + 1
    counts.put(statuses)


def trivial_write(client, _k, _i):
    return client.request(
        "POST", "/bench/trivial-write", "", {"X-CSRFToken": client.csrf, "X-Change-Id": str(uuid.uuid4())}
    )[0]


def answer_saves(audit: int, items: list[int], n_clients: int, revisions: dict[int, int]):
    """Saves by n_clients clients, each on its own slice of the audit's items; revisions carry over runs."""

    def answer(client, k, i):
        own = items[k::n_clients]
        item = own[i % len(own)]
        base = revisions.get(item, 0)
        status, _ = client.request(
            "POST",
            f"/audits/{audit}/items/{item}/answer",
            urlencode({"result": "conform" if base % 2 == 0 else "observation", "base_revision": base}),
            {"HX-Request": "true", "X-CSRFToken": client.csrf, "X-Change-Id": str(uuid.uuid4())},
        )
        revisions[item] = base + 1
        return status

    return answer


def prepare_database(url: str | None, env: dict) -> dict:
    if url:
        env["AUDITAPP_DATABASE_URL"] = url
        subprocess.run([PYTHON, "-c", EMPTY_POSTGRESQL, url], env=env, cwd=ROOT, check=True)
    else:
        env.pop("AUDITAPP_DATABASE_URL", None)
    seeded = subprocess.run([PYTHON, "-c", SEED], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(seeded.stdout.strip().splitlines()[-1])


def main():
    from bench.proxy import start_gunicorn, wait_for  # bench/proxy.py imports this module's client

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=800, help="requests per measure and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", help="an empty PostgreSQL database to use instead of SQLite (EMPTIED first)")
    parser.add_argument("--flood", type=int, default=0, help="attacker processes posting failed logins")
    parser.add_argument("--flood-rate", type=float, default=10, help="attempts a second per attacker")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "AUDITAPP_INSTANCE_PATH": tmp, "AUDITAPP_SECRET_KEY": "bench", "AUDITAPP_ACCESS_LOG": ""}
        seeded = prepare_database(args.database_url, env)
        port = free_port()
        server = start_gunicorn(port, env, app="bench.answer:bench_app()")
        try:
            wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=0.2).close() or True, "gunicorn")
            audit, items = seeded["audit"], seeded["items"]
            revisions: dict[int, int] = {}
            rates: dict[tuple[str, int], list[float]] = {}
            run(port, 100, 2, trivial_write)  # warm-up: both workers, their connections and templates
            run(port, 100, 2, answer_saves(audit, items, 2, revisions))
            for _ in range(args.rounds):
                for n in CLIENTS:
                    rates.setdefault(("trivial", n), []).append(run(port, args.requests, n, trivial_write))
                    saves = answer_saves(audit, items, n, revisions)
                    rates.setdefault(("answer", n), []).append(run(port, args.requests, n, saves))
            flooded, flood_statuses = None, {}
            if args.flood:
                stop, counts = multiprocessing.Event(), multiprocessing.Queue()
                attackers = [
                    multiprocessing.Process(target=flood_login, args=(port, stop, counts, args.flood_rate))
                    for _ in range(args.flood)
                ]

                def start_flood():
                    for t in attackers:
                        t.start()
                    time.sleep(1)  # the flood is running before the saves start

                saves = answer_saves(audit, items, CLIENTS[-1], revisions)
                flooded = run(port, args.requests, CLIENTS[-1], saves, logged_in=start_flood)
                stop.set()
                for _ in attackers:
                    for status, n in counts.get(timeout=60).items():
                        flood_statuses[status] = flood_statuses.get(status, 0) + n
                for t in attackers:
                    t.join()
        finally:
            server.terminate()
            server.wait(timeout=30)
    median = {key: statistics.median(values) for key, values in rates.items()}
    database = "PostgreSQL" if args.database_url else "SQLite (WAL)"
    print(
        f"auditapp answer-save benchmark: gunicorn (deploy/gunicorn.conf.py), {database}, loopback, "
        f"{args.requests} requests per measure, median of {args.rounds} rounds; clients share the machine's "
        f"{os.cpu_count()} cores"
    )
    print(f"{'measure':<34}{'1 client':>10}{'8 clients':>11}{'8/1':>7}")
    for name, label in (("trivial", "POST /bench/trivial-write (req/s)"), ("answer", "POST .../answer (req/s)")):
        one, eight = median[(name, 1)], median[(name, 8)]
        print(f"{label:<34}{one:>10.0f}{eight:>11.0f}{eight / one:>7.2f}")
    one, eight = median[("answer", 1)], median[("answer", 8)]
    # The trivial write's own scaling is this machine's ceiling (its clients share the cores); an answer that
    # waited on a lock would fall behind it at 8 clients.
    print(
        f"answer/trivial-write at 8 clients = {eight / median[('trivial', 8)]:.2f}; scaling answer/trivial-write = "
        f"{(eight / one) / (median[('trivial', 8)] / median[('trivial', 1)]):.2f}"
    )
    if flooded is not None:
        print(
            f"POST .../answer, 8 clients, login flood: {flooded:.0f} req/s (flood answers: "
            + ", ".join(f"HTTP {k} x{v}" for k, v in sorted(flood_statuses.items()))
            + f"); ratio flooded/quiet {flooded / eight:.2f}"
        )
    print(
        f"answers/s: 1 client {one:.0f}, 8 clients {eight:.0f}, scaling Y/X = {eight / one:.2f}; "
        f"answer/trivial-write at 1 client = {one / median[('trivial', 1)]:.2f}"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
