"""Hand (H) pans by dragging; Zoom (Z) clicks in, alt-clicks out, drags a rectangle."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QCursor, QPainter, QPen

from lightable.ui.canvas.tools.base import Tool, ToolEvent
from lightable.ui.canvas.tools.cursors import zoom_cursor


class HandTool(Tool):
    name = "hand"
    key = "H"
    label = "Hand"
    tip = "Drag to pan (space-drag pans from any tool)"

    def __init__(self, canvas) -> None:  # type: ignore[no-untyped-def]
        super().__init__(canvas)
        self._last: QPointF | None = None

    def cursor(self) -> QCursor:
        shape = (
            Qt.CursorShape.ClosedHandCursor
            if self._last is not None
            else Qt.CursorShape.OpenHandCursor
        )
        return QCursor(shape)

    def press(self, ev: ToolEvent) -> None:
        if ev.button == Qt.MouseButton.LeftButton:
            self._last = ev.view_pos
            self.canvas.refresh_cursor()

    def move(self, ev: ToolEvent) -> None:
        if self._last is None:
            return
        d = ev.view_pos - self._last
        self._last = ev.view_pos
        self.canvas.pan_by(d.x(), d.y())

    def release(self, ev: ToolEvent) -> None:
        self._last = None
        self.canvas.refresh_cursor()

    def cancel(self) -> None:
        self._last = None

    def busy(self) -> bool:
        return self._last is not None


class ZoomTool(Tool):
    name = "zoom"
    key = "Z"
    label = "Zoom"
    tip = "Click to zoom in, Alt-click to zoom out, drag to zoom to a rectangle"
    DRAG_PX = 5.0

    def __init__(self, canvas) -> None:  # type: ignore[no-untyped-def]
        super().__init__(canvas)
        self._start: QPointF | None = None
        self._end: QPointF | None = None
        self._alt = False

    def cursor(self) -> QCursor:
        return zoom_cursor(out=self._alt)

    def hover(self, ev: ToolEvent) -> None:
        if ev.alt != self._alt:
            self._alt = ev.alt
            self.canvas.refresh_cursor()

    def key_press(self, ev) -> bool:  # type: ignore[no-untyped-def]
        if ev.key() == Qt.Key.Key_Alt:
            self._alt = True
            self.canvas.refresh_cursor()
        return False

    def key_release(self, ev) -> bool:  # type: ignore[no-untyped-def]
        if ev.key() == Qt.Key.Key_Alt:
            self._alt = False
            self.canvas.refresh_cursor()
        return False

    def press(self, ev: ToolEvent) -> None:
        if ev.button == Qt.MouseButton.LeftButton:
            self._start = ev.view_pos
            self._end = ev.view_pos

    def move(self, ev: ToolEvent) -> None:
        if self._start is not None:
            self._end = ev.view_pos
            self.update()

    def release(self, ev: ToolEvent) -> None:
        if self._start is None:
            return
        start, self._start, self._end = self._start, None, None
        d = ev.view_pos - start
        if abs(d.x()) < self.DRAG_PX and abs(d.y()) < self.DRAG_PX:
            factor = 0.5 if ev.alt else 2.0
            self.canvas.set_zoom(self.canvas.zoom() * factor, ev.view_pos)
        else:
            a = self.canvas.view_to_image(start)
            self.canvas.zoom_to_rect(QRectF(a, ev.pos))
        self.update()

    def cancel(self) -> None:
        self._start = self._end = None

    def busy(self) -> bool:
        return self._start is not None

    def paint(self, painter: QPainter) -> None:
        if self._start is None or self._end is None:
            return
        r = QRectF(self._start, self._end).normalized()
        if r.width() < self.DRAG_PX and r.height() < self.DRAG_PX:
            return
        pen = QPen(QColor(255, 255, 255, 220), 1.0, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(QColor(255, 255, 255, 30))
        painter.drawRect(r)
