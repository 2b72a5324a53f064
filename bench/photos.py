"""Benchmark: our photo pipeline against a naive Pillow baseline on a 12 MP phone-like JPEG, and
against its physical floor: decoding the same file in draft mode (the reduced-scale decode the
pipeline itself starts with), nothing else. The same run also times the pipeline with the encoder
it had before (optimize + progressive) and prints both files' sizes, so the size cost is visible.

Run from the repository root: `.venv/bin/python bench/photos.py [runs]`. Prints medians; never fails.
"""

import statistics
import sys
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import PIL
from PIL import Image, ImageChops, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ is not a package

from auditapp.photos import pipeline
from auditapp.photos.pipeline import process_photo

SIZE = (4000, 3000)
THUMB_EDGE = 320
QUALITY = 85
MAX_EDGES = (2048, 2000, 1600)  # 2048 is the default; the others show where JPEG draft kicks in


def phone_jpeg() -> bytes:
    """A 4000x3000 q90 JPEG like a phone's: gradients plus sensor-like noise, Orientation 6, GPS."""
    width, height = SIZE
    across = Image.linear_gradient("L").resize(SIZE)
    down = across.transpose(Image.Transpose.ROTATE_90).resize(SIZE)
    # Half-resolution noise, upscaled: grainy like a sensor, ~4 MB like a real 12 MP photo.
    noise = Image.effect_noise((width // 2, height // 2), 40).resize(SIZE, Image.Resampling.BILINEAR)
    rgb = Image.merge("RGB", (ImageChops.add(across, noise, 2, -64), ImageChops.add(down, noise, 2, -64), noise))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    out = BytesIO()
    rgb.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def naive(upload: bytes, max_edge: int) -> tuple[bytes, bytes]:
    """The obvious pipeline: full decode, rotate, LANCZOS resize, thumbnail, save; no draft."""
    im = Image.open(BytesIO(upload))
    im.load()
    im = ImageOps.exif_transpose(im)
    scale = min(1.0, max_edge / max(im.size))
    im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
    thumb = im.copy()
    thumb.thumbnail((THUMB_EDGE, THUMB_EDGE), Image.Resampling.LANCZOS)
    return _jpeg(im), _jpeg(thumb)


def _jpeg(im: Image.Image) -> bytes:
    """Same encoder settings as the pipeline, so only the decode/resize path differs."""
    out = BytesIO()
    im.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


def draft_decode(upload: bytes, max_edge: int = 2048) -> Image.Image:
    """The floor: open and decode the JPEG at the reduced scale the pipeline asks for, nothing more."""
    im = Image.open(BytesIO(upload))
    im.draft("RGB", pipeline._fit(im.size, round(max_edge * pipeline.DRAFT_SLACK)))
    im.load()
    return im


def _encode_as_before(im: Image.Image, quality: int) -> bytes:
    """The pipeline's encoder until issue 13: optimized Huffman tables, progressive."""
    out = BytesIO()
    im.save(out, "JPEG", quality=quality, optimize=True, progressive=True, comment=b"")
    return out.getvalue()


def floor_report(upload: bytes, runs: int) -> None:
    """The pipeline (default settings) as a ratio to a draft-mode decode of the same file, with file sizes."""
    floor = median_ms(lambda: draft_decode(upload), runs)
    ours = median_ms(lambda: process_photo(BytesIO(upload)), runs)
    now = process_photo(BytesIO(upload))
    shipped_encoder = pipeline._encode_jpeg
    pipeline._encode_jpeg = _encode_as_before
    try:
        before_ms = median_ms(lambda: process_photo(BytesIO(upload)), runs)
        before = process_photo(BytesIO(upload))
    finally:
        pipeline._encode_jpeg = shipped_encoder
    print()
    print(f"{'pipeline (max_edge 2048)':<40} | {'ms':>6} | {'x draft decode':>14} | {'photo B':>9} | {'thumb B':>7}")
    print(f"{'-' * 40}-+-{'-' * 6}-+-{'-' * 14}-+-{'-' * 9}-+-{'-' * 7}")
    print(f"{'draft-mode decode alone (the floor)':<40} | {floor:6.1f} | {1:14.2f} | {'':>9} | {'':>7}")
    for name, ms, photo in (
        ("process_photo, baseline JPEG (shipped)", ours, now),
        ("process_photo, optimize+progressive", before_ms, before),
    ):
        print(f"{name:<40} | {ms:6.1f} | {ms / floor:14.2f} | {len(photo.data):9,} | {len(photo.thumbnail):7,}")
    print(
        f"shipped vs optimize+progressive: time {ours / before_ms:.2f}x, "
        f"photo {len(now.data) / len(before.data):.2f}x the bytes, "
        f"thumbnail {len(now.thumbnail) / len(before.thumbnail):.2f}x"
    )


def median_ms(run: Callable[[], object], runs: int) -> float:
    """Median wall time of `runs` calls after one warm-up call, in milliseconds."""
    run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(runs: int = 7) -> None:
    """Time both pipelines for each max_edge and print one table."""
    upload = phone_jpeg()
    print(f"Pillow {PIL.__version__}, Python {sys.version.split()[0]}")
    print(f"input: {SIZE[0]}x{SIZE[1]} JPEG q90, {len(upload) / 1e6:.1f} MB, Orientation 6 + GPS")
    print(f"median of {runs} runs after 1 warm-up; thumbnail {THUMB_EDGE} px; JPEG q{QUALITY}")
    print()
    print(f"{'max_edge':>8} | {'output':>9} | {'ours ms':>8} | {'naive ms':>8} | {'ours/naive':>10}")
    print(f"{'-' * 8}-+-{'-' * 9}-+-{'-' * 8}-+-{'-' * 8}-+-{'-' * 10}")
    for max_edge in MAX_EDGES:
        photo = process_photo(BytesIO(upload), max_edge=max_edge, thumb_edge=THUMB_EDGE, quality=QUALITY)
        ours = median_ms(
            lambda edge=max_edge: process_photo(BytesIO(upload), max_edge=edge, thumb_edge=THUMB_EDGE, quality=QUALITY),
            runs,
        )
        baseline = median_ms(lambda edge=max_edge: naive(upload, edge), runs)
        output = f"{photo.width}x{photo.height}"
        print(f"{max_edge:>8} | {output:>9} | {ours:8.0f} | {baseline:8.0f} | {ours / baseline:10.2f}")
    floor_report(upload, runs)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
