"""Where a page load's time goes on the emulated phone: the request waterfall and the main thread's tasks.

Serves this checkout with gunicorn behind bench/phonelink.py (150 ms, 1.6 Mbit/s down, 750 kbit/s up;
page and service worker share the link), seeds as bench/phone_load.py does, and opens the 94-item audit
(or --page login / walk) on a phone context with 4x CPU, cold (fresh context) and then warm (the
service worker installed and controlling, after the first visit's background requests). For each
visit it prints:
  - every request of the page: start, first byte, end (ms from navigation start), bytes on the wire,
    who answered (network, service worker, its cache), and whether it blocked rendering;
  - first paint / FCP / DOMContentLoaded / load, from the page's own timeline;
  - the main thread's busy time by kind (HTML parsing, script evaluation per file, style, layout,
    paint) from a Chromium trace (devtools.timeline), and every task over 50 ms.
Timings on a shared machine vary: compare shapes, and use bench/phone_load.py's same-run ratios for figures.

    .venv/bin/python bench/phone_trace.py [--page audit94|walk|login] [--runs 1]
"""

import argparse
import json
import os
import socket
import sys
import tempfile
import urllib.request
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.answer import ROOT, free_port
from bench.phone_load import CPU_SLOWDOWN, DOWN_BPS, LATENCY_MS, SHIPPED, UP_BPS, Phone, seed
from bench.phonelink import ShapedLink
from bench.proxy import start_gunicorn, wait_for
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

TIMING = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const paint = Object.fromEntries(performance.getEntriesByType("paint").map((e) => [e.name, e.startTime]));
  return {fp: paint["first-paint"], fcp: paint["first-contentful-paint"], dcl: nav.domContentLoadedEventEnd,
          load: nav.loadEventEnd, response_start: nav.responseStart, response_end: nav.responseEnd,
          worker_start: nav.workerStart, fetch_start: nav.fetchStart};
}"""


class Recorder:
    """The page's requests (CDP Network) and a devtools.timeline trace of the visit."""

    def __init__(self, phone: Phone):
        self.phone, self.cdp = phone, phone.cdp
        self.requests: dict = {}
        self.trace: list = []
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.responseReceived", self._response)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.on("Tracing.dataCollected", lambda event: self.trace.extend(event["value"]))

    def _sent(self, event):
        self.requests[event["requestId"]] = {
            "url": event["request"]["url"],
            "start": event["timestamp"],
            "blocking": event["request"].get("initialPriority"),
            "type": event.get("type"),
        }

    def _response(self, event):
        row = self.requests.setdefault(event["requestId"], {"url": event["response"]["url"]})
        response = event["response"]
        timing = response.get("timing") or {}
        row["headers_at"] = event["timestamp"]
        row["from"] = (
            "worker cache"
            if response.get("fromServiceWorker") and response.get("serviceWorkerResponseSource") == "cache-storage"
            else "worker"
            if response.get("fromServiceWorker")
            else "disk cache"
            if response.get("fromDiskCache")
            else "network"
        )
        row["sw"] = response.get("serviceWorkerResponseSource")
        if timing:
            row["timing"] = {
                k: timing[k]
                for k in (
                    "dnsStart",
                    "connectStart",
                    "connectEnd",
                    "sendStart",
                    "workerStart",
                    "workerReady",
                    "workerFetchStart",
                    "workerRespondWithSettled",
                    "receiveHeadersEnd",
                )
                if k in timing
            }
            row["request_time"] = timing.get("requestTime")
        row["render_blocking"] = event.get("renderBlockingBehavior")

    def _finished(self, event):
        row = self.requests.get(event["requestId"])
        if row is not None:
            row["end"], row["bytes"] = event["timestamp"], int(event["encodedDataLength"])

    def visit(self, url: str) -> dict:
        self.requests.clear()
        self.trace.clear()
        categories = "devtools.timeline,disabled-by-default-devtools.timeline"
        if DETAIL:
            categories += (
                ",blink,toplevel,v8.execute,blink.user_timing,loading,navigation,renderer,passwords,content_capture"
            )
        self.cdp.send("Tracing.start", {"categories": categories, "transferMode": "ReportEvents"})
        if DETAIL:
            self.cdp.send("Profiler.enable")
            self.cdp.send("Profiler.setSamplingInterval", {"interval": 200})
            self.cdp.send("Profiler.start")
        self.phone.page.goto(url, wait_until="load")
        if DETAIL:
            js_profile(self.cdp.send("Profiler.stop")["profile"])
        self.phone.page.wait_for_function("() => performance.getEntriesByName('first-contentful-paint').length > 0")
        self.phone.page.wait_for_timeout(300)
        timing = self.phone.page.evaluate(TIMING)
        done = []
        self.cdp.on("Tracing.tracingComplete", lambda event: done.append(1))
        self.cdp.send("Tracing.end")
        for _ in range(100):
            if done:
                break
            self.phone.page.wait_for_timeout(100)
        return timing


def js_profile(profile: dict) -> None:
    """JavaScript self time by function (sampled), the top 15."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    deltas = dict.fromkeys(nodes, 0.0)
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=False):
        deltas[sample] += delta / 1000
    by_fn: dict = defaultdict(float)
    for node_id, ms in deltas.items():
        frame = nodes[node_id]["callFrame"]
        where = frame["url"].split("/")[-1].split("?")[0]
        by_fn[f"{frame['functionName'] or '(anonymous)'} {where}:{frame['lineNumber'] + 1}"] += ms
    print("JS profile, self ms:")
    for name, ms in sorted(by_fn.items(), key=lambda kv: -kv[1])[:15]:
        print(f"   {ms:7.0f}  {name}")


def show(name: str, rec: Recorder, timing: dict) -> None:
    rows = [r for r in rec.requests.values() if "start" in r]
    t0 = min(r["start"] for r in rows)
    print(
        f"\n== {name}: first paint {timing['fp']:.0f}, FCP {timing['fcp']:.0f}, response start "
        f"{timing['response_start']:.0f}, response end {timing['response_end']:.0f}, worker start "
        f"{timing['worker_start']:.0f}, DCL {timing['dcl']:.0f}, load {timing['load']:.0f} ms"
    )
    print(f"{'start':>6}{'headers':>8}{'end':>7}{'bytes':>8}  {'from':<12}{'blocking':<15}url")
    for r in sorted(rows, key=lambda r: r["start"]):
        ms = lambda key, r=r: f"{(r[key] - t0) * 1000:.0f}" if key in r else "-"  # noqa: E731
        url = r["url"].split("/", 3)[-1][:70]
        print(
            f"{ms('start'):>6}{ms('headers_at'):>8}{ms('end'):>7}{r.get('bytes', 0):>8,}  {r.get('from', '?'):<12}"
            f"{str(r.get('render_blocking')):<15}/{url}"
        )
        if r.get("timing") and ("worker" in r.get("from", "") or r["type"] == "Document"):
            print(f"{'':>29}timing {json.dumps({k: round(v) for k, v in r['timing'].items() if v >= 0})}")
    main_thread(rec.trace, t0)
    if DETAIL:
        tree(rec.trace)


def tree(trace: list) -> None:
    """The longest main-thread tasks as trees of their children over 8 ms (DETAIL)."""
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in trace if e.get("name") == "thread_name"}
    busy: dict = defaultdict(float)
    for e in trace:
        if e.get("ph") == "X" and names.get((e["pid"], e["tid"])) == "CrRendererMain":
            busy[(e["pid"], e["tid"])] += e.get("dur", 0)
    key = max(busy, key=busy.get)
    events = sorted(
        (e for e in trace if (e["pid"], e["tid"]) == key and e.get("ph") == "X" and "dur" in e),
        key=lambda e: (e["ts"], -e["dur"]),
    )
    ts0 = events[0]["ts"]
    tops = outermost([e for e in events if e["name"] in ("RunTask", "ThreadControllerImpl::RunTask")])
    tops = [e for e in tops if e["dur"] > 60_000]
    for top in tops:
        print(f"-- task at {(top['ts'] - ts0) / 1000:.0f} ms, {top['dur'] / 1000:.0f} ms")
        stack: list = []
        for e in events:
            if e is top or not (top["ts"] <= e["ts"] < top["ts"] + top["dur"]) or e["dur"] < 8_000:
                continue
            while stack and e["ts"] >= stack[-1]["ts"] + stack[-1]["dur"]:
                stack.pop()
            data = e.get("args", {}).get("data", {}) if isinstance(e.get("args", {}).get("data"), dict) else {}
            extra = " ".join(str(data[k])[-40:] for k in ("type", "url", "functionName") if data.get(k))
            print(f"   {'  ' * len(stack)}{e['dur'] / 1000:6.0f}  {e['name']} {extra}")
            stack.append(e)


def outermost(tasks: list) -> list:
    """The tasks not nested in another (a RunTask inside ThreadControllerImpl::RunTask is the same task)."""
    kept: list = []
    for task in sorted(tasks, key=lambda e: (e["ts"], -e.get("dur", 0))):
        if kept and task["ts"] < kept[-1]["ts"] + kept[-1].get("dur", 0):
            continue
        kept.append(task)
    return kept


def main_thread(trace: list, t0_s: float) -> None:
    """Busy time of the renderer's main thread by event kind, and its long tasks."""
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in trace if e.get("name") == "thread_name"}
    main = [key for key, name in names.items() if name == "CrRendererMain"]
    if not main:
        print("(no renderer main thread in the trace)")
        return
    by_thread: dict = defaultdict(float)
    for e in trace:
        if e.get("ph") == "X" and e.get("name") in ("RunTask", "ThreadControllerImpl::RunTask"):
            by_thread[(e["pid"], e["tid"])] += e.get("dur", 0)
    key = max(main, key=lambda k: by_thread[k])
    events = [e for e in trace if (e["pid"], e["tid"]) == key and e.get("ph") == "X"]
    kinds: dict = defaultdict(float)
    for e in events:
        name = e["name"]
        if name in (
            "ParseHTML",
            "ParseAuthorStyleSheet",
            "UpdateLayoutTree",
            "Layout",
            "Paint",
            "PrePaint",
            "Layerize",
            "CompileScript",
            "FunctionCall",
            "EventDispatch",
            "TimerFire",
            "v8.compile",
            "HitTest",
            "Commit",
            "ScheduleStyleRecalculation",
        ):
            kinds[name] += e.get("dur", 0) / 1000
        elif name == "EvaluateScript":
            url = e.get("args", {}).get("data", {}).get("url", "?").split("/")[-1].split("?")[0]
            kinds[f"EvaluateScript {url}"] += e.get("dur", 0) / 1000
    ts0 = min((e["ts"] for e in events), default=0)
    tasks = outermost([e for e in events if e["name"] in ("RunTask", "ThreadControllerImpl::RunTask")])
    busy = sum(e.get("dur", 0) for e in tasks) / 1000
    print(f"main thread busy {busy:.0f} ms (4x CPU); by kind (nested kinds overlap):")
    for name, ms in sorted(kinds.items(), key=lambda kv: -kv[1])[:16]:
        print(f"   {ms:8.0f}  {name}")
    print("tasks over 50 ms (start from the first trace event, duration, what is inside):")
    for task in tasks:
        if task.get("dur", 0) < 50_000:
            continue
        inside: dict = defaultdict(float)
        for e in events:
            if (
                e is not task
                and task["ts"] <= e["ts"] < task["ts"] + task["dur"]
                and e["name"]
                in (
                    "ParseHTML",
                    "EvaluateScript",
                    "FunctionCall",
                    "UpdateLayoutTree",
                    "Layout",
                    "Paint",
                    "PrePaint",
                    "EventDispatch",
                    "TimerFire",
                    "ParseAuthorStyleSheet",
                    "Layerize",
                    "v8.compile",
                )
            ):
                label = e["name"]
                data = e.get("args", {}).get("data", {})
                if label in ("EvaluateScript", "FunctionCall") and data.get("url"):
                    label += " " + data["url"].split("/")[-1].split("?")[0][:20]
                if label == "EventDispatch":
                    label += " " + data.get("type", "")
                inside[label] += e.get("dur", 0) / 1000
        top = ", ".join(f"{k} {v:.0f}" for k, v in sorted(inside.items(), key=lambda kv: -kv[1])[:5])
        print(f"   at {(task['ts'] - ts0) / 1000:6.0f}  {task['dur'] / 1000:5.0f} ms  {top}")


DETAIL = False


def main():
    global DETAIL
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", choices=["audit94", "walk", "login"], default="audit94")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--detail", action="store_true", help="more trace categories; long tasks as trees")
    args = parser.parse_args()
    DETAIL = args.detail
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "AUDITAPP_INSTANCE_PATH": str(Path(folder) / "instance")}
        env |= {"AUDITAPP_SECRET_KEY": "bench", "AUDITAPP_ACCESS_LOG": "", "PYTHONPATH": str(ROOT)}
        env.pop("AUDITAPP_DATABASE_URL", None)
        pages = list(seed(env).values())
        path, logged_in, _items = {"login": pages[0], "walk": pages[1], "audit94": pages[2]}[args.page]
        port = free_port()
        server = start_gunicorn(port, env, SHIPPED)
        link = None
        try:
            wait_for(lambda: socket.create_connection(("127.0.0.1", port), 0.2).close() is None, "gunicorn")
            for _ in range(8):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/login").read()
            link = ShapedLink(port, LATENCY_MS, DOWN_BPS, UP_BPS)
            base = f"http://127.0.0.1:{link.port}"
            print(
                f"phone: {LATENCY_MS} ms, {DOWN_BPS * 8 / 1e6:.1f} Mbit/s down, {UP_BPS * 8 / 1000:.0f} kbit/s up, "
                f"{CPU_SLOWDOWN}x CPU; {path}; a shared machine"
            )
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                for _ in range(2):  # both gunicorn workers render the page once (templates compiled) before a run
                    phone = Phone(browser)
                    if logged_in:
                        phone.log_in(base)
                    phone.visit(base + path)
                    phone.close()
                for run in range(args.runs):
                    phone = Phone(browser)
                    rec = Recorder(phone)
                    if logged_in:
                        phone.log_in(base)
                    show(f"run {run + 1}, cold", rec, rec.visit(base + path))
                    phone.controlled()
                    phone.settle()
                    show(f"run {run + 1}, warm", rec, rec.visit(base + path))
                    phone.close()
                browser.close()
        finally:
            if link:
                link.close()
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
