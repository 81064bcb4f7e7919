"""Decode image files to RGB, upright (EXIF orientation applied), safely.

``load_image(path, max_side=N)`` is the fast path for previews and thumbnails:
for JPEGs it asks libjpeg to decode at 1/2, 1/4 or 1/8 scale (Pillow's draft
mode), which is where most of the speed of thumbnailing comes from.
Every failure - damaged data, truncation, a decompression bomb, a vanished
file - becomes a ``BadInputError`` naming the file and the problem.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from lightable.core.errors import BadInputError
from lightable.imaging.probe import normalized_format, open_image, orientation_of

# EXIF orientation -> the transpose that makes the image upright.
_TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_HIGH_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, struct.error, zlib.error, EOFError)


def fit_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(w, h) scaled so that the longer side is ``max_side``; never enlarged."""
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def load_image(path: str | os.PathLike[str], max_side: int | None = None) -> Image.Image:
    """The image as upright RGB; with ``max_side``, its longer side is at most that."""
    path = Path(path)
    try:
        with open(path, "rb") as fp:
            im = open_image(path, fp)
            orientation = orientation_of(im)
            fmt = normalized_format(im)
            target: tuple[int, int] | None = None
            if max_side is not None:
                target = fit_size(*im.size, max_side)  # in stored (unrotated) orientation
                if fmt == "JPEG" and target != im.size:
                    # libjpeg picks the smallest 1/n scale still at least `target`.
                    im.draft("RGB", target)
            im.load()
    except BadInputError:
        raise
    except FileNotFoundError as exc:
        raise BadInputError(path, "file not found") from exc
    except PermissionError as exc:
        raise BadInputError(path, "permission denied") from exc
    except Image.DecompressionBombError as exc:
        raise BadInputError(path, f"refused: {exc}") from exc
    except MemoryError as exc:
        raise BadInputError(path, "not enough memory to decode this image") from exc
    except _DECODE_ERRORS as exc:
        raise BadInputError(path, _decode_reason(exc)) from exc

    im = to_rgb(im)
    if target is not None and im.size != target:
        # Draft mode already did the big reduction (or reducing_gap does a cheap
        # box reduction first); what is left is under 2x, where Pillow's
        # antialiased bilinear looks like bicubic at half the cost.
        im = im.resize(target, Image.Resampling.BILINEAR, reducing_gap=2.0)
    if (method := _TRANSPOSE.get(orientation)) is not None:
        im = im.transpose(method)
    return im


def load_array(path: str | os.PathLike[str], max_side: int | None = None) -> np.ndarray:
    """The image as an H x W x 3 uint8 array (upright RGB)."""
    return np.asarray(load_image(path, max_side))


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB, stretching 16-bit and float data to be visible."""
    if im.mode == "RGB":
        return im
    if im.mode in _HIGH_BIT_MODES:
        # 12/16-bit scans and depth maps rarely use the full range: stretch what is there.
        a = np.asarray(im, dtype=np.float32)
        finite = a[np.isfinite(a)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        scaled = np.nan_to_num((a - lo) * (255.0 / (hi - lo if hi > lo else 1.0)))
        return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8)).convert("RGB")
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")  # Pillow warns when going straight to RGB
    return im.convert("RGB")


def _decode_reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "truncated" in text or isinstance(exc, EOFError):
        return "truncated image data"
    if len(text) > 120:
        text = text[:117] + "..."
    return f"cannot decode ({text})"
