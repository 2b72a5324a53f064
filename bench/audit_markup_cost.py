"""What the audit screen's markup costs the phone's renderer: the served 94-item page against variants of it.

The phone waterfall (bench/phone_trace.py) puts most of the 94-item audit's cold load on the renderer's
main thread, and a large part of it in RenderFrameImpl::DidDispatchDOMContentLoadedEvent: native code
that runs right after the DOMContentLoaded handlers and before the load event (Chromium looking at the
page's forms). This bench asks which markup that work follows. It serves this checkout with gunicorn
(bench/phone_load.py's seed), fetches the audit page as the lead auditor, and opens it on a phone
context at 4x CPU with the page's HTML replaced by a variant (Playwright route; its scripts, styles and
the server as shipped; the service worker kept out so every visit is a first visit). The network is
loopback: the figures are the renderer's.

Variants, each a text substitution of the served HTML (none is a proposed change; they locate the cost):
  served          the page as the server sent it
  no textareas    each note <textarea> made a <span> (the forms stay)
  no forms        each <form> made a <div> (the textareas stay, owned by no form)
  notes autocomplete=off / aria-label: the textarea with that attribute

Printed: medians of --runs (variants interleaved in each run) of the trace's wall time in
DidDispatchDOMContentLoadedEvent ("after DCL") and didFinishLoad ("after load"), layout, style,
main-thread busy time (from navigation to 300 ms after the load event), FCP and load, and each
variant's load as a ratio to "served" in the same run. A shared machine: compare within a run.

    .venv/bin/python bench/audit_markup_cost.py [--runs 3]
"""

import argparse
import os
import re
import socket
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.answer import ROOT, free_port
from bench.phone_load import SHIPPED, Phone, seed
from bench.proxy import start_gunicorn, wait_for
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

CATEGORIES = "devtools.timeline,toplevel,blink,renderer,navigation,loading"
MEASURES = {  # trace event -> column
    "ThreadControllerImpl::RunTask": "busy",
    "RenderFrameImpl::DidDispatchDOMContentLoadedEvent": "after DCL",
    "RenderFrameImpl::didFinishLoad": "after load",
    "Layout": "layout",
    "UpdateLayoutTree": "style",
}
MARKS = """() => { const n = performance.getEntriesByType("navigation")[0];
  const f = performance.getEntriesByName("first-contentful-paint")[0];
  return {fcp: f ? f.startTime : 0, load: n.loadEventEnd,
          forms: document.forms.length, fields: document.querySelectorAll("input, textarea, select").length}; }"""


def variants(html: str) -> dict[str, str]:
    return {
        "served": html,
        "no textareas": re.sub(r"<textarea([^>]*)>(.*?)</textarea>", r"<span\1>\2</span>", html, flags=re.S),
        "no forms": re.sub(r"<(/?)form(?=[ >])", r"<\1div", html),
        "notes autocomplete=off": html.replace("<textarea ", '<textarea autocomplete="off" '),
        "notes aria-label": html.replace("<textarea ", '<textarea aria-label="Note" '),
    }


def main_thread(trace: list) -> dict[str, float]:
    """Wall ms per MEASURES column on the renderer's busiest main thread."""
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in trace if e.get("name") == "thread_name"}
    busy: dict = defaultdict(float)
    for e in trace:
        if e.get("ph") == "X" and names.get((e["pid"], e["tid"])) == "CrRendererMain":
            busy[(e["pid"], e["tid"])] += e.get("dur", 0)
    key = max(busy, key=busy.get)
    out: dict = dict.fromkeys(MEASURES.values(), 0.0)
    for e in trace:
        if (e["pid"], e["tid"]) == key and e.get("ph") == "X" and e["name"] in MEASURES:
            out[MEASURES[e["name"]]] += e.get("dur", 0) / 1000
    return out


def visit(browser, base: str, path: str, body: str) -> dict:
    phone = Phone(browser)
    try:
        phone.context.route("**/sw.js", lambda route: route.abort())  # every visit a first visit
        phone.log_in(base)
        phone.page.route(base + path, lambda route: route.fulfill(status=200, content_type="text/html", body=body))
        trace: list = []
        done: list = []
        phone.cdp.on("Tracing.dataCollected", lambda event: trace.extend(event["value"]))
        phone.cdp.on("Tracing.tracingComplete", lambda event: done.append(1))
        phone.cdp.send("Tracing.start", {"categories": CATEGORIES, "transferMode": "ReportEvents"})
        phone.page.goto(base + path, wait_until="load", timeout=120_000)
        phone.page.wait_for_timeout(300)
        marks = phone.page.evaluate(MARKS)
        phone.cdp.send("Tracing.end")
        while not done:
            phone.page.wait_for_timeout(50)
        return {**marks, **main_thread(trace)}
    finally:
        phone.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "AUDITAPP_INSTANCE_PATH": str(Path(folder) / "instance")}
        env |= {"AUDITAPP_SECRET_KEY": "bench", "AUDITAPP_ACCESS_LOG": "", "PYTHONPATH": str(ROOT)}
        env.pop("AUDITAPP_DATABASE_URL", None)
        path = list(seed(env).values())[-1][0]  # the 94-item audit
        port = free_port()
        server = start_gunicorn(port, env, SHIPPED)
        try:
            wait_for(lambda: socket.create_connection(("127.0.0.1", port), 0.2).close() is None, "gunicorn")
            base = f"http://127.0.0.1:{port}"
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                phone = Phone(browser)
                phone.log_in(base)
                pages = variants(phone.context.request.get(base + path).text())
                phone.close()
                results: dict = {name: [] for name in pages}
                for _ in range(args.runs):
                    for name, body in pages.items():
                        results[name].append(visit(browser, base, path, body))
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    columns = [*MEASURES.values(), "fcp", "load"]
    print(f"94-item audit, 4x CPU, loopback; medians of {args.runs} runs; wall ms on the renderer's main thread")
    print(f"{'variant':<24}{'forms':>6}{'fields':>7}" + "".join(f"{c:>11}" for c in columns) + "   load/served")
    served = results["served"]
    for name, rows in results.items():
        values = "".join(f"{statistics.median(r[c] for r in rows):>11.0f}" for c in columns)
        ratio = statistics.median(a["load"] / b["load"] for a, b in zip(rows, served, strict=True))
        print(f"{name:<24}{rows[0]['forms']:>6}{rows[0]['fields']:>7}{values}   {ratio:.2f}")


if __name__ == "__main__":
    main()
