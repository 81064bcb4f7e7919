"""Keypoints (K): place the points of the active label's skeleton, in order.

Click = visible (v=2), Alt-click = labeled but hidden (v=1), N = skip the
point (not labeled, v=0). The object is committed when the last point is
placed, or early with Enter (the rest are v=0). Backspace takes back the last
point, Esc abandons the object. A label without a skeleton takes any number
of points, committed with Enter.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QCursor, QKeyEvent, QPainter, QPen

from lightable.core.commands import AddAnnotation
from lightable.core.geometry import Keypoints
from lightable.core.model import Annotation, Label
from lightable.ui.canvas.painting import draw_keypoints
from lightable.ui.canvas.tools import handles as hd
from lightable.ui.canvas.tools.base import Tool, ToolEvent
from lightable.ui.canvas.tools.cursors import crosshair_cursor

SKIP_KEY = Qt.Key.Key_N


class KeypointsTool(Tool):
    name = "keypoints"
    key = "K"
    label = "Keypoints"
    tip = "Click each point of the skeleton in order (Alt-click: hidden, N: skip, Enter: finish)"

    def __init__(self, canvas) -> None:  # type: ignore[no-untyped-def]
        super().__init__(canvas)
        self.points: list[tuple[float, float, int]] = []
        self._label_id: int | None = None
        self._cursor_pos: QPointF | None = None

    def cursor(self) -> QCursor:
        return crosshair_cursor("kpt")

    def _label(self) -> Label | None:
        doc = self.canvas.document()
        if doc is None:
            return None
        if self._label_id is None:
            self._label_id = self.canvas.label_for_new_shape()
        return doc.labels.get(self._label_id) if self._label_id is not None else None

    def names(self) -> list[str]:
        lb = self._label()
        return list(lb.skeleton.names) if lb is not None and lb.skeleton is not None else []

    def label_changed(self) -> None:
        # A different label means a different skeleton: start over.
        if not self.points:
            self._label_id = None

    # -- mouse ------------------------------------------------------------------------------
    def press(self, ev: ToolEvent) -> None:
        if ev.button != Qt.MouseButton.LeftButton or self._label() is None:
            return
        x, y = hd.clamp_point(self.canvas, ev.pos.x(), ev.pos.y())
        self.points = [*self.points, (x, y, 1 if ev.alt else 2)]
        self._maybe_finish()
        self.update()

    def hover(self, ev: ToolEvent) -> None:
        self._cursor_pos = ev.pos
        if self.points or self.names():
            self.update()

    def move(self, ev: ToolEvent) -> None:
        self.hover(ev)

    # -- keys ---------------------------------------------------------------------------------
    def wants_key(self, ev: QKeyEvent) -> bool:
        if ev.key() == SKIP_KEY and ev.modifiers() == Qt.KeyboardModifier.NoModifier:
            return bool(self.names())
        keys = (Qt.Key.Key_Backspace, Qt.Key.Key_Escape, Qt.Key.Key_Return, Qt.Key.Key_Enter)
        return bool(self.points) and ev.key() in keys

    def key_press(self, ev: QKeyEvent) -> bool:
        k = ev.key()
        if k == SKIP_KEY and self.names():
            self.points = [*self.points, (0.0, 0.0, 0)]
            self._maybe_finish()
            self.update()
            return True
        if not self.points:
            return False
        if k in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.commit()
            return True
        if k == Qt.Key.Key_Backspace:
            self.points = self.points[:-1]
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

    # -- commit ---------------------------------------------------------------------------------
    def _maybe_finish(self) -> None:
        names = self.names()
        if names and len(self.points) >= len(names):
            self.commit()

    def commit(self) -> None:
        doc = self.canvas.document()
        names = self.names()
        pts = list(self.points)
        label_id = self._label_id
        self.cancel()
        self.update()
        if doc is None or label_id is None or not any(v > 0 for _, _, v in pts):
            return
        if names:
            pts += [(0.0, 0.0, 0)] * (len(names) - len(pts))
        ann = Annotation(doc.image_id, label_id, Keypoints(tuple(pts)), z=doc.top_z())
        ev = self.canvas.do(AddAnnotation(ann, label="Place keypoints"))
        if ev is not None and ev.added:
            doc.select(ev.added)

    def cancel(self) -> None:
        self.points = []
        self._label_id = None

    def busy(self) -> bool:
        return bool(self.points)

    # -- drawing ---------------------------------------------------------------------------------
    def paint(self, painter: QPainter) -> None:
        lb = self._label()
        names = self.names()
        if lb is None:
            return
        color = self.canvas.overlay.color(lb.id if lb.id is not None else -1)
        v = self.canvas.view()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if self.points:
            painter.save()
            painter.setTransform(v.qtransform())
            edges = lb.skeleton.edges if lb.skeleton is not None else []
            draw_keypoints(painter, Keypoints(tuple(self.points)), edges, color, v.zoom)
            painter.restore()
        if names and self._cursor_pos is not None and len(self.points) < len(names):
            i = len(self.points)
            text = f"{i + 1}/{len(names)}  {names[i]}   (Alt: hidden · N: skip)"
            c = self.canvas.image_to_view(self._cursor_pos)
            fm = painter.fontMetrics()
            r = QRectF(c.x() + 14, c.y() + 12, fm.horizontalAdvance(text) + 12, fm.height() + 6)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(20, 20, 24, 220))
            painter.drawRoundedRect(r, 4, 4)
            painter.setPen(QPen(QColor(240, 240, 240)))
            painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
