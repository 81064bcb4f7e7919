"""Cursors drawn in code (crisp at any DPI, no image files): each says what a click will do."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QCursor, QPainter, QPainterPath, QPen, QPixmap

SIZE = 32


def _canvas() -> tuple[QPixmap, QPainter]:
    pm = QPixmap(SIZE, SIZE)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    return pm, p


def _stroke(p: QPainter, path: QPainterPath, width: float = 1.4) -> None:
    """Black halo under white: visible on any image."""
    p.strokePath(
        path,
        QPen(QColor(0, 0, 0, 220), width + 2.0, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap),
    )
    p.strokePath(
        path, QPen(QColor(255, 255, 255), width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    )


def _crosshair(p: QPainter, c: float = 16.0, arm: float = 7.0, gap: float = 2.5) -> None:
    path = QPainterPath()
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        path.moveTo(c + dx * gap, c + dy * gap)
        path.lineTo(c + dx * (gap + arm), c + dy * (gap + arm))
    _stroke(p, path)


@cache
def crosshair_cursor(badge: str = "") -> QCursor:
    """A thin crosshair with a small badge at the lower right: "rect", "poly", "kpt", "+", "-", "close"."""
    pm, p = _canvas()
    _crosshair(p)
    badge_path = QPainterPath()
    if badge == "rect":
        badge_path.addRect(QRectF(21, 21, 8, 6))
    elif badge == "poly":
        badge_path.moveTo(21, 28)
        badge_path.lineTo(24, 21)
        badge_path.lineTo(29, 24)
        badge_path.lineTo(27, 29)
        badge_path.closeSubpath()
    elif badge == "close":
        badge_path.addEllipse(QPointF(25, 25), 3.5, 3.5)
    elif badge == "kpt":
        badge_path.addEllipse(QPointF(25, 25), 2.5, 2.5)
        badge_path.moveTo(21, 25)
        badge_path.lineTo(19, 25)
    elif badge == "+":
        badge_path.moveTo(22, 25)
        badge_path.lineTo(28, 25)
        badge_path.moveTo(25, 22)
        badge_path.lineTo(25, 28)
    elif badge == "-":
        badge_path.moveTo(22, 25)
        badge_path.lineTo(28, 25)
    if not badge_path.isEmpty():
        _stroke(p, badge_path, 1.2)
    p.end()
    return QCursor(pm, 16, 16)


@cache
def zoom_cursor(out: bool = False) -> QCursor:
    pm, p = _canvas()
    path = QPainterPath()
    path.addEllipse(QPointF(13, 13), 8, 8)
    path.moveTo(19, 19)
    path.lineTo(27, 27)
    path.moveTo(9, 13)
    path.lineTo(17, 13)
    if not out:
        path.moveTo(13, 9)
        path.lineTo(13, 17)
    _stroke(p, path, 1.6)
    p.end()
    return QCursor(pm, 13, 13)


@cache
def arrow_badge_cursor(badge: str = "") -> QCursor:
    """The move/select arrow; badge "move" (drag shapes), "vertex" (drag a vertex), "+" (add)."""
    pm, p = _canvas()
    arrow = QPainterPath()
    arrow.moveTo(4, 3)
    arrow.lineTo(4, 22)
    arrow.lineTo(9, 17)
    arrow.lineTo(13, 25)
    arrow.lineTo(16, 24)
    arrow.lineTo(12, 16)
    arrow.lineTo(19, 16)
    arrow.closeSubpath()
    p.fillPath(arrow, QColor(255, 255, 255))
    p.strokePath(arrow, QPen(QColor(0, 0, 0), 1.2))
    b = QPainterPath()
    if badge == "move":
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            b.moveTo(24, 24)
            b.lineTo(24 + dx * 6, 24 + dy * 6)
    elif badge == "vertex":
        b.addRect(QRectF(21, 21, 6, 6))
    elif badge == "+":
        b.moveTo(21, 25)
        b.lineTo(29, 25)
        b.moveTo(25, 21)
        b.lineTo(25, 29)
    if not b.isEmpty():
        _stroke(p, b, 1.3)
    p.end()
    return QCursor(pm, 4, 3)
