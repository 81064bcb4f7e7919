"""Read an image file's header: size as displayed, EXIF orientation, format.

No pixel is decoded. This is what indexing runs on every new file, so it must
stay cheap (about 0.05 ms for a JPEG): Pillow's lazy ``Image.open`` parses the
markers up to the frame header, and a few bytes at the end of the file tell a
complete file from a truncated one.

Outside files are hostile: anything that is not a supported, complete image of
sane dimensions raises ``BadInputError`` with a short reason a person can act on.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from PIL import Image, UnidentifiedImageError

from lightable.core.errors import BadInputError
from lightable.imaging import safety

# File name extensions that indexing looks at (lower case, with the dot).
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".tif", ".tiff", ".bmp", ".webp"}
)
# Pillow plugin ids we let parse outside files; nothing else gets a look at them
# (fewer parsers exposed to hostile bytes, and no surprise formats in a data set).
PIL_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "TIFF", "BMP", "WEBP")
# Names other plugins report for the same families (a camera's multi-picture JPEG).
_FORMAT_ALIASES = {"MPO": "JPEG", "DIB": "BMP"}

# Orientations 5-8 rotate by 90 degrees: the displayed width is the stored height.
_SWAPS_SIDES = frozenset({5, 6, 7, 8})
_ORIENTATION_TAG = 0x0112

# Magic bytes of formats people drop into image folders, for a precise message.
_OTHER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"GIF8", "GIF"),
    (b"%PDF", "PDF"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"8BPS", "Photoshop PSD"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"\x1f\x8b", "gzip archive"),
)
_FTYP_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF", b"avif": "AVIF"}


class FileStat(Protocol):
    """The two fields of ``os.stat_result`` that probing needs."""

    @property
    def st_size(self) -> int: ...

    @property
    def st_mtime_ns(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """What indexing records about a file. ``width``/``height`` are as displayed."""

    width: int
    height: int
    orientation: int  # EXIF orientation 1..8 (1 when absent)
    format: str  # JPEG, PNG, TIFF, BMP, WEBP
    file_size: int
    mtime_ns: int


def probe_image(path: str | os.PathLike[str], st: FileStat | None = None) -> ImageHeader:
    """Header of an image file, without decoding it.

    ``st`` may be passed when the caller already has the file's ``stat``
    (indexing gets it from ``os.scandir``). Raises ``BadInputError``.
    """
    path = Path(path)
    try:
        if st is None:
            st = os.stat(path)
        with open(path, "rb") as fp:
            return _probe_open(path, fp, st)
    except BadInputError:
        raise
    except FileNotFoundError as exc:
        raise BadInputError(path, "file not found") from exc
    except IsADirectoryError as exc:
        raise BadInputError(path, "is a folder, not a file") from exc
    except PermissionError as exc:
        raise BadInputError(path, "permission denied") from exc
    except OSError as exc:
        raise BadInputError(path, f"cannot read ({exc.strerror or exc})") from exc


def _probe_open(path: Path, fp: IO[bytes], st: FileStat) -> ImageHeader:
    size = st.st_size
    if (why := safety.check_file_size(size)) is not None:
        raise BadInputError(path, why)
    im = open_image(path, fp)
    fmt = normalized_format(im)
    orientation = orientation_of(im)
    _check_complete(path, fp, im, fmt, size)
    w, h = im.size
    if orientation in _SWAPS_SIDES:
        w, h = h, w
    return ImageHeader(w, h, orientation, fmt, size, st.st_mtime_ns)


def open_image(path: Path, fp: IO[bytes]) -> Image.Image:
    """Pillow's lazy open, restricted to our formats, with dimensions checked.

    The returned image has not decoded anything; the caller owns ``fp``.
    """
    try:
        im = Image.open(fp, formats=PIL_FORMATS)
    except Image.DecompressionBombError as exc:
        raise BadInputError(path, _bomb_reason(fp, exc)) from exc
    except UnidentifiedImageError as exc:
        raise BadInputError(path, _not_an_image_reason(fp)) from exc
    except (OSError, SyntaxError, ValueError, struct.error, zlib.error, EOFError) as exc:
        # A recognised format whose header is damaged (Pillow raises any of these).
        raise BadInputError(path, _damaged_reason(fp, exc)) from exc
    if (why := safety.check_dimensions(*im.size)) is not None:
        raise BadInputError(path, why)
    return im


def normalized_format(im: Image.Image) -> str:
    fmt = im.format or "?"
    return _FORMAT_ALIASES.get(fmt, fmt)


def orientation_of(im: Image.Image) -> int:
    """EXIF orientation 1..8 from what ``Image.open`` already parsed (no pixel load)."""
    try:
        if im.format == "PNG":
            # PngImageFile.getexif() decodes the whole image when the eXIf chunk
            # comes after the pixels; only use one that was found in the header.
            if "exif" not in im.info:
                return 1
            exif = Image.Exif()
            exif.load(im.info["exif"])
            value = exif.get(_ORIENTATION_TAG, 1)
        elif im.format == "TIFF":
            value = im.tag_v2.get(_ORIENTATION_TAG, 1)  # type: ignore[attr-defined]
        else:
            value = im.getexif().get(_ORIENTATION_TAG, 1)
        value = int(value)
    except Exception:
        # A damaged EXIF block must not make a readable image unusable.
        return 1
    return value if 1 <= value <= 8 else 1


# -- completeness ------------------------------------------------------------------
_TAIL = 64


def _check_complete(path: Path, fp: IO[bytes], im: Image.Image, fmt: str, size: int) -> None:
    if fmt == "JPEG":
        if not _jpeg_complete(fp, size):
            raise BadInputError(path, "truncated JPEG (no end marker)")
    elif fmt == "PNG":
        if not _tail_has(fp, size, b"IEND"):
            raise BadInputError(path, "truncated PNG (no IEND chunk)")
    elif fmt == "WEBP":
        fp.seek(4)
        (riff_len,) = struct.unpack("<I", fp.read(4))
        if riff_len + 8 > size:
            raise BadInputError(path, f"truncated WebP ({size} of {riff_len + 8} bytes)")
    elif fmt == "TIFF":
        if not _tiff_complete(im, size):
            raise BadInputError(path, "truncated TIFF (pixel data beyond end of file)")
    elif fmt == "BMP" and im.tile:
        t = im.tile[0]
        # Uncompressed bitmaps have a known length: stride (args[1]) times rows.
        stride = t.args[1] if t.codec_name == "raw" and len(t.args) > 1 else 0
        end = t.offset + (stride * im.size[1] if isinstance(stride, int) else 0)
        if t.offset >= size or end > size:
            raise BadInputError(path, "truncated BMP (pixel data cut short)")


def _tiff_complete(im: Image.Image, size: int) -> bool:
    """Every strip or tile of the first page lies inside the file."""
    tags = im.tag_v2  # type: ignore[attr-defined]
    for off_tag, cnt_tag in ((273, 279), (324, 325)):  # strips, tiles
        offsets, counts = tags.get(off_tag), tags.get(cnt_tag)
        if offsets is None or counts is None:
            continue
        if isinstance(offsets, int):
            offsets, counts = (offsets,), (counts,)
        try:
            if max(int(o) + int(c) for o, c in zip(offsets, counts, strict=False)) > size:
                return False
        except (TypeError, ValueError):
            return False
    return True


def _read_tail(fp: IO[bytes], size: int, n: int) -> bytes:
    n = min(n, size)
    fp.seek(size - n)
    return fp.read(n)


def _jpeg_complete(fp: IO[bytes], size: int) -> bool:
    tail = _read_tail(fp, size, _TAIL).rstrip(b"\x00")
    if tail.endswith(b"\xff\xd9"):
        return True
    if not tail:  # the end is all zero padding: look further back
        tail = _read_tail(fp, size, 1 << 20).rstrip(b"\x00")
        if tail.endswith(b"\xff\xd9"):
            return True
    # Some cameras and phones append a trailer after the end marker. Inside the
    # compressed data FF D9 cannot occur (0xFF bytes are stuffed), so an end
    # marker near the end and past the headers means the image data is complete.
    window = _read_tail(fp, size, 4096)
    pos = window.rfind(b"\xff\xd9")
    if pos < 0:
        return False
    return size - len(window) + pos > _jpeg_scan_start(fp)


def _jpeg_scan_start(fp: IO[bytes]) -> int:
    """Offset of the first SOS marker (walks the marker segments), or the file size."""
    fp.seek(2)
    while True:
        b = fp.read(4)
        if len(b) < 4 or b[0] != 0xFF:
            return 1 << 62
        marker, length = b[1], struct.unpack(">H", b[2:])[0]
        if marker == 0xDA:
            return fp.tell() - 4
        fp.seek(length - 2, os.SEEK_CUR)


def _tail_has(fp: IO[bytes], size: int, needle: bytes) -> bool:
    tail = _read_tail(fp, size, _TAIL).rstrip(b"\x00")
    if not tail:
        tail = _read_tail(fp, size, 1 << 20).rstrip(b"\x00")
    # The chunk's 4-byte CRC follows its name; allow a short trailer too.
    return needle in tail[-64:]


# -- reasons -----------------------------------------------------------------------
def _sniff_family(head: bytes) -> str | None:
    """Which of our formats the first bytes announce, even when Pillow gives up."""
    if head.startswith(b"\xff\xd8"):
        return "JPEG"
    if head.startswith(b"\x89PNG"):
        return "PNG"
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "TIFF"
    if head.startswith(b"BM"):
        return "BMP"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WebP"
    return None


def _head(fp: IO[bytes]) -> bytes:
    fp.seek(0)
    return fp.read(16)


def _not_an_image_reason(fp: IO[bytes]) -> str:
    head = _head(fp)
    for magic, name in _OTHER_MAGIC:
        if head.startswith(magic):
            return f"unsupported format ({name})"
    if head[4:8] == b"ftyp" and head[8:12] in _FTYP_BRANDS:
        return f"unsupported format ({_FTYP_BRANDS[head[8:12]]})"
    if (family := _sniff_family(head)) is not None:
        return f"damaged or truncated {family}"
    return "not an image"


def _damaged_reason(fp: IO[bytes], exc: BaseException) -> str:
    family = _sniff_family(_head(fp)) or "image"
    return f"damaged or truncated {family} ({_short(exc)})"


_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


def _bomb_reason(fp: IO[bytes], exc: Exception) -> str:
    dims = _sniff_dimensions(fp)
    if dims is not None and (why := safety.check_dimensions(*dims)) is not None:
        return why
    m = _BOMB_PIXELS.search(str(exc))
    claimed = safety.format_pixels(int(m.group(1))) if m else "too many pixels"
    return f"image claims {claimed} (limit {safety.format_pixels(safety.MAX_PIXELS)})"


def _sniff_dimensions(fp: IO[bytes]) -> tuple[int, int] | None:
    """Width and height from a PNG IHDR or a JPEG frame header, for messages."""
    fp.seek(0)
    head = fp.read(32)
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        w, h = struct.unpack(">II", head[16:24])
        return int(w), int(h)
    if head.startswith(b"\xff\xd8"):
        fp.seek(2)
        for _ in range(256):
            b = fp.read(4)
            if len(b) < 4 or b[0] != 0xFF:
                return None
            marker, length = b[1], struct.unpack(">H", b[2:])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                sof = fp.read(5)
                if len(sof) < 5:
                    return None
                h, w = struct.unpack(">HH", sof[1:5])
                return int(w), int(h)
            fp.seek(length - 2, os.SEEK_CUR)
    return None


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."
