"""Answer-saves per second against a running auditapp server, and the ratio to a trivial endpoint.

Starts the app on a free loopback port (Werkzeug's threaded server, as `scripts/run` does, on a
temporary SQLite instance), logs in as the lead auditor of a seeded audit, then sends a bounded
number of requests from a few client threads, keep-alive, and reports requests per second for:
  - GET /health            (trivial: routing and the request hooks; public since the production server)
  - POST .../answer        (a real save: compare-and-set update, event, change id, fragment)
Each answer changes the result, so every save writes. With --flood, the saves run once more while
attacker processes post wrong passwords for random e-mails to /login at a fixed rate (the same
attack for every version), and the ratio flooded/quiet is printed. Nothing leaves 127.0.0.1.

    .venv/bin/python bench/answer.py [--requests 600] [--clients 4] [--flood 2 --flood-rate 10]
"""

import argparse
import http.client
import json
import multiprocessing
import os
import re
import socket
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
SERVE = r"""
import sys
from werkzeug.serving import run_simple
from auditapp import create_app
run_simple("127.0.0.1", int(sys.argv[1]), create_app(), threaded=True)
"""


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--flood", type=int, default=0, help="attacker processes posting failed logins")
    parser.add_argument("--flood-rate", type=float, default=10, help="attempts a second per attacker")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "AUDITAPP_INSTANCE_PATH": tmp, "AUDITAPP_SECRET_KEY": "bench"}
        env.pop("AUDITAPP_DATABASE_URL", None)
        seeded = json.loads(
            subprocess.run([PYTHON, "-c", SEED], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
            .stdout.strip()
            .splitlines()[-1]
        )
        port = free_port()
        server = subprocess.Popen(
            [PYTHON, "-c", SERVE, str(port)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.time() + 20
            while time.time() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            audit, items = seeded["audit"], seeded["items"]
            revisions: dict[int, int] = {}  # each client owns its own items, so no lock is needed

            def health(client, _k, _i):
                return client.request("GET", "/health")[0]

            def answer(client, k, i):
                # Each client works its own slice of items, so saves never conflict; results alternate.
                own = items[k :: args.clients]
                item = own[i % len(own)]
                base = revisions.get(item, 0)
                result = "conform" if base % 2 == 0 else "observation"
                status, _ = client.request(
                    "POST",
                    f"/audits/{audit}/items/{item}/answer",
                    urlencode({"result": result, "base_revision": base}),
                    {"HX-Request": "true", "X-CSRFToken": client.csrf, "X-Change-Id": str(uuid.uuid4())},
                )
                revisions[item] = base + 1
                return status

            run(port, 100, args.clients, health)  # warm-up
            trivial = run(port, args.requests, args.clients, health)
            saves = run(port, args.requests, args.clients, answer)
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

                flooded = run(port, args.requests, args.clients, answer, logged_in=start_flood)
                stop.set()
                for _ in attackers:
                    for status, n in counts.get(timeout=60).items():
                        flood_statuses[status] = flood_statuses.get(status, 0) + n
                for t in attackers:
                    t.join()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(
        f"auditapp answer-save benchmark: {args.requests} requests per run, {args.clients} client threads, "
        "Werkzeug threaded server, SQLite WAL, loopback"
    )
    print(f"{'endpoint':<28}{'req/s':>10}")
    print(f"{'GET /health (trivial)':<28}{trivial:>10.0f}")
    print(f"{'POST .../answer (save)':<28}{saves:>10.0f}")
    print(f"ratio save/trivial: {saves / trivial:.2f}")
    if flooded is not None:
        print(
            f"{'POST .../answer, login flood':<28}{flooded:>10.0f}   (flood answers: "
            + ", ".join(f"HTTP {k} x{v}" for k, v in sorted(flood_statuses.items()))
            + ")"
        )
        print(f"ratio flooded/quiet saves: {flooded / saves:.2f}")


if __name__ == "__main__":
    main()
