"""Page loads on an emulated phone (150 ms, 1.6 Mbit/s down, 750 kbit/s up, 4x CPU): login, 22- and 94-item audits.

One run seeds a temporary SQLite instance (bench/answer.py's seed: the 94-item ISO 9001 audit, plus the
22-item production floor walk for the same lead auditor) and serves it with gunicorn
(deploy/gunicorn.conf.py) twice on loopback: as shipped (compressed answers) and with compression off
(COMPRESS_MIMETYPES=[] through create_app's config argument; no setting is added for it). Debian's
Chromium, driven by Playwright, then opens each page in a fresh phone-shaped context (no cache, no
service worker) and once more in the same context (service worker installed and controlling). The
page gets CDP Emulation.setCPUThrottlingRate 4 (Chromium refuses it on workers), and the network is:

  --link proxy (default): bench/phonelink.py, a shaping TCP proxy in front of each server, so the
      page and its service worker share one emulated link;
  --link cdp: CDP Network.emulateNetworkConditions on the page target and on every service worker
      target (a browser-level session: Target.attachToTarget, Target.sendMessageToTarget). In
      Chromium 156 the worker's own fetches still run at loopback speed; the check line shows it.

Printed per server and page, medians of --runs: cold first contentful paint, cold load (loadEventEnd),
bytes on the wire (sum of Network.loadingFinished encodedDataLength on the page), the HTML before
compression, and the warm (second visit) FCP; then each audit's cold load as a ratio to the login
page's in the same run, and compressed/uncompressed ratios. Ratios are medians of per-run ratios.
The check line times a fetch the service worker makes against the emulated link's floor.

    .venv/bin/python bench/phone_load.py [--runs 3] [--no-compress] [--link proxy|cdp]
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
SERVERS = {"compressed": "auditapp:create_app()", "uncompressed": "auditapp:create_app({'COMPRESS_MIMETYPES': []})"}
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
        self.cdp.on("Network.responseReceived", self._response)
        self.cdp.on("Network.loadingFinished", self._finished)

    def _response(self, event):
        if event["type"] == "Document":
            self.documents.add(event["requestId"])

    def _finished(self, event):
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
        if not self.page.evaluate("() => !!document.querySelector('script[src*=\"offline/start\"]')"):
            return False  # the login page registers no worker: its second visit is the HTTP cache's
        self.page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        return True

    def close(self) -> None:
        self.context.close()


def measure_page(browser, base: str, path: str, logged_in: bool) -> dict:
    phone = Phone(browser)
    try:
        if logged_in:
            phone.log_in(base)
        cold = phone.visit(base + path)
        worker = phone.controlled()
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


def seed(env: dict) -> dict:
    def run(script: str) -> dict:
        done = subprocess.run([PYTHON, "-c", script], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    iso = run(SEED)
    walk = run(PLAN_WALK)
    return {
        "login": ("/login", False),
        f"audit, {len(walk['items'])} items": (f"/audits/{walk['audit']}", True),
        f"audit, {len(iso['items'])} items": (f"/audits/{iso['audit']}", True),
    }


def median(values) -> float:
    return statistics.median(v for v in values if v is not None)


def report(results: dict, pages: dict, runs: int, link: str) -> None:
    how = "a shaping proxy for page and worker" if link == "proxy" else "CDP emulation on page and worker targets"
    print(
        f"auditapp on an emulated phone: {LATENCY_MS} ms, {DOWN_BPS * 8 / 1e6:.1f} Mbit/s down, "
        f"{UP_BPS * 8 / 1000:.0f} kbit/s up ({how}), {CPU_SLOWDOWN}x CPU on the page; "
        f"gunicorn, SQLite, loopback; medians of {runs} runs; times in ms"
    )
    columns = f"{'HTML B':>9}{'cold FCP':>10}{'cold load':>11}{'bytes':>10}{'warm FCP':>10}"
    print(f"{'server':<14}{'page':<20}{columns}  warm visit")
    for server, by_page in results.items():
        for name in pages:
            rows = by_page[name]
            warm_kind = "service worker" if rows[0]["warm_by_worker"] else "HTTP cache, no worker"
            print(
                f"{server:<14}{name:<20}{median(r['html'] for r in rows):>9,.0f}{median(r['fcp'] for r in rows):>10.0f}"
                f"{median(r['load'] for r in rows):>11.0f}{median(r['bytes'] for r in rows):>10,.0f}"
                f"{median(r['warm_fcp'] for r in rows):>10.0f}  {warm_kind}"
            )
    login = next(iter(pages))
    for server, by_page in results.items():
        for name in list(pages)[1:]:
            ratio = median(a["load"] / b["load"] for a, b in zip(by_page[name], by_page[login], strict=True))
            print(f"{server}: {name} cold load / login cold load = {ratio:.2f}")
    if len(results) == 2:
        for name in pages:
            pairs = list(zip(results["compressed"][name], results["uncompressed"][name], strict=True))
            load = median(a["load"] / b["load"] for a, b in pairs)
            wire = median(a["bytes"] / b["bytes"] for a, b in pairs)
            print(f"compressed/uncompressed, {name}: cold load {load:.2f}, bytes {wire:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-compress", action="store_true", help="only the server with compression off")
    parser.add_argument("--link", choices=["proxy", "cdp"], default="proxy", help="how the network is emulated")
    args = parser.parse_args()
    servers = {"uncompressed": SERVERS["uncompressed"]} if args.no_compress else SERVERS
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "AUDITAPP_INSTANCE_PATH": str(Path(folder) / "instance"), "AUDITAPP_SECRET_KEY": "bench"}
        env.pop("AUDITAPP_DATABASE_URL", None)
        env["AUDITAPP_ACCESS_LOG"] = ""
        pages = seed(env)
        ports = {name: free_port() for name in servers}
        processes = [start_gunicorn(ports[name], env, app) for name, app in servers.items()]
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
                check = worker_check(browser, next(iter(bases.values())), largest)  # also warms both servers up
                results: dict = {name: {page: [] for page in pages} for name in servers}
                for _ in range(args.runs):
                    for name, base in bases.items():
                        for page, (path, logged_in) in pages.items():
                            results[name][page].append(measure_page(browser, base, path, logged_in))
                browser.close()
        finally:
            for link in links:
                link.close()
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
    report(results, pages, args.runs, args.link)
    print(check)


if __name__ == "__main__":
    main()
