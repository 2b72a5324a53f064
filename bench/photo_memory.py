"""Benchmark: peak memory of one process running the photo pipeline on the worst accepted files.

Run from the repository root: `.venv/bin/python bench/photo_memory.py`. Each case runs in a fresh
interpreter that first reads the file, then processes it once; the figure is the growth of the peak
RSS (VmHWM, Linux) over the RSS just before processing, and the RSS left afterwards (after
intake.release_memory, as the server does). Never fails.
"""

import subprocess
import sys
import tempfile
from io import BytesIO
from pathlib import Path

import pillow_heif
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ is not a package

from auditapp.photos.pipeline import MAX_PIXELS, MAX_PIXELS_FULL_DECODE

ROOT = Path(__file__).resolve().parent.parent
pillow_heif.register_heif_opener()  # HEIF saving as well as opening

CHILD = """
import os, sys, time
from io import BytesIO
sys.path.insert(0, sys.argv[2])
from auditapp.photos.intake import release_memory
from auditapp.photos.pipeline import PhotoRejected, process_photo
data = open(sys.argv[1], "rb").read()
def status(key):  # VmHWM is this process's own peak; ru_maxrss would carry the parent's across exec
    line = next(line for line in open("/proc/self/status") if line.startswith(key + ":"))
    return int(line.split()[1]) / 1024
def rss():
    return status("VmRSS")
before = rss()
started = time.perf_counter()
try:
    process_photo(BytesIO(data))
    outcome = "accepted"
except PhotoRejected as err:
    outcome = "refused"
release_memory()  # as the server does after each photo
seconds = time.perf_counter() - started
peak = status("VmHWM")
print(f"{outcome} {peak - before:.0f} {rss() - before:.0f} {seconds:.2f}")
"""


def _side(pixels: int) -> tuple[int, int]:
    side = int(pixels**0.5)
    return side, side


def cases() -> dict[str, bytes]:
    """Small files that decode to as many pixels as each format may have, plus a phone photo for scale."""

    def save(im: Image.Image, fmt: str) -> bytes:
        out = BytesIO()
        im.save(out, fmt)
        return out.getvalue()

    full = _side(MAX_PIXELS_FULL_DECODE)
    jpeg = _side(MAX_PIXELS)
    return {
        "small: 1200x900 RGB JPEG": save(Image.new("RGB", (1200, 900), (90, 120, 150)), "JPEG"),
        f"PNG RGBA {full[0]}x{full[1]} (transparent)": save(Image.new("RGBA", full, (0, 0, 0, 0)), "PNG"),
        f"WebP RGBA {full[0]}x{full[1]}": save(Image.new("RGBA", full, (10, 20, 30, 128)), "WEBP"),
        f"HEIC RGB {full[0]}x{full[1]} (encoding it takes ~20 s)": save(Image.new("RGB", full, (10, 20, 30)), "HEIF"),
        f"JPEG CMYK {jpeg[0]}x{jpeg[1]}": save(Image.new("CMYK", jpeg, (10, 20, 30, 40)), "JPEG"),
        f"JPEG RGB {jpeg[0]}x{jpeg[1]}": save(Image.new("RGB", jpeg, (10, 20, 30)), "JPEG"),
        "PNG RGBA 7000x7000 (the report's 878 MB file)": save(Image.new("RGBA", (7000, 7000), (0, 0, 0, 0)), "PNG"),
    }


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, data in cases().items():
            path = Path(folder) / "upload"
            path.write_bytes(data)
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(path), str(ROOT)], capture_output=True, text=True, check=True
            ).stdout.split()
            outcome, peak, left, seconds = out[0], float(out[1]), float(out[2]), float(out[3])
            results[name] = peak
            print(
                f"{name:48} {len(data) // 1024:6} KB  {outcome:8}  peak +{peak:5.0f} MB  "
                f"left +{left:4.0f} MB  {seconds:5.2f} s"
            )
    small = max(results["small: 1200x900 RGB JPEG"], 1.0)
    worst = max(peak for name, peak in results.items() if "7000x7000" not in name)
    print(f"worst accepted file: peak +{worst:.0f} MB, {worst / small:.0f}x the small photo (+{small:.0f} MB)")


if __name__ == "__main__":
    main()
