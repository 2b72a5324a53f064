"""A 12 MP photo uploaded from an emulated phone: downscaled in the page (as shipped) vs sent at full size.

One run seeds a temporary SQLite instance (bench/answer.py's seed: the 94-item ISO 9001 audit and its
lead auditor), serves it with gunicorn (deploy/gunicorn.conf.py) behind bench/phonelink.py's shaping
proxy (150 ms, 1.6 Mbit/s down, 750 kbit/s up), and drives Debian's Chromium with Playwright in a
phone-shaped context whose page runs at 4x CPU slowdown. Each photo is a fresh 4000x3000 q90 JPEG
from bench/photos.py's generator (gradients, sensor-like noise, EXIF orientation 6 and GPS; ~3.9 MB),
chosen in an item's "Add photo" input; the time runs from choosing it to the item's thumbnail being
swapped in. Runs alternate:
  - downscaled: the page as shipped (static/js/offline/photos.js downscales before htmx sends it);
  - full size: the same page with the downscale bypassed (a window-level listener marks the change
    event as already handled), i.e. what the upload form sent before.
Printed: medians of --runs, bytes posted, the ratio downscaled/full, and the uplink's computed floor.

    .venv/bin/python bench/photo_upload.py [--runs 3]
"""

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.answer import PYTHON, ROOT, SEED
from bench.phone_load import LATENCY_MS, UP_BPS, Phone
from bench.phonelink import ShapedLink
from bench.photos import phone_jpeg
from bench.proxy import start_warm_gunicorn
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

DOWNSCALE_ALONE = """async (b64) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const file = new File([bytes], "photo.jpg", { type: "image/jpeg" });
  const start = performance.now();
  const small = await window.auditappOffline.photos.downscale(file);
  return [performance.now() - start, small.size];
}"""
SETTLE_S = 5
CLOCK = """(id) => {
  window.__chosen = undefined; window.__swapped = undefined;
  window.addEventListener("change", () => {
    if (window.__chosen === undefined) window.__chosen = performance.now();
  }, true);
  document.addEventListener("htmx:afterSwap", (evt) => {
    if (evt.detail.target.id === id) window.__swapped = performance.now();
  });
}"""
BYPASS = """() => window.addEventListener("change", (evt) => { evt.auditappDownscaled = true; }, true)"""


class CountingLink(ShapedLink):
    """The shaping proxy, counting the bytes the phone sends up (Playwright does not see multipart bodies)."""

    sent_up = 0

    async def _carry(self, reader, writer, direction):
        if direction is self.up:
            reader = _Counting(reader, self)
        await super()._carry(reader, writer, direction)


class _Counting:
    def __init__(self, reader, link: CountingLink):
        self.reader, self.link = reader, link

    async def read(self, n: int) -> bytes:
        data = await self.reader.read(n)
        self.link.sent_up += len(data)
        return data


def upload(phone: Phone, link: CountingLink, item: int, photo: bytes) -> tuple[float, int]:
    """Seconds from the photo being chosen (its change event) to the item swapped in with it, in the
    page's clock; and the bytes the phone sent meanwhile. Playwright's own transfer of the file into
    the page (seconds under the CPU slowdown; a camera hands the file over at once) is not counted."""
    page = phone.page
    page.evaluate(CLOCK, f"item-{item}")
    before = link.sent_up
    page.set_input_files(
        f"#item-{item} input[type=file]", files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": photo}]
    )
    page.wait_for_selector(f"#item-{item} .photos img", timeout=180_000)
    page.wait_for_function("() => window.__swapped !== undefined")
    return page.evaluate("() => (window.__swapped - window.__chosen) / 1000"), link.sent_up - before


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    photos = [phone_jpeg() for _ in range(2 * args.runs)]
    results: dict[str, list[tuple[float, int]]] = {"downscaled": [], "full size": []}
    alone: list[tuple[float, int]] = []
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "AUDITAPP_INSTANCE_PATH": str(Path(folder) / "instance"), "AUDITAPP_SECRET_KEY": "bench"}
        env.pop("AUDITAPP_DATABASE_URL", None)
        env["AUDITAPP_ACCESS_LOG"] = ""
        done = subprocess.run([PYTHON, "-c", SEED], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
        seeded = json.loads(done.stdout.strip().splitlines()[-1])
        server, port = start_warm_gunicorn(env)
        link = None
        try:
            link = CountingLink(port, LATENCY_MS, 200_000, UP_BPS)
            base = f"http://127.0.0.1:{link.port}"
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                items = iter(seeded["items"])
                for run in range(args.runs):
                    for n, mode in enumerate(
                        ("downscaled", "full size") if run % 2 == 0 else ("full size", "downscaled")
                    ):
                        phone = Phone(browser)
                        try:
                            phone.log_in(base)
                            phone.visit(f"{base}/audits/{seeded['audit']}")
                            phone.page.wait_for_function("() => window.htmx && window.auditappOffline.photos")
                            # The auditor takes the photo once the page has settled: the service worker
                            # is installed and its first copies are made, so the upload has the link alone.
                            phone.controlled()
                            time.sleep(SETTLE_S)
                            if mode == "full size":
                                phone.page.evaluate(BYPASS)
                            else:  # the downscale alone, on the same throttled page, before the upload
                                b64 = base64.b64encode(photos[2 * run + n]).decode()
                                alone.append(tuple(phone.page.evaluate(DOWNSCALE_ALONE, b64)))
                            results[mode].append(upload(phone, link, next(items), photos[2 * run + n]))
                        finally:
                            phone.close()
                browser.close()
        finally:
            if link is not None:
                link.close()
            server.terminate()
            server.wait(timeout=30)

    size = statistics.median(map(len, photos))
    print(
        f"12 MP photo upload on an emulated phone ({LATENCY_MS} ms, {UP_BPS * 8 / 1000:.0f} kbit/s up, 4x CPU), "
        f"gunicorn behind bench/phonelink.py; medians of {args.runs}; photo {size:,.0f} B"
    )
    print(f"{'mode':<12}{'seconds':>10}{'bytes sent up':>15}{'uplink floor s':>16}")
    medians = {}
    for mode, runs in results.items():
        seconds = statistics.median(t for t, _ in runs)
        posted = int(statistics.median(b for _, b in runs))
        medians[mode] = seconds
        print(f"{mode:<12}{seconds:>10.2f}{posted:>15,}{posted / UP_BPS:>16.2f}")
    print(
        f"downscale alone in the page: {statistics.median(t for t, _ in alone):.0f} ms, "
        f"{statistics.median(b for _, b in alone):,.0f} B out"
    )
    ratios = [d / f for (d, _), (f, _) in zip(results["downscaled"], results["full size"], strict=True)]
    print(
        f"ratio downscaled/full size: {statistics.median(ratios):.2f} (median of per-run ratios; "
        f"medians {medians['downscaled']:.2f} / {medians['full size']:.2f} s; goal <= 0.30)"
    )


if __name__ == "__main__":
    main()
