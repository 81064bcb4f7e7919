"""Polygon (P): click vertices, or hold the button and drag to trace.

Enter, a double-click or a click on the first vertex closes the polygon;
Backspace removes the last vertex; Esc abandons the draft. The draft is an
immutable list of points until it is committed as one AddAnnotation.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QCursor, QKeyEvent, QPainter, QPainterPath, QPen

from lightable.core.commands import AddAnnotation
from lightable.core.geometry import Polygon
from lightable.core.model import Annotation
from lightable.ui.canvas.tools import handles as hd
from lightable.ui.canvas.tools.base import Tool, ToolEvent
from lightable.ui.canvas.tools.cursors import crosshair_cursor

CLOSE_PX = 8.0  # a click this close to the first vertex closes the polygon
TRACE_PX = 4.0  # a held drag adds a vertex every this many widget pixels
DRAG_PX = 4.0


class PolygonTool(Tool):
    name = "polygon"
    key = "P"
    label = "Polygon"
    tip = "Click vertices or drag to trace; Enter/double-click/first vertex closes; Backspace undoes a vertex"

    def __init__(self, canvas) -> None:  # type: ignore[no-untyped-def]
        super().__init__(canvas)
        self.points: list[tuple[float, float]] = []
        self._cursor_pos: QPointF | None = None  # image coords, for the rubber-band segment
        self._press_view: QPointF | None = None
        self._tracing = False
        self._last_trace_view: QPointF | None = None
        self._near_first = False

    def cursor(self) -> QCursor:
        return crosshair_cursor("close" if self._near_first else "poly")

    # -- mouse --------------------------------------------------------------------------
    def press(self, ev: ToolEvent) -> None:
        if ev.button != Qt.MouseButton.LeftButton or self.canvas.document() is None:
            return
        if len(self.points) >= 3 and self._is_near_first(ev.view_pos):
            self.commit()
            return
        self._add(ev.pos)
        self._press_view = ev.view_pos
        self._last_trace_view = ev.view_pos
        self._tracing = False
        self.update()

    def move(self, ev: ToolEvent) -> None:
        self._cursor_pos = ev.pos
        if self._press_view is not None and ev.buttons & Qt.MouseButton.LeftButton:
            if not self._tracing and hd.distance(ev.view_pos, self._press_view) >= DRAG_PX:
                self._tracing = True
            if (
                self._tracing
                and self._last_trace_view is not None
                and hd.distance(ev.view_pos, self._last_trace_view) >= TRACE_PX
            ):
                self._add(ev.pos)
                self._last_trace_view = ev.view_pos
        self._set_near_first(ev.view_pos)
        self.update()

    def hover(self, ev: ToolEvent) -> None:
        self._cursor_pos = ev.pos
        self._set_near_first(ev.view_pos)
        if self.points:
            self.update()

    def release(self, ev: ToolEvent) -> None:
        if ev.button != Qt.MouseButton.LeftButton:
            return
        if self._tracing:
            self._add(ev.pos)
        self._press_view = None
        self._tracing = False

    def double_click(self, ev: ToolEvent) -> None:
        # The first click of the double-click already added this vertex.
        if len(self.points) >= 3:
            self.commit()

    # -- keys ---------------------------------------------------------------------------
    def wants_key(self, ev: QKeyEvent) -> bool:
        keys = (
            Qt.Key.Key_Backspace,
            Qt.Key.Key_Delete,
            Qt.Key.Key_Escape,
            Qt.Key.Key_Return,
            Qt.Key.Key_Enter,
        )
        return bool(self.points) and ev.key() in keys

    def key_press(self, ev: QKeyEvent) -> bool:
        if not self.points:
            return False
        k = ev.key()
        if k in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.commit()
            return True
        if k in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete):
            self.points.pop()
            self.update()
            return True
        if k == Qt.Key.Key_Escape:
            self.cancel()
            self.update()
            return True
        return False

    def undo_draft(self) -> bool:
        if not self.points:
            return False
        self.points = self.points[:-1]
        self.update()
        return True

    # -- draft ----------------------------------------------------------------------------
    def _add(self, pos: QPointF) -> None:
        x, y = hd.clamp_point(self.canvas, pos.x(), pos.y())
        if self.points and self.points[-1] == (x, y):
            return
        self.points = [*self.points, (x, y)]

    def _is_near_first(self, view_pos: QPointF) -> bool:
        if not self.points:
            return False
        first = self.canvas.image_to_view(QPointF(*self.points[0]))
        return hd.distance(first, view_pos) <= CLOSE_PX

    def _set_near_first(self, view_pos: QPointF) -> None:
        near = len(self.points) >= 3 and self._is_near_first(view_pos)
        if near != self._near_first:
            self._near_first = near
            self.canvas.refresh_cursor()

    def commit(self) -> None:
        pts = _dedupe(self.points)
        self.cancel()
        self.update()
        doc = self.canvas.document()
        if doc is None or len(pts) < 3 or _area(pts) <= 0:
            return
        label_id = self.canvas.label_for_new_shape()
        if label_id is None:
            return
        ann = Annotation(doc.image_id, label_id, Polygon.from_points(pts), z=doc.top_z())
        ev = self.canvas.do(AddAnnotation(ann, label="Draw polygon"))
        if ev is not None and ev.added:
            doc.select(ev.added)

    def cancel(self) -> None:
        self.points = []
        self._press_view = None
        self._tracing = False
        if self._near_first:
            self._near_first = False
            self.canvas.refresh_cursor()

    def busy(self) -> bool:
        return bool(self.points)

    # -- drawing ------------------------------------------------------------------------
    def paint(self, painter: QPainter) -> None:
        if not self.points:
            return
        v = self.canvas.view()
        color = self.canvas.draft_color()
        vp = [QPointF(x * v.zoom + v.ox, y * v.zoom + v.oy) for x, y in self.points]
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        path = QPainterPath(vp[0])
        for q in vp[1:]:
            path.lineTo(q)
        if len(vp) >= 3:
            fill = QPainterPath(path)
            fill.closeSubpath()
            c = QColor(color)
            c.setAlpha(round(self.canvas.overlay.opacity * 255 * 0.7))
            painter.fillPath(fill, c)
        painter.strokePath(path, QPen(QColor(0, 0, 0, 160), 3.5))
        painter.strokePath(path, QPen(color, 1.8))
        if self._cursor_pos is not None and not self._tracing:
            cur = self.canvas.image_to_view(self._cursor_pos)
            painter.setPen(QPen(QColor(255, 255, 255, 200), 1.0, Qt.PenStyle.DashLine))
            painter.drawLine(vp[-1], cur)
        # Vertices: the first one larger (a click there closes the polygon).
        step = max(1, len(vp) // 400)
        painter.setPen(QPen(QColor(15, 15, 18), 1.0))
        painter.setBrush(QColor(255, 255, 255))
        for q in vp[1::step]:
            painter.drawRect(int(q.x()) - 3, int(q.y()) - 3, 6, 6)
        r = 6.0 if self._near_first else 4.5
        painter.setBrush(QColor("#3d8bfd") if self._near_first else QColor(255, 255, 255))
        painter.drawEllipse(vp[0], r, r)


def _dedupe(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for p in pts:
        if not out or (abs(p[0] - out[-1][0]) > 1e-6 or abs(p[1] - out[-1][1]) > 1e-6):
            out.append(p)
    while (
        len(out) > 1 and math.isclose(out[0][0], out[-1][0]) and math.isclose(out[0][1], out[-1][1])
    ):
        out.pop()
    return out


def _area(pts: list[tuple[float, float]]) -> float:
    a = np.asarray(pts, np.float64)
    x, y = a[:, 0], a[:, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))) / 2.0
