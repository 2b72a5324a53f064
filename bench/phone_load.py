"""Page loads on an emulated phone (150 ms, 1.6 Mbit/s down, 750 kbit/s up, 4x CPU): login, 22- and 94-item audits.

One run seeds temporary SQLite instances (bench/answer.py's seed: the 94-item ISO 9001 audit, plus the
22-item production floor walk for the same lead auditor) and serves them with gunicorn
(deploy/gunicorn.conf.py) side by side on loopback:

  --reference REV (default 67b3c74, main before issue 13's audit screen work): this checkout ("new")
      and REV, checked out into a temporary `git worktree` with its own gunicorn and its own instance
      seeded by its own code with the same seed; both compressed as shipped. Ratios are new/reference.
      `--reference 086d1cd` is the code issue 13 measured (served uncompressed, before the serving work).
  --reference REV1,REV2: several references, each with its own server, in the same run; every
      ratio is printed against each of them.
  --reference none: this checkout twice, as shipped (compressed answers) and with compression off
      (COMPRESS_MIMETYPES=[] through create_app's config argument; no setting is added for it).

Debian's Chromium, driven by Playwright, then opens each page in a fresh phone-shaped context (no
cache, no service worker) and once more in the same context (service worker installed and
controlling); the servers and pages take turns within each run. The page gets CDP
Emulation.setCPUThrottlingRate 4 (Chromium refuses it on workers), and the network is:

  --link proxy (default): bench/phonelink.py, a shaping TCP proxy in front of each server, so the
      page and its service worker share one emulated link;
  --link cdp: CDP Network.emulateNetworkConditions on the page target and on every service worker
      target (a browser-level session: Target.attachToTarget, Target.sendMessageToTarget). In
      Chromium 156 the worker's own fetches still run at loopback speed; the check line shows it.

The warm visit starts once the first visit's page has had no request in flight for a second (the
worker's precache, the page fetched again through the worker once it controls it, are over): it times
a visit with the worker installed, not one sharing the link with the first visit's background work.

Printed per server and page, medians of --runs: the HTML before compression (and per checklist
item), cold first contentful paint, cold load (loadEventEnd), bytes on the wire (sum of
Network.loadingFinished encodedDataLength on the page), and the warm (second visit) FCP; then each
audit's cold load as a ratio to the login page's in the same run, each measure's new/reference
ratio (medians of per-run ratios), and issue 13's audit screen goals against this run's figures.
The check line times a fetch the service worker makes against the emulated link's floor.

    .venv/bin/python bench/phone_load.py [--runs 3] [--reference REV[,REV...]|none] [--no-compress] [--link proxy|cdp]
"""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.answer import PYTHON, ROOT, SEED, free_port
from bench.phonelink import ShapedLink
from bench.proxy import start_gunicorn, wait_for
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, phone_context

LATENCY_MS, DOWN_BPS, UP_BPS = 150, 200_000, 93_750  # bytes/s: 1.6 Mbit/s down, 750 kbit/s up
CPU_SLOWDOWN = 4
CONDITIONS = {"offline": False, "latency": LATENCY_MS, "downloadThroughput": DOWN_BPS, "uploadThroughput": UP_BPS}
EMAIL, PASSWORD = "bench@example.com", "bench password 123"  # the lead auditor bench/answer.py seeds
SHIPPED, UNCOMPRESSED = "auditapp:create_app()", "auditapp:create_app({'COMPRESS_MIMETYPES': []})"
REFERENCE = "67b3c74"  # main before issue 13's audit screen work
# Issue 13's audit screen goals: the 94-item audit's cold load, absolute and against the reference; warm FCP.
GOAL_COLD_LOAD_MS, GOAL_COLD_LOAD_RATIO, GOAL_WARM_FCP_MS, GOAL_HTML_PER_ITEM = 1000, 0.40, 500, 1500
PLAN_WALK = r"""
import json
from datetime import date
from auditapp import create_app
from auditapp.accounts import services as accounts
from auditapp.audits import services as audits
from auditapp.checklists import services as checklists
from auditapp.extensions import db
app = create_app()
with app.app_context():
    audit = audits.plan_audit(accounts.find_user("plan@example.com"),
                              checklist_id=checklists.get_checklist("production-floor-walk").id,
                              title="Bench walk", planned_date=date.today(),
                              lead_auditor_id=accounts.find_user("bench@example.com").id)
    db.session.commit()
    print(json.dumps({"audit": audit.id, "items": [i.id for i in audit.checklist_version.items]}))
"""
METRICS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  return {fcp: fcp ? fcp.startTime : null, load: nav.loadEventEnd};
}"""


class WorkerThrottle:
    """Applies the phone's network conditions to every service worker as it appears.

    Playwright's CDP sessions reach pages only; a worker is reached through the browser's session,
    in the non-flattened protocol (messages wrapped in Target.sendMessageToTarget)."""

    def __init__(self, browser):
        self.cdp = browser.new_browser_cdp_session()
        self.cdp.on("Target.targetCreated", self._created)
        self.cdp.send("Target.setDiscoverTargets", {"discover": True})

    def _created(self, event):
        info = event["targetInfo"]
        if info["type"] != "service_worker":
            return
        session = self.cdp.send("Target.attachToTarget", {"targetId": info["targetId"], "flatten": False})
        commands = [("Network.enable", {}), ("Network.emulateNetworkConditions", CONDITIONS)]
        for n, (method, params) in enumerate(commands):
            message = json.dumps({"id": n + 1, "method": method, "params": params})
            self.cdp.send("Target.sendMessageToTarget", {"sessionId": session["sessionId"], "message": message})


class Phone:
    """A fresh phone-shaped context whose page is throttled and counts the bytes it receives."""

    emulate_network = False  # set when CDP, not the shaping proxy, is the link

    def __init__(self, browser):
        self.context = phone_context(browser)
        self.page = self.context.new_page()
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("Network.enable")
        if self.emulate_network:
            self.cdp.send("Network.emulateNetworkConditions", CONDITIONS)
        self.cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        self.received, self.documents, self.document_bytes = 0, set(), 0
        self.in_flight: set[str] = set()  # the page's requests not yet finished (its fetches included)
        self.cdp.on("Network.requestWillBeSent", lambda event: self.in_flight.add(event["requestId"]))
        self.cdp.on("Network.loadingFailed", lambda event: self.in_flight.discard(event["requestId"]))
        self.cdp.on("Network.responseReceived", self._response)
        self.cdp.on("Network.loadingFinished", self._finished)

    def _response(self, event):
        if event["type"] == "Document":
            self.documents.add(event["requestId"])

    def _finished(self, event):
        self.in_flight.discard(event["requestId"])
        self.received += int(event["encodedDataLength"])
        if event["requestId"] in self.documents:
            self.document_bytes = int(event["encodedDataLength"])

    def log_in(self, base: str) -> None:
        """Logs in through the context's API client: the session cookie, without filling the HTTP cache."""
        page = self.context.request.get(f"{base}/login").text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        form = {"csrf_token": token, "email": EMAIL, "password": PASSWORD}
        assert self.context.request.post(f"{base}/login", form=form).ok

    def visit(self, url: str) -> dict:
        self.received = 0
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.ok and response.url == url, url
        self.page.wait_for_function("() => performance.getEntriesByName('first-contentful-paint').length > 0")
        return {**self.page.evaluate(METRICS), "bytes": self.received, "html": len(response.body())}

    def controlled(self) -> bool:
        """Waits until a service worker is active; then the next visit is served through it."""
        # The outbox's start.js registers the worker: its own file before the page bundle, inside it since.
        started = 'script[src*="offline/start"], script[src*="/assets/page"]'
        if not self.page.evaluate(f"() => !!document.querySelector('{started}')"):
            return False  # the login page registers no worker: its second visit is the HTTP cache's
        self.page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        return True

    def settle(self, quiet_ms: int = 1000, limit_ms: int = 20000) -> None:
        """Waits until the page has had no request in flight for quiet_ms: what a first visit does
        after its load event (the worker's precache, a page fetched again once the worker controls it)
        is over, so the warm visit is timed alone and not sharing the link and server with it."""
        quiet = waited = 0
        while quiet < quiet_ms and waited < limit_ms:
            self.page.wait_for_timeout(100)  # lets Playwright deliver the CDP events meanwhile
            quiet, waited = (0 if self.in_flight else quiet + 100), waited + 100

    def close(self) -> None:
        self.context.close()


def measure_page(browser, base: str, path: str, logged_in: bool) -> dict:
    phone = Phone(browser)
    try:
        if logged_in:
            phone.log_in(base)
        cold = phone.visit(base + path)
        worker = phone.controlled()
        phone.settle()
        warm = phone.visit(base + path)
        return {**cold, "warm_fcp": warm["fcp"], "warm_by_worker": worker}
    finally:
        phone.close()


def worker_check(browser, base: str, path: str) -> str:
    """Times a fetch the service worker makes itself, against the emulated link's floor for its bytes."""
    phone = Phone(browser)
    try:
        phone.log_in(base)
        phone.visit(base + path)
        wire = phone.document_bytes  # the page's size on the wire, headers included
        phone.controlled()
        phone.visit(base + path)  # now controlled: the page's fetch below goes through the worker
        took = phone.page.evaluate(
            "async (url) => { const t = performance.now(); await (await fetch(url)).arrayBuffer();"
            " return performance.now() - t; }",
            base + path,
        )
    finally:
        phone.close()
    floor = LATENCY_MS + 1000 * wire / DOWN_BPS
    verdict = "yes" if took >= 0.9 * floor else "NO: the worker's fetches ran faster than the emulated link"
    return (
        f"check: a fetch made by the service worker took {took:.0f} ms; the link's floor for ~{wire:,} B "
        f"is {floor:.0f} ms (computed); worker throttled: {verdict}"
    )


def seed(env: dict, root: Path = ROOT) -> dict:
    """Seeds the instance in env with the code of the checkout at root: {page name: (path, logged in, items)}."""

    def run(script: str) -> dict:
        done = subprocess.run([PYTHON, "-c", script], env=env, cwd=root, check=True, capture_output=True, text=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    iso = run(SEED)
    walk = run(PLAN_WALK)
    return {
        "login": ("/login", False, 0),
        f"audit, {len(walk['items'])} items": (f"/audits/{walk['audit']}", True, len(walk["items"])),
        f"audit, {len(iso['items'])} items": (f"/audits/{iso['audit']}", True, len(iso["items"])),
    }


@contextmanager
def reference_checkout(rev: str):
    """REV checked out into a temporary git worktree (removed after), for its own server."""
    folder = Path(tempfile.mkdtemp(prefix="auditapp-reference-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), rev], cwd=ROOT, check=True, capture_output=True)
    try:
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT, capture_output=True)


@contextmanager
def reference_checkouts(revs: list[str]):
    """{rev: folder} for each REV, as reference_checkout."""
    with ExitStack() as stack:
        yield {rev: stack.enter_context(reference_checkout(rev)) for rev in revs}


def median(values) -> float:
    return statistics.median(v for v in values if v is not None)


def ratio(pairs, key) -> float:
    return median(a[key] / b[key] for a, b in pairs if a[key] and b[key])


def report(results: dict, pages: dict, runs: int, link: str, references: list[str]) -> None:
    how = "a shaping proxy for page and worker" if link == "proxy" else "CDP emulation on page and worker targets"
    print(
        f"auditapp on an emulated phone: {LATENCY_MS} ms, {DOWN_BPS * 8 / 1e6:.1f} Mbit/s down, "
        f"{UP_BPS * 8 / 1000:.0f} kbit/s up ({how}), {CPU_SLOWDOWN}x CPU on the page; "
        f"gunicorn, SQLite, loopback; medians of {runs} runs; times in ms; a shared machine"
    )
    columns = f"{'HTML B':>9}{'B/item':>8}{'cold FCP':>10}{'cold load':>11}{'bytes':>10}{'warm FCP':>10}"
    print(f"{'server':<14}{'page':<20}{columns}  warm visit")
    for server, by_page in results.items():
        for name, (_path, _logged_in, items) in pages.items():
            rows = by_page[name]
            warm_kind = "service worker" if rows[0]["warm_by_worker"] else "HTTP cache, no worker"
            html = median(r["html"] for r in rows)
            per_item = f"{html / items:,.0f}" if items else "-"
            print(
                f"{server:<14}{name:<20}{html:>9,.0f}{per_item:>8}{median(r['fcp'] for r in rows):>10.0f}"
                f"{median(r['load'] for r in rows):>11.0f}{median(r['bytes'] for r in rows):>10,.0f}"
                f"{median(r['warm_fcp'] for r in rows):>10.0f}  {warm_kind}"
            )
    login = next(iter(pages))
    for server, by_page in results.items():
        for name in list(pages)[1:]:
            load = median(a["load"] / b["load"] for a, b in zip(by_page[name], by_page[login], strict=True))
            print(f"{server}: {name} cold load / login cold load = {load:.2f}")
    if len(results) < 2:
        return
    new, *refs = results
    for ref in refs:
        label = f"new/{ref.removeprefix('ref ')}" if references else "compressed/uncompressed"
        for name in pages:
            pairs = list(zip(results[new][name], results[ref][name], strict=True))
            print(
                f"{label}, {name}: HTML {ratio(pairs, 'html'):.2f}, cold FCP {ratio(pairs, 'fcp'):.2f}, "
                f"cold load {ratio(pairs, 'load'):.2f}, bytes {ratio(pairs, 'bytes'):.2f}, "
                f"warm FCP {ratio(pairs, 'warm_fcp'):.2f}"
            )
    if not references:
        return
    name, (_path, _logged_in, items) = max(pages.items(), key=lambda page: page[1][2])
    rows = results[new][name]
    checks = [
        (f"HTML per item <= {GOAL_HTML_PER_ITEM} B", median(r["html"] for r in rows) / items, GOAL_HTML_PER_ITEM, "B"),
        (f"cold load <= {GOAL_COLD_LOAD_MS} ms", median(r["load"] for r in rows), GOAL_COLD_LOAD_MS, "ms"),
    ]
    for ref, rev in zip(refs, references, strict=True):
        pairs = list(zip(rows, results[ref][name], strict=True))
        checks.append(
            (f"cold load <= {GOAL_COLD_LOAD_RATIO:.2f}x {rev}", ratio(pairs, "load"), GOAL_COLD_LOAD_RATIO, "x")
        )
    checks.append((f"warm FCP <= {GOAL_WARM_FCP_MS} ms", median(r["warm_fcp"] for r in rows), GOAL_WARM_FCP_MS, "ms"))
    for what, value, goal, unit in checks:
        shown = f"{value:.2f}{unit}" if unit == "x" else f"{value:,.0f} {unit}"
        print(f"goal, {name}: {what}: {shown} -> {'met' if value <= goal else 'NOT met'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--reference", default=REFERENCE, help="git revisions to serve side by side (comma-separated), or none"
    )
    parser.add_argument("--no-compress", action="store_true", help="compression off (without a reference: only that)")
    parser.add_argument("--link", choices=["proxy", "cdp"], default="proxy", help="how the network is emulated")
    args = parser.parse_args()
    references = [] if args.reference.lower() in ("", "none") else args.reference.split(",")
    from playwright.sync_api import sync_playwright

    app = UNCOMPRESSED if args.no_compress else SHIPPED
    with tempfile.TemporaryDirectory() as folder, reference_checkouts(references) as checkouts:
        # name -> (checkout, app); each gets its own instance, seeded by its own code.
        if references:
            servers = {"new": (ROOT, app)} | {f"ref {rev}"[:13]: (checkouts[rev], app) for rev in references}
        elif args.no_compress:
            servers = {"uncompressed": (ROOT, UNCOMPRESSED)}
        else:
            servers = {"compressed": (ROOT, SHIPPED), "uncompressed": (ROOT, UNCOMPRESSED)}
        envs, pages = {}, {}
        for n, (name, (root, _app)) in enumerate(servers.items()):
            env = {**os.environ, "AUDITAPP_INSTANCE_PATH": str(Path(folder) / f"instance-{n}")}
            env |= {"AUDITAPP_SECRET_KEY": "bench", "AUDITAPP_ACCESS_LOG": "", "PYTHONPATH": str(root)}
            env.pop("AUDITAPP_DATABASE_URL", None)
            envs[name] = env
            if n == 0 or root != ROOT:
                seeded = seed(env, root)
                assert not pages or seeded == pages, "the reference seeded other ids than this checkout"
                pages = seeded
            if root == ROOT and n > 0:  # the same code: one instance, served twice
                envs[name] = envs[next(iter(servers))]
        ports = {name: free_port() for name in servers}
        processes = [start_gunicorn(ports[n], envs[n], a, root=r) for n, (r, a) in servers.items()]
        links = []
        try:
            for port in ports.values():
                wait_for(lambda p=port: socket.create_connection(("127.0.0.1", p), 0.2).close() is None, "gunicorn")
                for _ in range(8):  # each worker process loads the app on its first requests, not in a run
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/login").read()
            if args.link == "proxy":
                links = [ShapedLink(port, LATENCY_MS, DOWN_BPS, UP_BPS) for port in ports.values()]
                ports = {name: link.port for name, link in zip(servers, links, strict=True)}
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                if args.link == "cdp":
                    Phone.emulate_network = True
                    WorkerThrottle(browser)
                bases = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
                largest = list(pages.values())[-1][0]
                checks = [worker_check(browser, base, largest) for base in bases.values()]  # also warms them up
                results: dict = {name: {page: [] for page in pages} for name in servers}
                for _ in range(args.runs):
                    for name, base in bases.items():
                        for page, (path, logged_in, _items) in pages.items():
                            results[name][page].append(measure_page(browser, base, path, logged_in))
                browser.close()
        finally:
            for link in links:
                link.close()
            for process in processes:
                process.terminate()
            for process in processes:  # a loaded machine can take longer than gunicorn's graceful stop
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    report(results, pages, args.runs, args.link, references)
    for name, check in zip(servers, checks, strict=True):
        print(f"{name}: {check}")


if __name__ == "__main__":
    main()
