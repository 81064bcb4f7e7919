"""Shapes other tools have and Lightable keeps as polygons: circles, ellipses and
rotated rectangles.

The reader turns such a shape into a ``Polygon`` and records its exact
parameters in the object's attributes (``shape`` plus the numbers); a writer for
a format that has the shape checks with ``*_matches`` that the polygon was not
edited since, and writes the original shape back. That keeps round trips exact
without a geometry type the rest of Lightable would have to learn.
"""

from __future__ import annotations

import math

from lightable.core.geometry import Polygon

# Vertices of a circle/ellipse approximation: smooth at full-HD sizes, few enough
# that the canvas does not care.
SEGMENTS = 64


def ellipse_polygon(
    cx: float, cy: float, rx: float, ry: float, rotation_deg: float = 0.0, n: int = SEGMENTS
) -> Polygon:
    """An ellipse centred on (cx, cy), rotated clockwise (image y points down)."""
    t = math.radians(rotation_deg)
    ct, st = math.cos(t), math.sin(t)
    pts = []
    for i in range(n):
        a = 2 * math.pi * i / n
        dx, dy = rx * math.cos(a), ry * math.sin(a)
        pts.append((cx + dx * ct - dy * st, cy + dx * st + dy * ct))
    return Polygon.from_points(pts)


def circle_polygon(cx: float, cy: float, r: float, n: int = SEGMENTS) -> Polygon:
    return ellipse_polygon(cx, cy, r, r, 0.0, n)


def ellipse_matches(
    poly: Polygon, cx: float, cy: float, rx: float, ry: float, rotation_deg: float = 0.0
) -> bool:
    """True when ``poly`` is still the approximation of that ellipse (not edited)."""
    if len(poly.rings) != 1 or len(poly.rings[0]) != 2 * SEGMENTS:
        return False
    ref = ellipse_polygon(cx, cy, rx, ry, rotation_deg).rings[0]
    tol = 1e-6 * max(1.0, abs(cx), abs(cy), abs(rx), abs(ry))
    return all(abs(a - b) <= tol for a, b in zip(poly.rings[0], ref, strict=True))


def rotated_rect_corners(
    x: float, y: float, w: float, h: float, rotation_deg: float, about_center: bool
) -> list[tuple[float, float]]:
    """Corners of a w x h rectangle whose unrotated top-left is (x, y), turned
    clockwise by ``rotation_deg`` about its centre (CVAT) or its top-left corner
    (Label Studio). Order: top-left, top-right, bottom-right, bottom-left."""
    t = math.radians(rotation_deg)
    ct, st = math.cos(t), math.sin(t)
    ox, oy = (x + w / 2, y + h / 2) if about_center else (x, y)
    out = []
    for px, py in ((x, y), (x + w, y), (x + w, y + h), (x, y + h)):
        dx, dy = px - ox, py - oy
        out.append((ox + dx * ct - dy * st, oy + dx * st + dy * ct))
    return out


def rect_from_corners(
    pts: list[tuple[float, float]], about_center: bool
) -> tuple[float, float, float, float, float] | None:
    """Inverse of ``rotated_rect_corners``: (x, y, w, h, rotation_deg), or None when the
    four points are not a rectangle."""
    if len(pts) != 4:
        return None
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = pts
    w = math.hypot(x1 - x0, y1 - y0)
    h = math.hypot(x3 - x0, y3 - y0)
    scale = max(1.0, w, h)
    # Opposite sides equal and parallel, adjacent sides perpendicular.
    if abs((x1 - x0) - (x2 - x3)) > 1e-6 * scale or abs((y1 - y0) - (y2 - y3)) > 1e-6 * scale:
        return None
    if abs((x1 - x0) * (x3 - x0) + (y1 - y0) * (y3 - y0)) > 1e-6 * scale * scale:
        return None
    rot = math.degrees(math.atan2(y1 - y0, x1 - x0)) % 360.0
    if about_center:
        cx, cy = (x0 + x2) / 2, (y0 + y2) / 2
        return (cx - w / 2, cy - h / 2, w, h, rot)
    return (x0, y0, w, h, rot)
