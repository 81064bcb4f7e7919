"""Drawing helpers shared by the overlay and the tools: paths from arrays,
handles, one geometry live, keypoint skeletons, mask sprites."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
from pyqtgraph import functions as fn
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen, QPolygonF

from lightable.core.geometry import Box, Geometry, Keypoints, Mask, Polygon
from lightable.ui.canvas.view import ViewTransform

if TYPE_CHECKING:
    from lightable.core.document import ImageDocument

HANDLE_PX = 7.0
MIN_MASK_OPACITY = 0.15


def mask_opacity(fill_opacity: float, object_opacity: float = 1.0) -> float:
    """How opaque a mask is drawn, committed (overlay) and live (raster tools) alike.

    Masks have no outline to carry them at a low fill opacity, so they are drawn
    stronger than box and polygon fills (x1.6) and never fainter than 15%; the
    object's own opacity (``attributes["_opacity"]``, 0 hides it) scales the result.
    """
    base = max(MIN_MASK_OPACITY, min(1.0, fill_opacity * 1.6))
    return base * max(0.0, min(1.0, object_opacity))


def qpolygonf(xy: np.ndarray) -> QPolygonF:
    """A QPolygonF filled from an N x 2 float array in one copy."""
    poly = fn.create_qpolygonf(len(xy))
    if len(xy):
        fn.ndarray_from_qpolygonf(poly)[:] = xy
    return poly


def path_from(xy: np.ndarray, conn: np.ndarray) -> QPainterPath:
    if len(xy) == 0:
        return QPainterPath()
    path = fn.arrayToQPath(xy[:, 0], xy[:, 1], connect=conn.astype(np.int32), finiteCheck=False)
    path.setFillRule(Qt.FillRule.WindingFill)
    return path


def geometry_path(g: Geometry) -> QPainterPath:
    """A path for one geometry (live previews; committed shapes go through ShapeModel)."""
    from lightable.ui.canvas.shapes import ring_arrays

    r = ring_arrays(g)
    if r is None:
        return QPainterPath()
    return path_from(*r)


@dataclass(slots=True)
class MaskSprite:
    """A mask drawn as a coloured image of its bounding box, plus its outline."""

    image: QImage
    pixels: np.ndarray  # the buffer the QImage uses (kept alive here; may be larger)
    x0: int
    y0: int
    outline: QPainterPath  # image coordinates


class MaskCache:
    """Mask sprites per (id, version, colour): decoded and coloured once, drawn many times."""

    def __init__(self, max_bytes: int = 256 * 1024**2) -> None:
        self._items: OrderedDict[tuple[int, int, int], MaskSprite] = OrderedDict()
        self._bytes = 0
        self.max_bytes = max_bytes
        self._scratch = np.zeros(0, np.uint8)  # the row-major crop, reused between renders

    def get(self, doc: ImageDocument, ann_id: int, color: QColor) -> MaskSprite | None:
        a = doc.get(ann_id)
        if a is None or not isinstance(a.geometry, Mask):
            return None
        key = (ann_id, a.version, color.rgba())
        hit = self._items.get(key)
        if hit is None:
            # Older versions of this mask are stale for good (an undo makes a new
            # version too): drop them, and paint into one's pixels when big enough
            # (fresh memory costs page faults: several times the colouring itself
            # on a 13 Mpx mask, so a stroke's re-render reuses the previous buffer).
            spare = None
            for k in [k for k in self._items if k[0] == ann_id]:
                old = self._items.pop(k)
                self._bytes -= old.pixels.nbytes
                spare = old.pixels
            hit = self._render(doc, ann_id, a.geometry, color, spare)
            if hit is None:
                return None
            self._items[key] = hit
            self._bytes += hit.pixels.nbytes
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.pixels.nbytes
        else:
            self._items.move_to_end(key)
        return hit

    def _render(
        self,
        doc: ImageDocument,
        ann_id: int,
        m: Mask,
        color: QColor,
        spare: np.ndarray | None = None,
    ) -> MaskSprite | None:
        try:
            x, y, w, h = m.bbox()
        except Exception:
            x, y, w, h = 0.0, 0.0, float(m.width), float(m.height)
        if w <= 0 or h <= 0:
            return None
        x0, y0 = math.floor(x), math.floor(y)
        x1, y1 = math.ceil(x + w), math.ceil(y + h)
        try:
            full = doc.mask_array(ann_id)
        except Exception:
            from lightable.imaging.masks import decode

            full = decode(m)
        crop = self._crop_rows(full, x0, y0, x1, y1)
        # 0/1 times one packed BGRA pixel (opaque: the opacity is applied when drawing):
        # a single vectorised multiply into the image's memory. Boolean-mask indexing
        # took 0.5-1.9 s on a 3000 x 4400 mask, this ~10 ms.
        packed = np.uint32(color.rgb() | 0xFF000000)
        need = crop.size
        if spare is not None and need <= spare.size <= 4 * need:
            buf = spare
        else:
            buf = np.empty(need, np.uint32)
        out = buf[:need].reshape(crop.shape)
        np.multiply(crop, packed, out=out, dtype=np.uint32)
        img = QImage(
            out.data,
            out.shape[1],
            out.shape[0],
            out.strides[0],
            QImage.Format.Format_ARGB32_Premultiplied,
        )
        # Outline along pixel edges' centres, so a mask reads as a shape at any opacity.
        contours, _ = cv2.findContours(crop, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        outline = QPainterPath()
        parts = [
            c.reshape(-1, 2).astype(np.float64) + np.array([x0 + 0.5, y0 + 0.5])
            for c in contours
            if len(c) >= 2
        ]
        if parts:
            xy = np.vstack([np.vstack([c, c[:1]]) for c in parts])
            conn = np.concatenate([np.r_[np.ones(len(c), np.uint8), 0] for c in parts])
            outline = path_from(xy, conn)
        return MaskSprite(img, buf, x0, y0, outline)

    def _crop_rows(self, full: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """``full[y0:y1, x0:x1]`` as a row-major uint8 array (valid until the next call).

        The store caches masks column-major (pycocotools); cv2 transposes those
        ~3-10x faster than numpy's strided copy, into a reused buffer.
        """
        crop = full[y0:y1, x0:x1]
        if crop.dtype == np.uint8 and crop.flags.c_contiguous:
            return crop
        h, w = crop.shape
        if self._scratch.size < h * w:
            self._scratch = np.empty(h * w, np.uint8)
        dst = self._scratch[: h * w].reshape(h, w)
        if full.dtype == np.uint8 and full.flags.f_contiguous:
            dst = cv2.transpose(full.T[x0:x1, y0:y1], dst=dst)
        else:
            np.copyto(dst, crop, casting="unsafe")
        return dst


# -- drawing helpers shared with tools ------------------------------------------------


def box_handles(b: np.ndarray | tuple[float, float, float, float]) -> np.ndarray:
    """The 8 handles of a box (x0, y0, x1, y1): corners then edge midpoints, in
    the order nw, ne, se, sw, n, e, s, w."""
    x0, y0, x1, y1 = (float(v) for v in b)
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    return np.array(
        [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [xm, y0], [x1, ym], [xm, y1], [x0, ym]], np.float64
    )


def draw_handles(
    p: QPainter, view: ViewTransform, pts: np.ndarray, active: int | None = None
) -> None:
    """Square handles of a fixed screen size at image points ``pts``."""
    p.save()
    p.resetTransform()
    p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    v = pts * view.zoom + np.array([view.ox, view.oy])
    h = HANDLE_PX
    p.setPen(QPen(QColor(15, 15, 18), 1.0))
    p.setBrush(QBrush(QColor(255, 255, 255)))
    for i, (x, y) in enumerate(v.tolist()):
        if active is not None and i == active:
            p.setBrush(QBrush(QColor("#3d8bfd")))
            p.drawRect(QRectF(x - h / 2 - 1, y - h / 2 - 1, h + 2, h + 2))
            p.setBrush(QBrush(QColor(255, 255, 255)))
        else:
            p.drawRect(QRectF(x - h / 2, y - h / 2, h, h))
    p.restore()


def draw_geometry(
    p: QPainter,
    g: Geometry,
    color: QColor,
    opacity: float,
    z: float,
    doc: ImageDocument | None = None,
    label_id: int | None = None,
    object_opacity: float = 1.0,
) -> None:
    """Draw one geometry live (painter in image coordinates); ``opacity`` is the fill's,
    ``object_opacity`` the object's own (``attributes["_opacity"]``), scaling all of it."""
    obj = max(0.0, min(1.0, object_opacity))
    color = QColor(color)
    color.setAlphaF(color.alphaF() * obj)
    if isinstance(g, Box | Polygon):
        path = geometry_path(g)
        fill = QColor(color)
        fill.setAlpha(round(opacity * obj * 255))
        p.fillPath(path, fill)
        pen = QPen(color, 1.8)
        pen.setCosmetic(True)
        p.strokePath(path, pen)
    elif isinstance(g, Keypoints):
        edges: list[tuple[int, int]] = []
        if doc is not None and label_id is not None:
            lb = doc.labels.get(label_id)
            if lb is not None and lb.skeleton is not None:
                edges = list(lb.skeleton.edges)
        draw_keypoints(p, g, edges, color, z)
    elif isinstance(g, Mask):
        try:
            x, y, w, h = g.bbox()
        except Exception:
            return
        pen = QPen(color, 1.5)
        pen.setCosmetic(True)
        pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(QRectF(x, y, w, h))


def draw_keypoints(
    p: QPainter, kp: Keypoints, edges: Iterable[tuple[int, int]], color: QColor, z: float
) -> None:
    """Skeleton edges between labeled points, visible points filled, hidden (v=1) hollow."""
    pts = np.array([(x, y) for x, y, _ in kp.points], np.float64).reshape(-1, 2)
    vis = np.array([v for _, _, v in kp.points], np.int64)
    segs = [
        (pts[a], pts[b])
        for a, b in edges
        if a < len(vis) and b < len(vis) and vis[a] > 0 and vis[b] > 0
    ]
    p.save()
    if segs:
        xy = np.array([c for s in segs for c in s], np.float64)
        path = fn.arrayToQPath(xy[:, 0], xy[:, 1], connect="pairs")
        pen = QPen(color, 2.0)
        pen.setCosmetic(True)
        p.strokePath(path, pen)
    # Points in widget pixels: a fixed size whatever the zoom.
    t = p.transform()
    p.resetTransform()
    for v_code, fill in ((2, True), (1, False)):
        sel = pts[vis == v_code]
        if not len(sel):
            continue
        for x, y in sel.tolist():
            c = t.map(QPointF(x, y))
            if fill:
                p.setPen(QPen(QColor(15, 15, 18), 1.2))
                p.setBrush(color)
            else:
                p.setPen(QPen(color, 2.0))
                p.setBrush(QColor(15, 15, 18, 160))
            p.drawEllipse(c, 4.0, 4.0)
    p.restore()
