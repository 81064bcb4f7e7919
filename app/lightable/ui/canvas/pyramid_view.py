"""Drawing a huge image from its pyramid: the overview at once, then the visible
tiles of the level that matches the zoom, read on a worker thread.

Memory stays bounded: the overview (<= 2048 px) plus an LRU of converted tiles.
Tiles not loaded yet show the overview underneath (blurry for a moment, never
blank), and a frame never waits for the disk.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter

from lightable.imaging.pyramid import TILE, Pyramid
from lightable.ui.canvas.image_layer import Adjust, bgra_lut, wrap_bgra
from lightable.ui.canvas.view import PIXEL_ZOOM, ViewTransform

MAX_TILES = 160  # ~160 MB of BGRA tiles


class PyramidSource:
    kind = "pyramid"

    def __init__(self, pyramid: Pyramid) -> None:
        self.pyramid = pyramid
        self.width = pyramid.width
        self.height = pyramid.height
        self.revision = 0
        self.changed: Callable[[], None] | None = None  # set by the canvas; any thread
        self._adjust = Adjust()
        ov = pyramid.load_overview()
        self._overview_rgb = ov
        self._overview = cv2.cvtColor(ov, cv2.COLOR_RGB2BGRA)
        self._overview_q = wrap_bgra(self._overview)
        self._tiles: OrderedDict[tuple[int, int, int], tuple[np.ndarray, QImage]] = OrderedDict()
        self._wanted: set[tuple[int, int, int]] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pyramid-tiles")
        self._generation = 0
        pyramid.start_build(self._built)

    @property
    def full_ready(self) -> bool:
        return self.pyramid.ready

    @property
    def pending(self) -> bool:
        """Tiles requested and not arrived yet (the canvas repaints when they do)."""
        return False  # arrivals call ``changed``; no polling needed

    def _built(self) -> None:
        self.revision += 1
        if self.changed is not None:
            self.changed()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.pyramid.close()

    def rgb_array(self) -> np.ndarray | None:
        return None

    def set_adjust(self, adjust: Adjust) -> None:
        if adjust == self._adjust:
            return
        self._adjust = adjust
        base = cv2.cvtColor(self._overview_rgb, cv2.COLOR_RGB2BGRA)
        if not adjust.identity:
            base = cv2.LUT(base, bgra_lut(adjust.lut()))
        self._overview = base
        self._overview_q = wrap_bgra(base)
        with self._lock:
            self._tiles.clear()
            self._generation += 1
        self.revision += 1

    # -- drawing ---------------------------------------------------------------------------
    def draw(self, painter: QPainter, view: ViewTransform, target: QRectF) -> bool:
        vis = view.rect_to_image(target).intersected(QRectF(0, 0, self.width, self.height))
        if vis.isEmpty():
            return True
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, view.zoom < PIXEL_ZOOM)
        ow = self._overview.shape[1]
        s = ow / self.width
        painter.drawImage(
            view.rect_to_view(QRectF(0, 0, self.width, self.height)), self._overview_q
        )
        if not self.pyramid.ready or view.zoom <= s * 1.01:
            return True
        k = self.pyramid.level_for_zoom(view.zoom)
        scale = 2.0**-k  # level pixels per image pixel
        step = TILE / scale  # image pixels per tile
        tx0 = max(0, math.floor(vis.left() / step))
        ty0 = max(0, math.floor(vis.top() / step))
        tx1 = min(self.pyramid.levels[k].tiles_x - 1, math.floor(vis.right() / step))
        ty1 = min(self.pyramid.levels[k].tiles_y - 1, math.floor(vis.bottom() / step))
        complete = True
        for ty in range(ty0, ty1 + 1):
            for tx in range(tx0, tx1 + 1):
                key = (k, tx, ty)
                with self._lock:
                    hit = self._tiles.get(key)
                    if hit is not None:
                        self._tiles.move_to_end(key)
                if hit is None:
                    self._request(key)
                    complete = False
                    continue
                arr, img = hit
                r = QRectF(tx * step, ty * step, arr.shape[1] / scale, arr.shape[0] / scale)
                painter.drawImage(view.rect_to_view(r), img)
        return complete

    def _request(self, key: tuple[int, int, int]) -> None:
        with self._lock:
            if key in self._wanted:
                return
            self._wanted.add(key)
            gen = self._generation
        self._pool.submit(self._load, key, gen)

    def _load(self, key: tuple[int, int, int], gen: int) -> None:
        try:
            rgb = self.pyramid.read_tile(*key)
            bgra = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)
            if not self._adjust.identity:
                bgra = cv2.LUT(bgra, bgra_lut(self._adjust.lut()))
            img = wrap_bgra(bgra)
        except Exception:
            with self._lock:
                self._wanted.discard(key)
            return
        with self._lock:
            self._wanted.discard(key)
            if gen != self._generation:
                return
            self._tiles[key] = (bgra, img)
            while len(self._tiles) > MAX_TILES:
                self._tiles.popitem(last=False)
        self.revision += 1
        if self.changed is not None:
            self.changed()


def open_source(path: object, cache_dir: object) -> PyramidSource:
    from pathlib import Path

    from lightable.imaging.pyramid import open_pyramid

    return PyramidSource(open_pyramid(Path(str(path)), Path(str(cache_dir)) if cache_dir else None))
