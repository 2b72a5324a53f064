"""First login on a new phone (150 ms, 1.6 Mbit/s down, 750 kbit/s up, 4x CPU; bench/phonelink.py's shaping
proxy, shared by the page and its service worker): how long until today's audits are kept for offline use.

bench/answer.py's seed (the 94-item ISO 9001 audit) and bench/phone_load.py's 22-item walk, both planned
today for the bench auditor, served by gunicorn. Each run is a fresh phone context (no cache, no worker):
log in, open My audits, and time until body[data-auto-offline-ready] (start.js: the worker took control,
then the audit screens and their guidance were fetched through it and kept). The reference, measured in
the same run on the same phone, is My audits' own cold load (loadEventEnd); printed: medians and the ratio.
Then the link is cut and both audits are opened from the device (a check, not a timing).

    .venv/bin/python bench/first_login.py [--runs 3]
"""

import argparse
import os
import socket
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.answer import free_port
from bench.phone_load import DOWN_BPS, LATENCY_MS, SHIPPED, UP_BPS, Phone, seed
from bench.phonelink import ShapedLink
from bench.proxy import start_gunicorn, wait_for
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS


def first_login(browser, base: str, audits: list[str]) -> dict:
    phone = Phone(browser)
    try:
        phone.log_in(base)
        mine = phone.visit(f"{base}/audits/mine")
        phone.page.wait_for_selector("body[data-auto-offline-ready=true]", timeout=120_000)
        kept = phone.page.evaluate("() => performance.now()")
        phone.context.set_offline(True)
        opened = []
        for path in audits:
            phone.page.goto(base + path)
            opened.append("No connection" not in phone.page.inner_text("h1"))
        return {"mine_load": mine["load"], "kept": kept, "opened": all(opened)}
    finally:
        phone.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "AUDITAPP_INSTANCE_PATH": str(Path(folder) / "instance")}
        env |= {"AUDITAPP_SECRET_KEY": "bench", "AUDITAPP_ACCESS_LOG": ""}
        env.pop("AUDITAPP_DATABASE_URL", None)
        pages = seed(env)
        audits = [path for path, logged_in, _items in pages.values() if logged_in]
        names = [name for name, (_path, logged_in, _items) in pages.items() if logged_in]
        port = free_port()
        process = start_gunicorn(port, env, SHIPPED)
        link = None
        try:
            wait_for(lambda: socket.create_connection(("127.0.0.1", port), 0.2).close() is None, "gunicorn")
            for _ in range(8):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/login").read()
            link = ShapedLink(port, LATENCY_MS, DOWN_BPS, UP_BPS)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                rows = [first_login(browser, f"http://127.0.0.1:{link.port}", audits) for _ in range(args.runs)]
                browser.close()
        finally:
            if link:
                link.close()
            process.terminate()
            process.wait(timeout=10)
    med = statistics.median
    print(
        f"first login on an emulated phone ({LATENCY_MS} ms, {DOWN_BPS * 8 / 1e6:.1f} Mbit/s down, "
        f"{UP_BPS * 8 / 1000:.0f} kbit/s up, 4x CPU), {len(audits)} audits today ({'; '.join(names)}); "
        f"medians of {args.runs} runs; a shared machine"
    )
    print(f"My audits cold load (reference): {med(r['mine_load'] for r in rows):,.0f} ms")
    print(f"today's audits kept offline, from navigation start: {med(r['kept'] for r in rows):,.0f} ms")
    print(f"ratio kept / My audits load: {med(r['kept'] / r['mine_load'] for r in rows):.2f}")
    print(f"opened offline afterwards: {sum(r['opened'] for r in rows)}/{len(rows)} runs, both audits")


if __name__ == "__main__":
    main()
