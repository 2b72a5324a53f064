"""Photo uploads: only real photos get in, upright, downscaled, re-encoded, with no metadata left.

Every image is generated here with Pillow; no binary fixtures.
"""

import dataclasses
import functools
import hashlib
import os
import random
import struct
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from io import BytesIO

import pytest
from PIL import Image, ImageCms, ImageFile, ImageOps, JpegImagePlugin, PngImagePlugin

from auditapp.photos.pipeline import (
    DRAFT_SLACK,
    EMPTY_FILE,
    INCOMPLETE,
    NOT_A_PHOTO,
    PhotoRejected,
    ProcessedPhoto,
    process_photo,
)
from auditapp.photos.storage import delete_photo_files, photo_file, store_photo

RED, GREEN, BLUE, YELLOW, GREY = (230, 20, 20), (20, 200, 20), (20, 20, 230), (240, 230, 20), (128, 128, 128)
SECRET = "MARKER-WHERE-THE-AUDITOR-STOOD"
EXIF_IFD, GPS_IFD = 0x8769, 0x8825


# --- helpers -------------------------------------------------------------------------------


def _save(im: Image.Image, fmt: str, **params) -> bytes:
    out = BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def _exif(orientation: int | None = None, taken: str | None = None, changed: str | None = None) -> Image.Exif:
    """EXIF as a phone writes it: GPS position, a description, optional orientation and dates."""
    exif = Image.Exif()
    exif[0x010E] = SECRET  # ImageDescription
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    if orientation is not None:
        exif[0x0112] = orientation
    if changed is not None:
        exif[0x0132] = changed  # DateTime
    if taken is not None:
        exif.get_ifd(EXIF_IFD)[0x9003] = taken  # DateTimeOriginal
    return exif


def _process(upload: bytes, **options) -> ProcessedPhoto:
    return process_photo(BytesIO(upload), **options)


def _rejection(upload: bytes, **options) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as caught:
        _process(upload, **options)
    return caught.value


def _open(data: bytes) -> Image.Image:
    im = Image.open(BytesIO(data))
    im.load()
    return im


def _near(pixel, colour, tolerance: int = 40) -> bool:
    """JPEG is lossy: a pixel matches a colour if every channel is within `tolerance`."""
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def _corners() -> Image.Image:
    """400x300, a distinct colour in each corner, to see where each one ends up."""
    im = Image.new("RGB", (400, 300), GREY)
    im.paste(RED, (0, 0, 60, 60))
    im.paste(GREEN, (340, 0, 400, 60))
    im.paste(BLUE, (0, 240, 60, 300))
    im.paste(YELLOW, (340, 240, 400, 300))
    return im


def _corner_pixels(im: Image.Image) -> list[tuple[int, ...]]:
    w, h = im.size
    return [im.convert("RGB").getpixel(xy) for xy in ((10, 10), (w - 11, 10), (10, h - 11), (w - 11, h - 11))]


def _noise(size: tuple[int, int]) -> Image.Image:
    """Incompressible pixels, so cutting the file in half really cuts pixel data."""
    return Image.frombytes("RGB", size, random.Random(7).randbytes(size[0] * size[1] * 3))


@functools.cache
def _twelve_megapixel_jpeg() -> bytes:
    across = Image.linear_gradient("L").resize((4000, 3000))
    down = across.transpose(Image.Transpose.ROTATE_90).resize((4000, 3000))
    return _save(Image.merge("RGB", (across, down, across)), "JPEG", quality=85)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _greyscale_png(width: int, height: int, rows: int | None = None) -> bytes:
    """A black greyscale PNG built by hand; only `rows` rows of pixel data if given (header-only bombs)."""
    compressor = zlib.compressobj()
    row = bytes(width + 1)  # filter byte + one byte per pixel
    pixels = b"".join(compressor.compress(row) for _ in range(height if rows is None else rows))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels + compressor.flush())
        + _png_chunk(b"IEND", b"")
    )


# --- orientation ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_orientation_6_comes_out_upright(fmt):
    photo = _process(_save(_corners(), fmt, exif=_exif(orientation=6)))
    out = _open(photo.data)
    assert (photo.width, photo.height) == out.size == (300, 400)
    assert (photo.original_width, photo.original_height) == (300, 400)
    # Orientation 6 = the camera was turned 90 degrees: the stored top-left is the upright top-right.
    top_left, top_right, bottom_left, bottom_right = _corner_pixels(out)
    assert _near(top_right, RED)
    assert _near(top_left, BLUE)
    assert _near(bottom_right, GREEN)
    assert _near(bottom_left, YELLOW)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_pillows_exif_transpose(orientation):
    upload = _save(_corners(), "JPEG", exif=_exif(orientation=orientation))
    expected = ImageOps.exif_transpose(_open(upload))
    photo = _process(upload)
    out = _open(photo.data)
    assert out.size == expected.size == (photo.original_width, photo.original_height)
    for got, want in zip(_corner_pixels(out), _corner_pixels(expected), strict=True):
        assert _near(got, want)


def test_the_stored_image_no_longer_claims_an_orientation():
    photo = _process(_save(_corners(), "JPEG", exif=_exif(orientation=8)))
    # A viewer that honours EXIF must not rotate it a second time.
    assert 0x0112 not in _open(photo.data).getexif()


# --- metadata ------------------------------------------------------------------------------


def test_gps_exif_icc_and_xmp_never_reach_the_stored_files():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/">{SECRET}</x:xmpmeta>'.encode()
    upload = _save(_corners(), "JPEG", exif=_exif(taken="2024:05:06 07:08:09"), icc_profile=srgb, xmp=xmp)
    uploaded = _open(upload)
    assert uploaded.getexif().get_ifd(GPS_IFD) and "icc_profile" in uploaded.info  # the input really has them
    photo = _process(upload)
    for data in (photo.data, photo.thumbnail):
        out = _open(data)
        assert not out.getexif()
        assert not {"exif", "icc_profile", "xmp"} & out.info.keys()
        assert SECRET.encode() not in data
        assert b"Exif\x00\x00" not in data
        assert b"GPS" not in data


@pytest.mark.parametrize(
    ("taken", "changed", "expected"),
    [
        ("2024:05:06 07:08:09", "2025:01:01 00:00:00", datetime(2024, 5, 6, 7, 8, 9)),  # original wins
        (None, "2023:12:31 23:59:58", datetime(2023, 12, 31, 23, 59, 58)),  # falls back to DateTime
        (None, None, None),
        ("0000:00:00 00:00:00", None, None),  # what some cameras write when the clock was never set
        ("yesterday", None, None),
    ],
)
def test_captured_at_comes_from_the_exif_dates(taken, changed, expected):
    photo = _process(_save(_corners(), "JPEG", exif=_exif(taken=taken, changed=changed)))
    assert photo.captured_at == expected


def test_captured_at_is_none_without_any_exif():
    assert _process(_save(_corners(), "PNG")).captured_at is None


# --- colour modes --------------------------------------------------------------------------


def _transparent_with_red_square(mode: str) -> Image.Image:
    im = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    im.paste((255, 0, 0, 255), (30, 30, 70, 70))
    return im.convert(mode) if mode != "RGBA" else im


def _palette_with_transparent_black() -> Image.Image:
    im = Image.new("P", (100, 100), 0)
    im.putpalette([0, 0, 0, 255, 0, 0])
    im.paste(1, (30, 30, 70, 70))
    im.info["transparency"] = 0
    return im


@pytest.mark.parametrize(
    ("image", "square"),
    [
        (_transparent_with_red_square("RGBA"), (255, 0, 0)),
        (_transparent_with_red_square("LA"), (76, 76, 76)),  # red in greyscale
        (_palette_with_transparent_black(), (255, 0, 0)),
    ],
    ids=["RGBA", "LA", "P+transparency"],
)
def test_transparency_is_flattened_onto_white(image, square):
    out = _open(_process(_save(image, "PNG")).data).convert("RGB")
    assert _near(out.getpixel((5, 5)), (255, 255, 255), tolerance=8)  # white, not black
    assert _near(out.getpixel((50, 50)), square)


def test_cmyk_jpeg_keeps_its_colours():
    photo = _process(_save(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), "JPEG"))
    out = _open(photo.data)
    assert out.mode == "RGB"
    red, green, blue = out.getpixel((32, 32))
    assert red > 200 and green < 60 and blue < 60


def test_16_bit_greyscale_png_is_scaled_not_clipped():
    image = Image.new("I;16", (64, 64), 0)
    image.paste(Image.new("I;16", (32, 64), 32768), (32, 0))  # mid-grey in 16 bits
    upload = _save(image, "PNG")
    assert Image.open(BytesIO(upload)).mode == "I;16"
    out = _open(_process(upload).data).convert("L")
    assert out.getpixel((8, 32)) < 8
    assert abs(out.getpixel((56, 32)) - 128) <= 8  # convert("L") alone would give 255


def test_greyscale_jpeg_is_accepted():
    photo = _process(_save(Image.linear_gradient("L"), "JPEG"))
    assert (photo.width, photo.height) == (256, 256)
    assert _open(photo.data).mode in ("L", "RGB")


# --- formats -------------------------------------------------------------------------------


def test_webp_is_re_encoded_as_jpeg():
    photo = _process(_save(_corners(), "WEBP", quality=90))
    assert photo.source_format == "WEBP"
    assert _open(photo.data).format == "JPEG"
    assert (photo.width, photo.height) == (400, 300)
    assert _near(_corner_pixels(_open(photo.data))[0], RED)


def test_heic_is_accepted_upright_and_without_its_gps():
    image = Image.new("RGB", (64, 48), GREY)
    image.paste(RED, (0, 0, 16, 16))
    upload = _save(image, "HEIF", exif=_exif(orientation=6, taken="2024:05:06 07:08:09").tobytes())
    photo = _process(upload)
    assert photo.source_format == "HEIF"
    assert (photo.width, photo.height) == (photo.original_width, photo.original_height) == (48, 64)
    assert _near(_open(photo.data).getpixel((40, 6)), RED, tolerance=60)  # top-left went top-right
    assert photo.captured_at == datetime(2024, 5, 6, 7, 8, 9)
    assert not _open(photo.data).getexif()
    assert SECRET.encode() not in photo.data


def test_multi_picture_jpeg_from_a_phone_counts_as_jpeg():
    upload = _save(_corners(), "MPO", save_all=True, append_images=[Image.new("RGB", (400, 300))])
    assert Image.open(BytesIO(upload)).format == "MPO"
    photo = _process(upload)
    assert photo.source_format == "JPEG"
    assert (photo.width, photo.height) == (400, 300)


def test_result_is_a_jpeg_named_by_its_content():
    photo = _process(_save(_corners(), "PNG"))
    assert photo.content_type == "image/jpeg"
    assert photo.sha256 == hashlib.sha256(photo.data).hexdigest()
    assert _open(photo.data).format == _open(photo.thumbnail).format == "JPEG"
    assert photo.data.startswith(b"\xff\xd8")


# --- sizes ---------------------------------------------------------------------------------


def test_twelve_megapixels_shrink_to_at_most_2048_with_a_320_thumbnail():
    photo = _process(_twelve_megapixel_jpeg())
    # Half scale (2000 px) is within 5% of 2048: decoded directly, with no resize at all.
    assert (photo.width, photo.height) == _open(photo.data).size == (2000, 1500)
    assert (photo.thumb_width, photo.thumb_height) == _open(photo.thumbnail).size == (320, 240)
    assert (photo.original_width, photo.original_height) == (4000, 3000)


def test_small_photos_are_never_upscaled():
    photo = _process(_save(Image.new("RGB", (200, 150), GREY), "JPEG"))
    assert (photo.width, photo.height) == (photo.original_width, photo.original_height) == (200, 150)
    assert (photo.thumb_width, photo.thumb_height) == (200, 150)
    assert (_process(_save(Image.new("RGB", (200, 150)), "JPEG"), thumb_edge=100).thumb_width) == 100


def _spy_on_draft(monkeypatch) -> list:
    calls = []
    draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = draft(self, mode, size)
        calls.append((mode, size, self.size))
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    return calls


@pytest.mark.parametrize(
    ("max_edge", "decoded", "output"),
    [
        (2048, (2000, 1500), (2000, 1500)),  # 1/2 scale: 2000 px is within 5% of 2048, kept as is
        (2000, (2000, 1500), (2000, 1500)),  # 1/2 scale
        (1000, (1000, 750), (1000, 750)),  # 1/4 scale
        (600, (1000, 750), (600, 450)),  # 1/4 still covers it; 1/8 (500 px) would not
        (4000, (4000, 3000), (4000, 3000)),  # no reduction possible: full decode
    ],
)
def test_jpeg_is_decoded_at_reduced_scale_with_an_aspect_correct_box(monkeypatch, max_edge, decoded, output):
    calls = _spy_on_draft(monkeypatch)
    photo = _process(_twelve_megapixel_jpeg(), max_edge=max_edge)
    [(mode, box, size)] = calls
    assert mode == "RGB" and size == decoded
    assert box[0] == min(4000, round(max_edge * DRAFT_SLACK)) and abs(box[0] / box[1] - 4 / 3) < 0.01
    assert (photo.width, photo.height) == output


# --- rejections ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "HEIF"])
def test_a_cut_off_upload_is_rejected_as_incomplete(fmt):
    whole = _save(_noise((400, 300)), fmt)
    rejected = _rejection(whole[: len(whole) // 2])
    assert (rejected.status, rejected.message) == (422, INCOMPLETE)


def test_verify_alone_would_let_a_cut_off_jpeg_through():
    whole = _save(_noise((400, 300)), "JPEG")
    Image.open(BytesIO(whole[: len(whole) // 2])).verify()  # no error: hence the pipeline's load()
    assert _rejection(whole[: len(whole) // 2]).message == INCOMPLETE


def test_a_cut_off_webp_is_rejected():
    whole = _save(_noise((400, 300)), "WEBP")
    assert _rejection(whole[: len(whole) // 2]).status == 422


def test_a_pixel_bomb_is_rejected_from_its_header_without_decoding(monkeypatch):
    bomb = _greyscale_png(8000, 8000)  # 64 MP of black: decodes to 64 MB from 62 KB
    assert len(bomb) < 100_000
    loads = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: loads.append(self))
    started = time.perf_counter()
    rejected = _rejection(bomb)
    assert time.perf_counter() - started < 0.1
    assert loads == []
    assert rejected.status == 422
    assert rejected.message == "This photo is too large (64 megapixels; the limit is 50)."


def test_the_pixel_limit_is_configurable():
    upload = _save(Image.new("RGB", (400, 300)), "JPEG")
    rejected = _rejection(upload, max_pixels=119_999)  # 400x300 = 120,000 pixels
    assert rejected.message == "This photo is too large (0.2 megapixels; the limit is 0.1)."
    assert _process(upload, max_pixels=120_000).width == 400


def test_a_bomb_past_pillows_warning_limit_is_rejected():
    # 100 MP: over Pillow's MAX_IMAGE_PIXELS, so Image.open warns; pytest makes that an error.
    assert _rejection(_greyscale_png(10_000, 10_000, rows=1)).status == 422


def test_a_bomb_past_pillows_warning_limit_is_rejected_where_warnings_are_only_warnings():
    with pytest.warns(Image.DecompressionBombWarning):
        rejected = _rejection(_greyscale_png(10_000, 10_000, rows=1))
    assert rejected.message == "This photo is too large (100 megapixels; the limit is 50)."


def test_a_bomb_past_pillows_error_limit_is_rejected():
    rejected = _rejection(_greyscale_png(50_000, 50_000, rows=1))  # 2,500 MP
    assert rejected.status == 422
    assert rejected.message == "This photo is too large (over 89.4 megapixels; the limit is 50)."


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_image_formats_are_unsupported_media(fmt):
    rejected = _rejection(_save(_corners(), fmt))
    assert rejected.status == 415
    assert rejected.message == f"{fmt} files are not accepted; please upload a photo in JPEG, PNG, WebP or HEIC."


@pytest.mark.parametrize(
    "upload",
    [
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",  # e.g. sent as photo.jpg
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        random.Random(3).randbytes(4096),
        b"\xff\xd8\xff\xe0" + random.Random(4).randbytes(4096),  # JPEG magic, then garbage
        b"\x89PNG\r\n\x1a\n" + bytes(64),  # PNG magic, broken header
    ],
    ids=["html", "pdf", "random", "jpeg-magic", "png-magic"],
)
def test_things_that_are_not_images_are_rejected(upload):
    rejected = _rejection(upload)
    assert (rejected.status, rejected.message) == (422, NOT_A_PHOTO)


def test_an_empty_upload_is_rejected():
    rejected = _rejection(b"")
    assert (rejected.status, rejected.message) == (422, EMPTY_FILE)


def test_photo_rejected_carries_message_and_status():
    error = PhotoRejected("Nope.", 415)
    assert (str(error), error.message, error.status) == ("Nope.", "Nope.", 415)
    assert PhotoRejected("Nope.").status == 422


# --- concurrency ---------------------------------------------------------------------------


def test_concurrent_processing_gives_the_same_results_as_sequential():
    uploads = [
        _save(_corners(), "JPEG", exif=_exif(orientation=6)),
        _save(_transparent_with_red_square("RGBA"), "PNG"),
        _save(_corners(), "WEBP"),
        _save(Image.new("CMYK", (300, 200), (0, 255, 255, 0)), "JPEG"),
    ] * 3
    sequential = [_process(upload) for upload in uploads]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(_process, uploads))
    assert concurrent == sequential


# --- storage -------------------------------------------------------------------------------


def _stored_files(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_photo_files_are_sharded_by_hash(tmp_path):
    sha = "ab" + "0" * 62
    assert photo_file(tmp_path, sha) == tmp_path / "ab" / f"{sha}.jpg"
    assert photo_file(tmp_path, sha, thumbnail=True) == tmp_path / "ab" / f"{sha}.thumb.jpg"


@pytest.mark.parametrize(
    "name",
    ["../etc/passwd", "../" + "a" * 61, "A" * 64, "g" * 64, "a" * 63, "a" * 65, "a" * 64 + "\n", "", None],
)
def test_photo_file_refuses_anything_but_a_sha256(tmp_path, name):
    with pytest.raises(ValueError):
        photo_file(tmp_path, name)


def test_store_photo_writes_once_and_leaves_no_temporary_files(tmp_path):
    photo = _process(_save(_corners(), "JPEG"))
    assert store_photo(tmp_path, photo) is True
    assert store_photo(tmp_path, photo) is False
    image, thumb = photo_file(tmp_path, photo.sha256), photo_file(tmp_path, photo.sha256, thumbnail=True)
    assert image.read_bytes() == photo.data
    assert thumb.read_bytes() == photo.thumbnail
    assert _stored_files(tmp_path) == sorted(str(p.relative_to(tmp_path)) for p in (image, thumb))


def test_store_photo_restores_a_missing_thumbnail(tmp_path):
    photo = _process(_save(_corners(), "JPEG"))
    store_photo(tmp_path, photo)
    photo_file(tmp_path, photo.sha256, thumbnail=True).unlink()
    assert store_photo(tmp_path, photo) is False
    assert photo_file(tmp_path, photo.sha256, thumbnail=True).read_bytes() == photo.thumbnail


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    photo = _process(_save(_corners(), "JPEG"))

    def disk_full(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError):
        store_photo(tmp_path, photo)
    assert _stored_files(tmp_path) == []


def test_store_photo_refuses_a_hash_that_does_not_match_the_data(tmp_path):
    photo = _process(_save(_corners(), "JPEG"))
    forged = dataclasses.replace(photo, sha256="0" * 64)
    with pytest.raises(ValueError):
        store_photo(tmp_path, forged)
    assert _stored_files(tmp_path) == []


def test_delete_photo_files_removes_both_and_tolerates_absence(tmp_path):
    photo = _process(_save(_corners(), "JPEG"))
    store_photo(tmp_path, photo)
    delete_photo_files(tmp_path, photo.sha256)
    assert _stored_files(tmp_path) == []
    delete_photo_files(tmp_path, photo.sha256)  # already gone: no error


# --- nothing but pixels --------------------------------------------------------------------

HTML = b"<html><body><script>alert('com')</script>"


def _jpeg_segments(data: bytes) -> tuple[list[int], bytes]:
    """The markers before the scan data, and whatever follows the end-of-image marker."""
    assert data[:2] == b"\xff\xd8"
    markers, at = [], 2
    while True:
        assert data[at] == 0xFF
        marker = data[at + 1]
        markers.append(marker)
        length = struct.unpack(">H", data[at + 2 : at + 4])[0]
        if marker == 0xDA:  # start of scan: entropy-coded data follows up to EOI
            return markers, data[data.rindex(b"\xff\xd9") + 2 :]
        at += 2 + length


def _png_text() -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", SECRET)  # Pillow reads a PNG "comment" as im.info["comment"]
    info.add_text("Description", SECRET, zip=True)  # zTXt
    info.add_itxt("XML:com.adobe.xmp", SECRET, lang="en", tkey="xmp")  # iTXt
    return info


def _metadata_uploads():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/">{SECRET}</x:xmpmeta>'.encode()
    exif = _exif(taken="2024:05:06 07:08:09")
    return {
        "jpeg-comment": _save(_corners(), "JPEG", comment=f"GPS 52.37N 4.89E {SECRET}".encode()),
        "jpeg-polyglot": _save(_corners(), "JPEG", comment=HTML + SECRET.encode()) + HTML + SECRET.encode(),
        "jpeg-exif-icc-xmp": _save(_corners(), "JPEG", exif=exif, icc_profile=srgb, xmp=xmp),
        "png-text": _save(_corners(), "PNG", pnginfo=_png_text()),
        "png-exif-icc": _save(_corners(), "PNG", exif=exif, icc_profile=srgb) + SECRET.encode(),
        "webp-exif-icc-xmp": _save(_corners(), "WEBP", exif=exif, icc_profile=srgb, xmp=xmp),
        "heic-exif-xmp": _save(_corners(), "HEIF", exif=exif.tobytes(), xmp=xmp),
    }


@pytest.mark.parametrize("name", list(_metadata_uploads()))
def test_stored_photo_and_thumbnail_carry_pixels_and_nothing_else(name):
    upload = _metadata_uploads()[name]
    assert SECRET.encode() in upload  # the input really carries the payload
    photo = _process(upload)
    for data in (photo.data, photo.thumbnail):
        markers, trailing = _jpeg_segments(data)
        # APP0 is the JFIF header Pillow writes itself; APP1-APP15 (EXIF, XMP, ICC, ...) and COM (0xFE) never.
        assert [m for m in markers if 0xE1 <= m <= 0xEF or m == 0xFE] == [], name
        assert trailing == b"", name
        assert SECRET.encode() not in data and b"GPS" not in data and b"<html" not in data, name
        assert not {"comment", "exif", "icc_profile", "xmp"} & _open(data).info.keys(), name


def test_png_webp_and_heic_have_a_lower_pixel_budget_than_jpeg_because_they_are_decoded_whole():
    png = _greyscale_png(5000, 5000, rows=1)  # 25 MP from a header: refused before decoding
    rejected = _rejection(png)
    assert rejected.status == 422
    assert rejected.message == (
        "This PNG photo is too large (25 megapixels; PNG, WebP and HEIC photos may have at most 24, "
        "JPEG photos 50). Please send it as a JPEG or at a lower resolution."
    )
    small = Image.new("RGB", (400, 300))
    for fmt, name in (("PNG", "PNG"), ("WEBP", "WebP"), ("HEIF", "HEIC")):
        assert _rejection(_save(small, fmt), max_pixels_full_decode=119_999).message.startswith(
            f"This {name} photo is too large (0.2 megapixels;"
        ), fmt
        assert _process(_save(small, fmt), max_pixels_full_decode=120_000).width == 400
    assert _process(_save(small, "JPEG"), max_pixels_full_decode=119_999).width == 400  # JPEG keeps its budget


_PEAK_CHILD = """
import sys
from io import BytesIO
from auditapp.photos.pipeline import process_photo
def status(key):
    return int(next(line for line in open("/proc/self/status") if line.startswith(key + ":")).split()[1]) // 1024
data = open(sys.argv[1], "rb").read()
before = status("VmRSS")
process_photo(BytesIO(data))
print(status("VmHWM") - before, status("VmRSS") - before)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads VmHWM from Linux /proc")
def test_the_largest_accepted_transparent_png_costs_one_copy_not_four(tmp_path):
    # 24 MP RGBA from 91 KB: decoded whole it is 96 MB; flattening used to take three more full copies.
    path = tmp_path / "clear.png"
    Image.new("RGBA", (4898, 4898), (0, 0, 0, 0)).save(path)
    out = subprocess.run([sys.executable, "-c", _PEAK_CHILD, str(path)], capture_output=True, text=True, check=True)
    peak, left = (int(value) for value in out.stdout.split())
    assert peak < 250, f"peak +{peak} MB"  # measured +184 MB; +367 MB before
    assert left < 60, f"+{left} MB kept after the photo"


_RELEASE_CHILD = """
import sys
from io import BytesIO
from auditapp.photos.intake import release_memory
from auditapp.photos.pipeline import process_photo
def rss():
    return int(next(line for line in open("/proc/self/status") if line.startswith("VmRSS:")).split()[1]) // 1024
data = open(sys.argv[1], "rb").read()
before = rss()
process_photo(BytesIO(data))
release_memory()
print(rss() - before)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads VmRSS from Linux /proc")
def test_memory_of_a_large_photo_is_given_back_once_processed(tmp_path):
    path = tmp_path / "large.webp"
    Image.new("RGBA", (4898, 4898), (10, 20, 30, 128)).save(path)  # 24 MP, decoded whole: +370 MB at its peak
    out = subprocess.run([sys.executable, "-c", _RELEASE_CHILD, str(path)], capture_output=True, text=True, check=True)
    assert int(out.stdout) < 40, f"+{out.stdout.strip()} MB kept after the photo"  # +96 MB kept before
