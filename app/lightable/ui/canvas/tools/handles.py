"""Edit handles of selected shapes: box corners/edges and polygon vertices.

Shared by the move tool and the drawing tools (a selected box can be resized
with the rectangle tool too). Positions come from the document's geometry
(the original vertex order), distances are measured in widget pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF

from lightable.core.geometry import Box, Geometry, Polygon
from lightable.ui.canvas.painting import HANDLE_PX, box_handles

if TYPE_CHECKING:
    from lightable.ui.canvas.widget import CanvasWidget

GRAB_PX = HANDLE_PX / 2 + 3
MAX_SELECTION = 64  # handles are shown (and grabbed) for at most this many shapes


@dataclass(frozen=True, slots=True)
class Handle:
    ann_id: int
    kind: str  # "box" or "vertex"
    index: int  # box: 0..7 (nw ne se sw n e s w); vertex: index within ring
    ring: int = 0


def find_handle(canvas: CanvasWidget, view_pos: QPointF) -> Handle | None:
    doc = canvas.document()
    if doc is None:
        return None
    sel = doc.selected()
    if not sel or len(sel) > MAX_SELECTION:
        return None
    best: tuple[float, Handle] | None = None
    v = canvas.view()
    for ann_id in sel:
        a = doc.get(ann_id)
        if a is None or a.locked or a.hidden:
            continue
        g = a.geometry
        cands: list[tuple[np.ndarray, str, int]] = []
        if isinstance(g, Box):
            cands.append((box_handles((g.x, g.y, g.x2, g.y2)), "box", 0))
        elif isinstance(g, Polygon):
            for r, ring in enumerate(g.rings):
                cands.append((np.asarray(ring, np.float64).reshape(-1, 2), "vertex", r))
        for pts, kind, ring_i in cands:
            vx = pts[:, 0] * v.zoom + v.ox - view_pos.x()
            vy = pts[:, 1] * v.zoom + v.oy - view_pos.y()
            d = np.hypot(vx, vy)
            k = int(np.argmin(d))
            if d[k] <= GRAB_PX and (best is None or d[k] < best[0]):
                best = (float(d[k]), Handle(ann_id, kind, k, ring_i))
    return best[1] if best else None


def reshape(g: Geometry, h: Handle, x: float, y: float, square: bool = False) -> Geometry:
    """``g`` with handle ``h`` dragged to image point (x, y)."""
    if h.kind == "box" and isinstance(g, Box):
        x0, y0, x1, y1 = g.x, g.y, g.x2, g.y2
        i = h.index
        if i in (0, 3, 7):
            x0 = x
        if i in (1, 2, 5):
            x1 = x
        if i in (0, 1, 4):
            y0 = y
        if i in (2, 3, 6):
            y1 = y
        if square and i < 4:
            # Keep the opposite corner fixed and make the box square.
            ax = g.x2 if i in (0, 3) else g.x
            ay = g.y2 if i in (0, 1) else g.y
            side = max(abs(x - ax), abs(y - ay))
            x0, x1 = (ax - side, ax) if x < ax else (ax, ax + side)
            y0, y1 = (ay - side, ay) if y < ay else (ay, ay + side)
        return Box.from_corners(x0, y0, x1, y1)
    if h.kind == "vertex" and isinstance(g, Polygon):
        rings = [list(r) for r in g.rings]
        rings[h.ring][2 * h.index] = x
        rings[h.ring][2 * h.index + 1] = y
        return Polygon(tuple(tuple(r) for r in rings))
    return g


def delete_vertex(g: Polygon, ring: int, index: int) -> Polygon | None:
    """``g`` without one vertex, or None when the ring would drop below 3 points."""
    r = list(g.rings[ring])
    if len(r) // 2 <= 3:
        return None
    del r[2 * index : 2 * index + 2]
    rings = list(g.rings)
    rings[ring] = tuple(r)
    return Polygon(tuple(rings))


def nearest_edge(g: Polygon, x: float, y: float) -> tuple[int, int, float, float, float] | None:
    """(ring, insert index, px, py, distance) of the point on ``g``'s outline nearest (x, y)."""
    best = None
    for r, ring in enumerate(g.rings):
        pts = np.asarray(ring, np.float64).reshape(-1, 2)
        a = pts
        b = np.roll(pts, -1, axis=0)
        ab = b - a
        L2 = np.maximum((ab**2).sum(1), 1e-12)
        t = np.clip(((x - a[:, 0]) * ab[:, 0] + (y - a[:, 1]) * ab[:, 1]) / L2, 0, 1)
        px = a[:, 0] + t * ab[:, 0]
        py = a[:, 1] + t * ab[:, 1]
        d = np.hypot(px - x, py - y)
        k = int(np.argmin(d))
        if best is None or d[k] < best[4]:
            best = (r, k + 1, float(px[k]), float(py[k]), float(d[k]))
    return best


def insert_vertex(g: Polygon, ring: int, index: int, x: float, y: float) -> Polygon:
    r = list(g.rings[ring])
    r[2 * index : 2 * index] = [x, y]
    rings = list(g.rings)
    rings[ring] = tuple(r)
    return Polygon(tuple(rings))


def clamp_point(canvas: CanvasWidget, x: float, y: float) -> tuple[float, float]:
    """Inside the image, rounded to 1/100 px (no float noise in the store)."""
    w, h = canvas.image_size()
    if w and h:
        x = min(max(x, 0.0), float(w))
        y = min(max(y, 0.0), float(h))
    return round(x, 2), round(y, 2)


def distance(a: QPointF, b: QPointF) -> float:
    return math.hypot(a.x() - b.x(), a.y() - b.y())
