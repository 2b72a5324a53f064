"""Turn an uploaded phone photo into a clean, upright, size-bounded JPEG plus thumbnail.

The upload is untrusted: its type is decided by decoding, its pixel count is checked from the
header before any pixels are decoded, and the stored image is always a fresh JPEG without any of
the original metadata (EXIF, GPS, XMP, ICC, comments, text chunks, trailing bytes), so nothing from the phone
leaks through.
"""

import hashlib
import math
import struct
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import IO

import pillow_heif
from PIL import Image, ImageFile, UnidentifiedImageError

# Once per process: lets Image.open recognise iPhone HEIC/HEIF files.
pillow_heif.register_heif_opener()

# Image.open format names; a JPEG with a multi-picture extension opens as "MPO" (many phones).
_OPEN_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
_SOURCE_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "HEIF": "HEIF"}

# What Pillow and pillow-heif raise for malformed or cut-off data.
_DECODE_ERRORS = (OSError, ValueError, EOFError, SyntaxError, struct.error)
# Metadata is optional: a broken EXIF block must never cost the auditor the photo.
_METADATA_ERRORS = (*_DECODE_ERRORS, KeyError, IndexError, TypeError)

_EXIF_IFD = 0x8769
_TAG_ORIENTATION = 0x0112
_TAG_DATETIME = 0x0132
_TAG_DATETIME_ORIGINAL = 0x9003
_EXIF_DATE_FORMAT = "%Y:%m:%d %H:%M:%S"

# EXIF Orientation value -> the transpose that makes the image upright (as ImageOps.exif_transpose).
_ORIENTATION_FIX = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES = {5, 6, 7, 8}

NOT_A_PHOTO = "This file is not a photo we can read (JPEG, PNG, WebP or HEIC)."
EMPTY_FILE = "The file is empty; please choose a photo."
INCOMPLETE = "The photo is incomplete (the upload was cut off); please take it again."


class PhotoRejected(Exception):
    """An upload that is not a usable photo. .message is shown to the auditor; .status is the HTTP status."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ProcessedPhoto:
    """The re-encoded photo and thumbnail, ready to store under their content hash."""

    data: bytes
    thumbnail: bytes
    sha256: str
    width: int
    height: int
    thumb_width: int
    thumb_height: int
    original_width: int
    original_height: int
    captured_at: datetime | None
    source_format: str
    content_type: str = "image/jpeg"


# JPEGs may come out up to this much under max_edge when that lets the decoder skip 3/4 of the pixels.
DRAFT_SLACK = 0.95
# Pixel budgets by decoder. A JPEG is decoded at 1/2 to 1/8 scale (draft), so 50 MP cost ~40 MB; PNG, WebP
# and HEIC are always decoded whole (4 bytes a pixel with alpha), so a 190 KB PNG of 49 MP cost ~900 MB.
MAX_PIXELS = 50_000_000
MAX_PIXELS_FULL_DECODE = 24_000_000


def process_photo(
    stream: IO[bytes],
    *,
    max_edge: int = 2048,
    thumb_edge: int = 320,
    max_pixels: int = MAX_PIXELS,
    max_pixels_full_decode: int = MAX_PIXELS_FULL_DECODE,
    quality: int = 85,
) -> ProcessedPhoto:
    """Validate, decode, orient, downscale and re-encode an upload; raise PhotoRejected if unusable.

    `max_pixels` bounds JPEGs (decoded at reduced scale), `max_pixels_full_decode` the formats that
    can only be decoded whole (PNG, WebP, HEIC)."""
    upload = stream.read()
    if not upload:
        raise PhotoRejected(EMPTY_FILE)
    # All work happens inside `with`: `image` may be the file image itself, unusable once closed.
    with _open_photo(upload, max_pixels) as im:
        del upload  # the decoder keeps its own reference as long as it needs one
        _check_pixels(im.size, max_pixels)
        assert im.format is not None  # Image.open names the format it opened
        source_format = _SOURCE_FORMATS[im.format]
        if source_format != "JPEG":
            _check_full_decode(im.size, source_format, max_pixels_full_decode, max_pixels)
        stored_size = im.size
        if source_format == "JPEG":
            # Decode at 1/2, 1/4 or 1/8 scale when that still covers the box. The box must keep
            # the aspect ratio: Pillow picks the scale from the smaller of the two ratios. It is
            # a little under max_edge because a 12 MP phone photo halves to 2000-2016 px: just
            # short of 2048, and a full decode plus resize for those last 48 px costs 2.5x.
            im.draft("RGB", _fit(stored_size, round(max_edge * DRAFT_SLACK)))
        _load(im)
        target = _fit(im.size, max_edge)
        # After load(): PNG may keep its EXIF after the pixel data.
        exif = _read_exif(im)
        orientation = _orientation(exif)
        flat = _to_rgb_or_l(im)
        if flat is not im:
            im.close()  # a whole PNG/WebP/HEIC is the largest buffer: freed as soon as it is converted
        image = _upright(_resize(flat, target), orientation)
        del flat
        thumb = _resize(image, _fit(image.size, thumb_edge))
        data = _encode_jpeg(image, quality)
        thumbnail = _encode_jpeg(thumb, quality)
        image.close()
        thumb.close()
    original_width, original_height = _upright_size(stored_size, orientation)
    return ProcessedPhoto(
        data=data,
        thumbnail=thumbnail,
        sha256=hashlib.sha256(data).hexdigest(),
        width=image.width,
        height=image.height,
        thumb_width=thumb.width,
        thumb_height=thumb.height,
        original_width=original_width,
        original_height=original_height,
        captured_at=_captured_at(exif),
        source_format=source_format,
    )


def _open_photo(upload: bytes, max_pixels: int) -> Image.Image:
    """Open (header only) an accepted format, or explain why the upload is refused."""
    try:
        # Only our formats are tried, so odd plugins never parse an upload we would refuse anyway.
        return Image.open(BytesIO(upload), formats=_OPEN_FORMATS)
    except UnidentifiedImageError:
        raise _unsupported(upload) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard: an error above 2x MAX_IMAGE_PIXELS, a warning above 1x that is an
        # exception where warnings are errors (our pytest). So max_pixels cannot usefully exceed it.
        raise _too_large_for_pillow(max_pixels) from None
    except _DECODE_ERRORS:
        raise PhotoRejected(NOT_A_PHOTO) from None


def _unsupported(upload: bytes) -> PhotoRejected:
    """415 for an image in a format we do not take (GIF, TIFF, ...), 422 for anything else."""
    try:
        with Image.open(BytesIO(upload)) as other:
            found = f"{other.format} files are"
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        found = "This image format is"
    except _DECODE_ERRORS:
        return PhotoRejected(NOT_A_PHOTO)
    return PhotoRejected(f"{found} not accepted; please upload a photo in JPEG, PNG, WebP or HEIC.", 415)


def _too_large_for_pillow(max_pixels: int) -> PhotoRejected:
    """Pillow refused the size before we saw it; its limit is the lower bound we can state."""
    pillow_limit = Image.MAX_IMAGE_PIXELS or max_pixels
    return PhotoRejected(
        f"This photo is too large (over {_megapixels(pillow_limit, round_up=False)} megapixels; "
        f"the limit is {_megapixels(min(max_pixels, pillow_limit), round_up=False)})."
    )


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    """Refuse pixel floods from the header's dimensions, before any pixel is decoded."""
    pixels = size[0] * size[1]
    if pixels > max_pixels:
        raise PhotoRejected(
            f"This photo is too large ({_megapixels(pixels)} megapixels; "
            f"the limit is {_megapixels(max_pixels, round_up=False)})."
        )


def _check_full_decode(size: tuple[int, int], source_format: str, limit: int, jpeg_limit: int) -> None:
    """Refuse formats decoded whole above their lower budget, saying that a JPEG of that size would do."""
    pixels = size[0] * size[1]
    if pixels > limit:
        name = "HEIC" if source_format == "HEIF" else ("WebP" if source_format == "WEBP" else source_format)
        raise PhotoRejected(
            f"This {name} photo is too large ({_megapixels(pixels)} megapixels; PNG, WebP and HEIC photos may have "
            f"at most {_megapixels(limit, round_up=False)}, JPEG photos {_megapixels(jpeg_limit, round_up=False)}). "
            "Please send it as a JPEG or at a lower resolution."
        )


def _megapixels(pixels: int, round_up: bool = True) -> str:
    """Pixels as megapixels to one decimal: 64, 50.1, 2,500."""
    # Counts round up and limits down, so a refused photo never reads as equal to the limit.
    tenths = pixels / 100_000
    tenths = math.ceil(tenths) if round_up else math.floor(tenths)
    return f"{tenths / 10:,.1f}".removesuffix(".0")


def _load(im: Image.Image) -> None:
    """Decode every pixel; verify() alone lets truncated files through."""
    # Pillow's process-wide switch must be off, or a half-uploaded photo decodes as grey: WeasyPrint
    # turns it on when imported (weasyprint/images.py), and web/pdf.py turns it back off.
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        im.load()
    except _DECODE_ERRORS:
        raise PhotoRejected(INCOMPLETE) from None


def _read_exif(im: Image.Image) -> Image.Exif:
    """The upload's EXIF, or an empty one when it is missing or unreadable."""
    try:
        return im.getexif()
    except _METADATA_ERRORS:
        return Image.Exif()


def _orientation(exif: Image.Exif) -> int:
    """The EXIF Orientation (1-8); 1 when absent or invalid."""
    try:
        value = exif.get(_TAG_ORIENTATION)
    except _METADATA_ERRORS:
        return 1
    return value if isinstance(value, int) and value in _ORIENTATION_FIX else 1


def _captured_at(exif: Image.Exif) -> datetime | None:
    """When the photo was taken: DateTimeOriginal, else DateTime; None if absent or malformed."""
    try:
        value = exif.get_ifd(_EXIF_IFD).get(_TAG_DATETIME_ORIGINAL) or exif.get(_TAG_DATETIME)
    except _METADATA_ERRORS:
        return None
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip("\x00 "), _EXIF_DATE_FORMAT)
    except ValueError:
        return None


def _fit(size: tuple[int, int], edge: int) -> tuple[int, int]:
    """The size with its long edge shrunk to `edge`, keeping the aspect ratio; never larger."""
    width, height = size
    scale = edge / max(width, height)
    if scale >= 1:
        return size
    return max(1, round(width * scale)), max(1, round(height * scale))


def _upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """The dimensions as displayed once the EXIF orientation is applied."""
    return (size[1], size[0]) if orientation in _SWAPS_AXES else size


def _to_rgb_or_l(im: Image.Image) -> Image.Image:
    """A mode JPEG can store faithfully: transparency onto white, CMYK and palettes to RGB, 16-bit to 8."""
    if im.has_transparency_data:
        # White, not black: transparent screenshots and scans must stay readable. Pasting through the
        # alpha onto an RGB canvas needs one RGB copy; alpha_composite needed three full RGBA ones.
        rgba = im if im.mode == "RGBA" else im.convert("RGBA")
        flat = Image.new("RGB", im.size, "white")
        flat.paste(rgba, (0, 0), rgba)
        return flat
    if im.mode in ("RGB", "L"):
        return im
    if im.mode.startswith("I"):
        # 16-bit greyscale PNG: convert("L") would clip everything above 255 to white.
        return im.point(lambda value: value / 256).convert("L")
    if im.mode == "1":
        return im.convert("L")
    # CMYK (Pillow already undoes Adobe's inverted CMYK), P, YCbCr, LAB, ...
    return im.convert("RGB")


def _resize(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Downscale to exactly `size` with LANCZOS (unchanged if already that size)."""
    if im.size == size:
        return im
    # reducing_gap=3: a cheap integer reduce first for big ratios; Pillow documents the result
    # as indistinguishable from plain LANCZOS at this gap.
    return im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _upright(im: Image.Image, orientation: int) -> Image.Image:
    """Apply the EXIF orientation; done after downscaling because rotating 12 MP costs ~50 ms."""
    method = _ORIENTATION_FIX.get(orientation)
    return im.transpose(method) if method is not None else im


def _encode_jpeg(im: Image.Image, quality: int) -> bytes:
    """A fresh JPEG of the pixels only: no exif/icc_profile/xmp is passed and no comment is taken over.

    Baseline JPEG with the standard Huffman tables: `optimize` and `progressive` made the encode about
    half of the whole pipeline's time (bench/photos.py) for files about a tenth smaller."""
    out = BytesIO()
    # Pillow writes im.info["comment"] (a JPEG COM segment or a PNG "comment" text) unless told otherwise,
    # and resize/transpose copy .info: an empty comment writes no COM segment.
    im.save(out, "JPEG", quality=quality, comment=b"")
    return out.getvalue()
