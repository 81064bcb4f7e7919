"""The view transform: widget = image * zoom + offset.

The canvas keeps an exact (float) transform for zoom anchoring and draws and
maps through its ``snapped`` copy, whose offset is on whole widget pixels, so
the cached image and overlay tiles land exactly on the pixel grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QTransform

MIN_ZOOM = 0.002
MAX_ZOOM = 64.0
# Past this zoom pixels are drawn as squares (nearest neighbour) so single
# pixels can be labeled; below it images are filtered smoothly.
PIXEL_ZOOM = 4.0


@dataclass(slots=True)
class ViewTransform:
    zoom: float = 1.0
    ox: float = 0.0  # widget x of image x = 0
    oy: float = 0.0

    def to_view(self, x: float, y: float) -> tuple[float, float]:
        return x * self.zoom + self.ox, y * self.zoom + self.oy

    def to_image(self, x: float, y: float) -> tuple[float, float]:
        return (x - self.ox) / self.zoom, (y - self.oy) / self.zoom

    def point_to_view(self, p: QPointF) -> QPointF:
        return QPointF(p.x() * self.zoom + self.ox, p.y() * self.zoom + self.oy)

    def point_to_image(self, p: QPointF) -> QPointF:
        return QPointF((p.x() - self.ox) / self.zoom, (p.y() - self.oy) / self.zoom)

    def rect_to_view(self, r: QRectF) -> QRectF:
        return QRectF(
            r.x() * self.zoom + self.ox,
            r.y() * self.zoom + self.oy,
            r.width() * self.zoom,
            r.height() * self.zoom,
        )

    def rect_to_image(self, r: QRectF) -> QRectF:
        z = self.zoom
        return QRectF((r.x() - self.ox) / z, (r.y() - self.oy) / z, r.width() / z, r.height() / z)

    def qtransform(self) -> QTransform:
        """Image -> widget, for QPainter.setTransform."""
        return QTransform(self.zoom, 0, 0, self.zoom, self.ox, self.oy)

    def snapped(self) -> ViewTransform:
        return ViewTransform(self.zoom, float(round(self.ox)), float(round(self.oy)))


def clamp_zoom(z: float) -> float:
    if not math.isfinite(z) or z <= 0:
        return 1.0
    return min(MAX_ZOOM, max(MIN_ZOOM, z))


def fit_transform(
    img_w: int, img_h: int, view_w: int, view_h: int, margin: int = 8
) -> ViewTransform:
    """The transform that shows the whole image centred in the widget."""
    if img_w <= 0 or img_h <= 0 or view_w <= 0 or view_h <= 0:
        return ViewTransform()
    aw = max(1, view_w - 2 * margin)
    ah = max(1, view_h - 2 * margin)
    z = clamp_zoom(min(aw / img_w, ah / img_h))
    return centred(img_w, img_h, view_w, view_h, z)


def centred(img_w: int, img_h: int, view_w: int, view_h: int, z: float) -> ViewTransform:
    return ViewTransform(z, (view_w - img_w * z) / 2, (view_h - img_h * z) / 2)


def zoom_about(v: ViewTransform, new_zoom: float, ax: float, ay: float) -> ViewTransform:
    """Zoom keeping the image point under widget point (ax, ay) where it is."""
    new_zoom = clamp_zoom(new_zoom)
    ix, iy = v.to_image(ax, ay)
    return ViewTransform(new_zoom, ax - ix * new_zoom, ay - iy * new_zoom)
