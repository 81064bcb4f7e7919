"""The mask being painted: a numpy array plus colour overlays updated in place.

A brush stroke on a 6000 x 4000 mask must cost well under a frame per mouse
move, so nothing here is proportional to the mask: each segment stamps into
the rows it touches (``maskops.stamp_capsule``), saves the pre-stroke content
of the 128 x 128 blocks it touches for the first time (for the undo patch),
and recolours only that rectangle of the overlays.

Two overlays, both built lazily when first drawn and then kept up to date by
dirty rectangles:
- zoomed in (zoom >= 1): 256 x 256 ARGB tiles at full resolution, made only
  for tiles on screen that have content, drawn as crisp pixels;
- zoomed out: one reduced image per power-of-two level (coverage-averaged, so
  edges stay smooth), drawn with a single drawImage per frame.

At the end of a stroke ``end_stroke`` returns the union rectangle with its
before/after content: exactly what ``PaintMask`` stores.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter, QTransform

from lightable.core.geometry import Mask
from lightable.core.model import Annotation, LabelKind
from lightable.imaging import maskops
from lightable.imaging.maskops import Rect
from lightable.ui.canvas import painting
from lightable.ui.canvas.shapes import opacity_of

if TYPE_CHECKING:
    from lightable.core.document import ImageDocument

TILE = 256
BLOCK = 128  # granularity of the pre-stroke backup
MAX_LEVEL_STEP = 64
MAX_TILES_DRAWN = 64  # above this many tiles on screen a reduced level is drawn instead


def _argb_image(width: int, height: int) -> tuple[QImage, np.ndarray]:
    """A transparent premultiplied ARGB image and a writable uint32 view of its pixels."""
    img = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(0)
    stride = img.bytesPerLine() // 4
    view = np.frombuffer(img.bits(), np.uint32).reshape(height, stride)[:, :width]
    return img, view


def level_step(zoom: float) -> int:
    """1 (full-resolution tiles) when zoomed in, else the power of two at or below 1/zoom."""
    if zoom >= 1.0 or zoom <= 0:
        return 1
    return int(min(MAX_LEVEL_STEP, max(2, 2 ** math.floor(math.log2(1.0 / zoom)))))


class LiveMask:
    """A writable H x W uint8 0/1 mask with coloured overlays for drawing it live."""

    def __init__(self, height: int, width: int, color: QColor | str = "#ff0000") -> None:
        self.height = int(height)
        self.width = int(width)
        # calloc'd: untouched pages of a fresh 24 MB mask cost nothing.
        self.array = np.zeros((self.height, self.width), np.uint8)
        self.ann_id: int | None = None
        self.source_key: object = None  # what the array was loaded from (the Mask geometry)
        self._tiles: dict[tuple[int, int], tuple[QImage, np.ndarray]] = {}
        self._empty: set[tuple[int, int]] = set()  # tiles known to have no content
        self._levels: dict[int, tuple[QImage, np.ndarray]] = {}
        self._content: Rect | None = None  # covers every set pixel (may be larger)
        self._value = np.uint32(0)
        self._lut = np.zeros(256, np.uint32)  # coverage 0..255 -> premultiplied ARGB
        self._color = QColor(color)
        self._opacity = -1.0
        self.set_color(self._color)
        self._backup: dict[tuple[int, int], np.ndarray] | None = None
        self.stroke_rect: Rect | None = None

    # -- content --------------------------------------------------------------------
    def load(self, source: np.ndarray | None, key: object = None) -> None:
        """Replace the content with ``source`` (any memory order, 0/1)."""
        self._forget_overlays()
        self._backup = None
        self.stroke_rect = None
        self.source_key = key
        if source is None:
            self.array[:] = 0
            self._content = None
            return
        if source.shape != self.array.shape:
            raise ValueError(f"mask {source.shape} does not match {self.array.shape}")
        if source.flags.f_contiguous and not source.flags.c_contiguous:
            # The store keeps masks column-major (pycocotools); cv2 transposes ~10x faster than numpy.
            cv2.transpose(np.ascontiguousarray(source.T), dst=self.array)
        else:
            np.copyto(self.array, source)
        self._content = maskops.nonzero_rect(self.array)

    def is_empty(self) -> bool:
        return maskops.nonzero_rect(self.array) is None

    def _forget_overlays(self) -> None:
        self._tiles.clear()
        self._empty.clear()
        self._levels.clear()

    # -- colour ---------------------------------------------------------------------
    def set_color(self, color: QColor | str, opacity: float = 1.0) -> None:
        """Colour of set pixels; ``opacity`` is baked into the overlays (premultiplied)."""
        c = QColor(color)
        opacity = max(0.0, min(1.0, opacity))
        if c == self._color and opacity == self._opacity:
            return
        self._color, self._opacity = c, opacity
        a = opacity * c.alphaF()
        cov = np.arange(256, dtype=np.float64) / 255.0 * a
        lut = (
            (np.round(cov * 255).astype(np.uint32) << 24)
            | (np.round(cov * c.red()).astype(np.uint32) << 16)
            | (np.round(cov * c.green()).astype(np.uint32) << 8)
            | np.round(cov * c.blue()).astype(np.uint32)
        )
        self._lut = lut
        self._value = np.uint32(lut[255])
        self._forget_overlays()  # rebuilt lazily in the new colour

    def color(self) -> QColor:
        return QColor(self._color)

    # -- strokes --------------------------------------------------------------------
    def begin_stroke(self) -> None:
        self._backup = {}
        self.stroke_rect = None

    def in_stroke(self) -> bool:
        return self._backup is not None

    def stamp(
        self, ax: float, ay: float, bx: float, by: float, radius: float, value: int
    ) -> Rect | None:
        """Stamp a capsule (a brush segment); returns the rectangle redrawn."""
        rect = maskops.capsule_rect(ax, ay, bx, by, radius, self.width, self.height)
        if rect is None:
            return None
        self._save_blocks(rect)
        touched = maskops.stamp_capsule(self.array, ax, ay, bx, by, radius, value)
        if touched is None:
            return None
        self.stroke_rect = maskops.union_rect(self.stroke_rect, touched)
        self.refresh(touched)
        return touched

    def paste(self, x0: int, y0: int, patch: np.ndarray) -> Rect | None:
        """Write ``patch`` at (x0, y0) as part of the stroke."""
        ph, pw = patch.shape
        rect = maskops.clip_rect((x0, y0, x0 + pw, y0 + ph), self.width, self.height)
        if rect is None:
            return None
        self._save_blocks(rect)
        rx0, ry0, rx1, ry1 = rect
        self.array[ry0:ry1, rx0:rx1] = patch[ry0 - y0 : ry1 - y0, rx0 - x0 : rx1 - x0]
        self.stroke_rect = maskops.union_rect(self.stroke_rect, rect)
        self.refresh(rect)
        return rect

    def end_stroke(self) -> tuple[int, int, np.ndarray, np.ndarray] | None:
        """Finish the stroke: (x0, y0, before, after) of the changed rectangle, or None
        when no pixel changed. The rectangle is shrunk to the pixels that changed."""
        backup, self._backup = self._backup, None
        rect, self.stroke_rect = self.stroke_rect, None
        if backup is None or rect is None:
            return None
        x0, y0, x1, y1 = rect
        after = self.array[y0:y1, x0:x1].copy()
        before = after.copy()
        for (bx, by), block in backup.items():
            bx0, by0 = bx * BLOCK, by * BLOCK
            ix0, iy0 = max(x0, bx0), max(y0, by0)
            ix1, iy1 = min(x1, bx0 + block.shape[1]), min(y1, by0 + block.shape[0])
            if ix1 > ix0 and iy1 > iy0:
                before[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = block[
                    iy0 - by0 : iy1 - by0, ix0 - bx0 : ix1 - bx0
                ]
        changed = maskops.nonzero_rect((before != after).view(np.uint8))
        if changed is None:
            return None
        cx0, cy0, cx1, cy1 = changed
        return (
            x0 + cx0,
            y0 + cy0,
            np.ascontiguousarray(before[cy0:cy1, cx0:cx1]),
            np.ascontiguousarray(after[cy0:cy1, cx0:cx1]),
        )

    def cancel_stroke(self) -> None:
        """Put back what the stroke changed."""
        backup, self._backup = self._backup, None
        rect, self.stroke_rect = self.stroke_rect, None
        if not backup:
            return
        for (bx, by), block in backup.items():
            bx0, by0 = bx * BLOCK, by * BLOCK
            self.array[by0 : by0 + block.shape[0], bx0 : bx0 + block.shape[1]] = block
        if rect is not None:
            self.refresh(rect)

    def _save_blocks(self, rect: Rect) -> None:
        if self._backup is None:
            return
        x0, y0, x1, y1 = rect
        for by in range(y0 // BLOCK, (y1 - 1) // BLOCK + 1):
            for bx in range(x0 // BLOCK, (x1 - 1) // BLOCK + 1):
                if (bx, by) not in self._backup:
                    self._backup[(bx, by)] = self.array[
                        by * BLOCK : (by + 1) * BLOCK, bx * BLOCK : (bx + 1) * BLOCK
                    ].copy()

    # -- overlays -------------------------------------------------------------------
    def refresh(self, rect: Rect) -> None:
        """Recolour the overlays that exist inside ``rect`` from the array."""
        self._content = maskops.union_rect(self._content, rect)
        x0, y0, x1, y1 = rect
        for ty in range(y0 // TILE, (y1 - 1) // TILE + 1):
            for tx in range(x0 // TILE, (x1 - 1) // TILE + 1):
                key = (tx, ty)
                self._empty.discard(key)
                tile = self._tiles.get(key)
                if tile is not None:
                    self._paint_tile(key, tile[1], rect)
        for step, (_img, view) in self._levels.items():
            self._paint_level(step, view, rect)

    def _tile(self, key: tuple[int, int]) -> QImage | None:
        """The full-resolution tile ``key``, made on first use; None where the mask is empty."""
        tile = self._tiles.get(key)
        if tile is not None:
            return tile[0]
        if key in self._empty:
            return None
        tx0, ty0 = key[0] * TILE, key[1] * TILE
        if not self.array[ty0 : ty0 + TILE, tx0 : tx0 + TILE].any():
            self._empty.add(key)
            return None
        img, view = _argb_image(TILE, TILE)
        self._tiles[key] = (img, view)
        self._paint_tile(key, view)
        return img

    def _paint_tile(self, key: tuple[int, int], view: np.ndarray, rect: Rect | None = None) -> None:
        tx0, ty0 = key[0] * TILE, key[1] * TILE
        x0, y0 = tx0, ty0
        x1, y1 = min(tx0 + TILE, self.width), min(ty0 + TILE, self.height)
        if rect is not None:
            x0, y0 = max(x0, rect[0]), max(y0, rect[1])
            x1, y1 = min(x1, rect[2]), min(y1, rect[3])
        if x1 <= x0 or y1 <= y0:
            return
        # 0/1 times the colour: one vectorised multiply (a lookup table is ~10x slower).
        np.multiply(
            self.array[y0:y1, x0:x1],
            self._value,
            out=view[y0 - ty0 : y1 - ty0, x0 - tx0 : x1 - tx0],
            dtype=np.uint32,
        )

    def _level(self, step: int) -> QImage:
        """The whole mask reduced ``step`` times (pixel = coverage of its block), made on first use."""
        hit = self._levels.get(step)
        if hit is None:
            img, view = _argb_image(-(-self.width // step), -(-self.height // step))
            if self._content is not None:  # outside it the level stays transparent
                self._paint_level(step, view, self._content)
            hit = self._levels[step] = (img, view)
        return hit[0]

    def _paint_level(self, step: int, view: np.ndarray, rect: Rect) -> None:
        s = step
        x0, y0 = rect[0] // s * s, rect[1] // s * s
        x1, y1 = -(-rect[2] // s) * s, -(-rect[3] // s) * s
        region = self.array[y0 : min(y1, self.height), x0 : min(x1, self.width)]
        if region.size == 0:
            return
        if region.shape != (y1 - y0, x1 - x0):  # a partial block at the right or bottom edge
            padded = np.zeros((y1 - y0, x1 - x0), np.uint8)
            padded[: region.shape[0], : region.shape[1]] = region
            region = padded
        scaled = np.multiply(region, 255, dtype=np.uint8)
        cover = cv2.resize(scaled, ((x1 - x0) // s, (y1 - y0) // s), interpolation=cv2.INTER_AREA)
        view[y0 // s : y1 // s, x0 // s : x1 // s] = self._lut[cover]

    def tile_count(self) -> int:
        return len(self._tiles)

    def paint(self, p: QPainter, to_view: QTransform, visible: QRectF | None = None) -> None:
        """Draw the mask (``to_view``: image -> widget); ``visible`` limits the tiles drawn."""
        zoom = to_view.m11()
        step = level_step(zoom)
        area = visible if visible is not None else QRectF(0, 0, self.width, self.height)
        if step == 2 and (area.width() / TILE + 1) * (area.height() / TILE + 1) <= MAX_TILES_DRAWN:
            step = 1  # just under 100%: few tiles on screen, keep full resolution
        p.save()
        p.setTransform(to_view, False)
        if step > 1:
            img = self._level(step)
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            p.drawImage(QRectF(0, 0, img.width() * step, img.height() * step), img)
            p.restore()
            return
        # Crisp pixels when zoomed in (single-pixel edits); only the tiles on screen.
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        vx0 = max(0, math.floor(area.left() / TILE))
        vy0 = max(0, math.floor(area.top() / TILE))
        vx1 = min((self.width - 1) // TILE, math.floor(area.right() / TILE))
        vy1 = min((self.height - 1) // TILE, math.floor(area.bottom() / TILE))
        for ty in range(vy0, vy1 + 1):
            for tx in range(vx0, vx1 + 1):
                img = self._tile((tx, ty))
                if img is None:
                    continue
                w = min(TILE, self.width - tx * TILE)
                h = min(TILE, self.height - ty * TILE)
                p.drawImage(QRectF(tx * TILE, ty * TILE, w, h), img, QRectF(0, 0, w, h))
        p.restore()


# -- what raster tools paint into -------------------------------------------------------


def mask_opacity(canvas: Any, ann: Annotation | None = None) -> float:
    """The opacity the canvas draws the committed mask ``ann`` with (None: a new
    object), so the live mask matches it; the rule lives in painting.mask_opacity."""
    fill = float(getattr(canvas, "fill_opacity", lambda: 0.3)())
    return painting.mask_opacity(fill, opacity_of(ann.attributes) if ann is not None else 1.0)


def label_color(doc: ImageDocument, label_id: int | None) -> QColor:
    lb = doc.labels.get(label_id) if label_id is not None else None
    return QColor(lb.color if lb is not None else "#9aa0a6")


def drawing_label(canvas: Any, doc: ImageDocument) -> int | None:
    """The label new objects get: the active one, else the first that takes regions."""
    active = canvas.active_label_id()
    if active is not None and active in doc.labels:
        return int(active)
    for lb in sorted(doc.labels.values(), key=lambda lb: (lb.position, lb.id or 0)):
        if lb.kind in (LabelKind.MASK, LabelKind.POLYGON, LabelKind.ANY):
            return lb.id
    return None


def selected_region_target(
    doc: ImageDocument, kinds: tuple[type, ...] = (Mask,)
) -> Annotation | None:
    """The selected annotation a raster tool edits: the topmost selected one of ``kinds``."""
    sel = doc.selected()
    if not sel:
        return None
    for a in reversed(doc.annotations()):
        if a.id in sel and isinstance(a.geometry, kinds):
            return a
    return None


def class_mask(doc: ImageDocument, label_id: int) -> Annotation | None:
    """Per-class mode: the (topmost) mask annotation of ``label_id`` on this image."""
    for a in reversed(doc.annotations()):
        if a.label_id == label_id and isinstance(a.geometry, Mask):
            return a
    return None
