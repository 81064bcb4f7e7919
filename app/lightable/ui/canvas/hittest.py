"""Which annotation is under a point, which lie inside a rectangle.

Candidates come from the spatial grid (a handful, whatever the total); the
exact test runs only on those: cv2.pointPolygonTest for polygons, the decoded
mask's pixel for masks, distance to points for keypoints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np
from PySide6.QtCore import QRectF

from lightable.ui.canvas.shapes import KIND_BOX, KIND_KPT, KIND_MASK, KIND_POLY

if TYPE_CHECKING:
    from lightable.ui.canvas.widget import CanvasWidget


def hit_test(
    canvas: CanvasWidget, x: float, y: float, tol: float, include_locked: bool = False
) -> int | None:
    """The topmost visible annotation at image point (x, y), within ``tol`` image px of its outline."""
    ov = canvas.overlay
    doc = canvas.document()
    if doc is None or not ov.visible:
        return None
    m = ov.model
    slots = m.query((x - tol, y - tol, x + tol, y + tol))
    if len(slots) == 0:
        return None
    keep = ~m.hidden[slots]
    if not include_locked:
        keep &= ~m.locked[slots]
    slots = slots[keep]
    # Topmost first: drawing order is (z, id), so the reverse of that.
    order = np.lexsort((m.ids[slots], m.z[slots]))[::-1]
    for s in slots[order].tolist():
        if _hits(canvas, s, x, y, tol):
            return int(m.ids[s])
    return None


def _hits(canvas: CanvasWidget, s: int, x: float, y: float, tol: float) -> bool:
    m = canvas.overlay.model
    kind = m.kind[s]
    if kind == KIND_BOX:
        x0, y0, x1, y1 = m.boxes[s]
        return bool(x0 - tol <= x <= x1 + tol and y0 - tol <= y <= y1 + tol)
    if kind == KIND_POLY:
        pts = m.xy[m.start[s] : m.start[s] + m.count[s]]
        conn = m.conn[m.start[s] : m.start[s] + m.count[s]]
        ends = np.flatnonzero(conn == 0)
        a = 0
        for e in ends.tolist():
            ring = pts[a : e + 1].astype(np.float32)
            a = e + 1
            if cv2.pointPolygonTest(ring, (float(x), float(y)), True) >= -tol:
                return True
        return False
    if kind == KIND_MASK:
        doc = canvas.document()
        if doc is None:
            return False
        try:
            mask = doc.mask_array(int(m.ids[s]))
        except Exception:
            return False
        h, w = mask.shape
        r = max(0, round(tol))
        xi, yi = int(x), int(y)
        y0, y1 = max(0, yi - r), min(h, yi + r + 1)
        x0, x1 = max(0, xi - r), min(w, xi + r + 1)
        return bool(y1 > y0 and x1 > x0 and mask[y0:y1, x0:x1].any())
    if kind == KIND_KPT:
        doc = canvas.document()
        a = doc.get(int(m.ids[s])) if doc is not None else None
        if a is None:
            return False
        pts = np.array([(px, py) for px, py, v in a.geometry.points if v > 0], np.float64)  # type: ignore[union-attr]
        if not len(pts):
            return False
        d = np.hypot(pts[:, 0] - x, pts[:, 1] - y)
        r = max(tol, 6.0 / max(canvas.zoom(), 1e-6))
        if (d <= r).any():
            return True
        x0, y0, x1, y1 = m.boxes[s]
        return bool(x0 <= x <= x1 and y0 <= y <= y1)
    return False


def ids_in_rect(canvas: CanvasWidget, r: QRectF, contained: bool = True) -> list[int]:
    """Visible, unlocked annotations inside (or, with ``contained=False``, touching) ``r``."""
    ov = canvas.overlay
    if canvas.document() is None or not ov.visible:
        return []
    m = ov.model
    rect = (r.left(), r.top(), r.right(), r.bottom())
    slots = m.query(rect)
    if len(slots) == 0:
        return []
    slots = slots[~m.hidden[slots] & ~m.locked[slots]]
    if contained:
        b = m.boxes[slots]
        inside = (
            (b[:, 0] >= rect[0])
            & (b[:, 1] >= rect[1])
            & (b[:, 2] <= rect[2])
            & (b[:, 3] <= rect[3])
        )
        slots = slots[inside]
    return [int(i) for i in m.ids[slots]]
