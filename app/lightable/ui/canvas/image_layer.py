"""Pixels on screen: a decoded image as a mip chain, drawn at the level that
matches the zoom, with an optional brightness/contrast look-up table.

Decoding happens on a worker thread (``ImageLoader``); the UI thread only wraps
ready numpy buffers in QImages. Drawing picks the mip level whose scale is the
smallest one still >= the zoom, so the smooth filter never shrinks by more than
2x (no aliasing) and never touches more pixels than it needs.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRectF, Signal
from PySide6.QtGui import QImage, QPainter

from lightable.ui.canvas.view import PIXEL_ZOOM, ViewTransform

# Images above either limit are shown through the tiled pyramid instead of a
# full decode (see lightable.imaging.pyramid).
HUGE_PIXELS = 50_000_000
HUGE_SIDE = 12_000
MIP_MIN_SIDE = 512


@dataclass(frozen=True, slots=True)
class Adjust:
    """Display-only brightness (-1..1, added) and contrast (gain around mid-grey)."""

    brightness: float = 0.0
    contrast: float = 1.0

    @property
    def identity(self) -> bool:
        return abs(self.brightness) < 1e-6 and abs(self.contrast - 1.0) < 1e-6

    def lut(self) -> np.ndarray:
        x = np.arange(256, dtype=np.float32)
        y = (x - 127.5) * self.contrast + 127.5 + self.brightness * 255.0
        return np.clip(np.rint(y), 0, 255).astype(np.uint8)


def bgra_lut(lut: np.ndarray) -> np.ndarray:
    """A 4-channel LUT for cv2.LUT that leaves alpha alone."""
    out = np.empty((1, 256, 4), np.uint8)
    out[0, :, 0] = lut
    out[0, :, 1] = lut
    out[0, :, 2] = lut
    out[0, :, 3] = np.arange(256, dtype=np.uint8)
    return out


def wrap_bgra(arr: np.ndarray) -> QImage:
    """A QImage sharing the memory of an H x W x 4 BGRA array (keep ``arr`` alive)."""
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_RGB32)


class FlatImage:
    """A fully decoded image: level 0 is full size, each next level half of it."""

    kind = "flat"

    def __init__(self, levels: list[np.ndarray]) -> None:
        self.levels = levels
        self.height, self.width = levels[0].shape[:2]
        self._qimages = [wrap_bgra(a) for a in levels]
        self._adjust = Adjust()
        self._adjusted: dict[int, tuple[np.ndarray, QImage]] = {}
        self._rgb: np.ndarray | None = None

    @classmethod
    def from_rgb(cls, rgb: np.ndarray) -> FlatImage:
        return cls(build_mips(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGRA)))

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.levels)

    def rgb_array(self) -> np.ndarray:
        if self._rgb is None:
            self._rgb = cv2.cvtColor(self.levels[0], cv2.COLOR_BGRA2RGB)
        return self._rgb

    def set_adjust(self, adjust: Adjust) -> None:
        if adjust != self._adjust:
            self._adjust = adjust
            self._adjusted.clear()

    def _level_image(self, k: int) -> QImage:
        if self._adjust.identity:
            return self._qimages[k]
        hit = self._adjusted.get(k)
        if hit is None:
            arr = cv2.LUT(self.levels[k], bgra_lut(self._adjust.lut()))
            hit = (arr, wrap_bgra(arr))
            self._adjusted[k] = hit
        return hit[1]

    def draw(self, painter: QPainter, view: ViewTransform, target: QRectF) -> bool:
        """Draw the part of the image inside ``target`` (widget coords). Always complete."""
        vis = view.rect_to_image(target).intersected(QRectF(0, 0, self.width, self.height))
        if vis.isEmpty():
            return True
        k = level_for_zoom(view.zoom, len(self.levels))
        scale = self.levels[k].shape[1] / self.width
        # Whole source pixels, so scaling never resamples a sliver differently per frame.
        x0 = math.floor(vis.left() * scale)
        y0 = math.floor(vis.top() * scale)
        x1 = min(self.levels[k].shape[1], math.ceil(vis.right() * scale))
        y1 = min(self.levels[k].shape[0], math.ceil(vis.bottom() * scale))
        src = QRectF(x0, y0, x1 - x0, y1 - y0)
        dst = view.rect_to_view(
            QRectF(x0 / scale, y0 / scale, (x1 - x0) / scale, (y1 - y0) / scale)
        )
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, view.zoom < PIXEL_ZOOM)
        painter.drawImage(dst, self._level_image(k), src)
        return True


def level_for_zoom(zoom: float, n_levels: int) -> int:
    """The coarsest mip level whose resolution is still >= the zoom."""
    if zoom >= 1.0:
        return 0
    k = math.floor(-math.log2(max(zoom, 1e-9)))
    return max(0, min(n_levels - 1, k))


def build_mips(level0: np.ndarray) -> list[np.ndarray]:
    levels = [level0]
    while max(levels[-1].shape[:2]) > MIP_MIN_SIDE * 2:
        prev = levels[-1]
        h, w = prev.shape[:2]
        levels.append(
            cv2.resize(prev, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
        )
    return levels


# -- loading -------------------------------------------------------------------------


def decode_flat(path: Path) -> FlatImage:
    bgr = decode_jpeg_fast(path)
    if bgr is not None:
        return FlatImage(build_mips(cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)))
    from lightable.imaging.decode import load_array

    return FlatImage.from_rgb(load_array(path))


# EXIF orientation -> the OpenCV operations that make the image upright (the same
# transposes imaging.decode applies through Pillow).
_ORIENT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: cv2.flip(a, 1),
    3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
    4: lambda a: cv2.flip(a, 0),
    5: cv2.transpose,
    6: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
    7: lambda a: cv2.flip(cv2.transpose(a), -1),
    8: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


def decode_jpeg_fast(path: Path) -> np.ndarray | None:
    """A complete 8-bit RGB or grey JPEG as upright BGR pixels, through OpenCV; None
    for anything else (the caller then takes imaging.decode's careful path).

    Why: Pillow's decode plus its copy into numpy holds the GIL for ~100 ms of a
    24 Mpx photo, so the canvas's decode worker and the UI thread loading the
    document slowed each other down; OpenCV decodes the same pixels (libjpeg-turbo)
    with the GIL released, ~3x faster. The header is still checked by Pillow
    (format, mode, size limits, EXIF orientation), and a file without its end
    marker (truncated) goes the careful way, which reports it.
    """
    from lightable.core.errors import BadInputError
    from lightable.imaging.probe import normalized_format, open_image, orientation_of

    try:
        with open(path, "rb") as fp:
            im = open_image(path, fp)
            if normalized_format(im) != "JPEG" or im.mode not in ("RGB", "L"):
                return None
            size = im.size
            orientation = orientation_of(im)
        raw = np.fromfile(path, np.uint8)
    except (OSError, BadInputError, ValueError):
        return None
    if len(raw) < 4 or bytes(raw[-4096:]).rfind(b"\xff\xd9") < 0:
        return None  # no end-of-image marker: truncated
    try:
        bgr = cv2.imdecode(raw, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    except cv2.error:
        return None
    if bgr is None or bgr.ndim != 3 or bgr.dtype != np.uint8:
        return None
    if (bgr.shape[1], bgr.shape[0]) != size:
        return None
    fix = _ORIENT.get(orientation)
    return fix(bgr) if fix is not None else bgr


class ImageLoader(QObject):
    """Decodes images on one worker thread; results come back as a queued signal.

    ``loaded(token, source, error)``: ``token`` is what ``load`` returned, so the
    canvas drops results for images it no longer shows. A small byte-bounded LRU
    keeps recent images, so going back and forth is instant.
    """

    loaded = Signal(object, object, object)

    def __init__(self, parent: QObject | None = None, cache_bytes: int = 256 * 1024**2) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="canvas-decode")
        self._cache: OrderedDict[str, FlatImage] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._lock = threading.Lock()
        self._token = 0
        self._pending: Future[object] | None = None
        self.pyramid_factory: Callable[[Path], object] | None = None

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def cached(self, path: Path) -> FlatImage | None:
        with self._lock:
            hit = self._cache.get(str(path))
            if hit is not None:
                self._cache.move_to_end(str(path))
            return hit

    def load(self, path: Path, width: int = 0, height: int = 0) -> int:
        """Start decoding ``path``; returns the token its ``loaded`` signal will carry."""
        self._token += 1
        token = self._token
        if self._pending is not None:
            self._pending.cancel()  # a queued decode nobody wants any more
        huge = width * height > HUGE_PIXELS or max(width, height) > HUGE_SIDE
        self._pending = self._pool.submit(self._work, token, path, huge)
        return token

    def _work(self, token: int, path: Path, huge: bool) -> None:
        if token != self._token:
            return  # superseded while queued
        try:
            if huge and self.pyramid_factory is not None:
                src: object = self.pyramid_factory(path)
            else:
                hit = self.cached(path)
                src = hit if hit is not None else decode_flat(path)
                if hit is None:
                    self._remember(path, src)  # type: ignore[arg-type]
        except Exception as exc:  # reported on the canvas, never raised into Qt
            self.loaded.emit(token, None, exc)
            return
        self.loaded.emit(token, src, None)

    def _remember(self, path: Path, img: FlatImage) -> None:
        with self._lock:
            self._cache[str(path)] = img
            total = sum(i.nbytes for i in self._cache.values())
            while total > self._cache_bytes and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                total -= old.nbytes
