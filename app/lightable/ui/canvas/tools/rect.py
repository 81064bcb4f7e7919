"""Rectangle (M): drag a box; Shift makes it square, Alt draws it from the centre.

Handles of a selected box can be dragged with this tool too, so a box can be
drawn and adjusted without switching tools. Esc abandons the box being drawn.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QCursor, QKeyEvent, QPainter, QPen

from lightable.core.commands import AddAnnotation, ReshapeAnnotation
from lightable.core.geometry import Box, Geometry
from lightable.core.model import Annotation
from lightable.ui.canvas.tools import handles as hd
from lightable.ui.canvas.tools.base import Tool, ToolEvent
from lightable.ui.canvas.tools.cursors import crosshair_cursor

MIN_PX = 3.0  # smaller drags (in widget pixels) are clicks, not boxes


class RectTool(Tool):
    name = "rect"
    key = "M"
    label = "Rectangle"
    tip = "Drag to draw a box (Shift: square, Alt: from the centre)"

    def __init__(self, canvas) -> None:  # type: ignore[no-untyped-def]
        super().__init__(canvas)
        self._start: QPointF | None = None
        self._end: QPointF | None = None
        self._square = False
        self._centre = False
        self._handle: hd.Handle | None = None
        self._original: Geometry | None = None
        self._over_handle = False

    def cursor(self) -> QCursor:
        if self._over_handle or self._handle is not None:
            return QCursor(Qt.CursorShape.CrossCursor)
        return crosshair_cursor("rect")

    def hover(self, ev: ToolEvent) -> None:
        over = hd.find_handle(self.canvas, ev.view_pos) is not None
        if over != self._over_handle:
            self._over_handle = over
            self.canvas.refresh_cursor()

    def press(self, ev: ToolEvent) -> None:
        if ev.button != Qt.MouseButton.LeftButton or self.canvas.document() is None:
            return
        h = hd.find_handle(self.canvas, ev.view_pos)
        doc = self.canvas.document()
        if h is not None and h.kind == "box":
            self._handle = h
            self._original = doc.annotation(h.ann_id).geometry
            return
        x, y = hd.clamp_point(self.canvas, ev.pos.x(), ev.pos.y())
        self._start = QPointF(x, y)
        self._end = QPointF(x, y)
        self._square, self._centre = ev.shift, ev.alt

    def move(self, ev: ToolEvent) -> None:
        if self._handle is not None and self._original is not None:
            x, y = hd.clamp_point(self.canvas, ev.pos.x(), ev.pos.y())
            g = hd.reshape(self._original, self._handle, x, y, square=ev.shift)
            self.canvas.overlay.set_preview({self._handle.ann_id: g})
            self.update()
            return
        if self._start is None:
            return
        self._end = QPointF(*hd.clamp_point(self.canvas, ev.pos.x(), ev.pos.y()))
        self._square, self._centre = ev.shift, ev.alt
        self.update()

    def release(self, ev: ToolEvent) -> None:
        if ev.button != Qt.MouseButton.LeftButton:
            return
        if self._handle is not None:
            ov = self.canvas.overlay
            g = ov.preview.get(self._handle.ann_id)
            if isinstance(g, Box) and g != self._original and g.w > 0 and g.h > 0:
                self.canvas.do(ReshapeAnnotation(self._handle.ann_id, g))
            ov.clear_preview()
            self._handle = None
            self._original = None
            self.update()
            return
        if self._start is None:
            return
        # The modifiers held when the button comes up decide (square, from the centre).
        self._end = QPointF(*hd.clamp_point(self.canvas, ev.pos.x(), ev.pos.y()))
        self._square, self._centre = ev.shift, ev.alt
        box = self.current_box()
        self._start = self._end = None
        self.update()
        z = self.canvas.zoom()
        if box is None or box.w * z < MIN_PX or box.h * z < MIN_PX:
            return
        doc = self.canvas.document()
        label_id = self.canvas.label_for_new_shape()
        if doc is None or label_id is None:
            return
        ann = Annotation(doc.image_id, label_id, box, z=doc.top_z())
        ev_ = self.canvas.do(AddAnnotation(ann, label="Draw box"))
        if ev_ is not None and ev_.added:
            doc.select(ev_.added)

    def current_box(self) -> Box | None:
        if self._start is None or self._end is None:
            return None
        sx, sy = self._start.x(), self._start.y()
        ex, ey = self._end.x(), self._end.y()
        dx, dy = ex - sx, ey - sy
        if self._square:
            side = max(abs(dx), abs(dy))
            dx = side if dx >= 0 else -side
            dy = side if dy >= 0 else -side
        if self._centre:
            x0, y0, x1, y1 = sx - dx, sy - dy, sx + dx, sy + dy
        else:
            x0, y0, x1, y1 = sx, sy, sx + dx, sy + dy
        x0, y0 = hd.clamp_point(self.canvas, x0, y0)
        x1, y1 = hd.clamp_point(self.canvas, x1, y1)
        return Box.from_corners(x0, y0, x1, y1)

    def wants_key(self, ev: QKeyEvent) -> bool:
        return ev.key() == Qt.Key.Key_Escape and self.busy()

    def key_press(self, ev: QKeyEvent) -> bool:
        if ev.key() == Qt.Key.Key_Escape and self.busy():
            self.cancel()
            self.update()
            return True
        return False

    def cancel(self) -> None:
        self._start = self._end = None
        if self._handle is not None:
            self.canvas.overlay.clear_preview()
        self._handle = None
        self._original = None

    def busy(self) -> bool:
        return self._start is not None or self._handle is not None

    def paint(self, painter: QPainter) -> None:
        box = self.current_box()
        if box is None:
            return
        v = self.canvas.view()
        r = v.rect_to_view(QRectF(box.x, box.y, box.w, box.h))
        color = self.canvas.draft_color()
        fill = QColor(color)
        fill.setAlpha(round(self.canvas.overlay.opacity * 255))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(QPen(color, 1.5))
        painter.setBrush(fill)
        painter.drawRect(r)
        painter.setPen(QPen(QColor(255, 255, 255, 200), 1.0, Qt.PenStyle.DashLine))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(r)
        _size_label(painter, r, f"{box.w:.0f} × {box.h:.0f}")


def _size_label(painter: QPainter, r: QRectF, text: str) -> None:
    fm = painter.fontMetrics()
    w = fm.horizontalAdvance(text) + 10
    h = fm.height() + 4
    box = QRectF(r.right() - w, r.bottom() + 4, w, h)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(20, 20, 24, 210))
    painter.drawRoundedRect(box, 3, 3)
    painter.setPen(QColor(235, 235, 235))
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
