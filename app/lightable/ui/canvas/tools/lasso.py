"""Lasso L: a freehand region (press, drag, release) or a polygonal one (click points).

Drag to trace; releasing closes the outline. A click without dragging starts
the polygonal lasso instead: each click adds a point; Enter, a double click or
a click on the first point closes it; Backspace removes the last point; Esc
cancels. Modifiers held when the lasso starts pick what it does, as in
Photoshop: none makes a new object of the active label (a mask, or a polygon
with the "polygon" output option), Shift adds to the selected mask or polygon,
Alt subtracts from it.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from lightable.core.commands import AddAnnotation
from lightable.core.errors import LightableError
from lightable.core.geometry import Polygon
from lightable.core.model import Annotation
from lightable.imaging import maskops
from lightable.ui.canvas.live_mask import drawing_label, label_color
from lightable.ui.canvas.tools.base import ToolEvent
from lightable.ui.canvas.tools.brush import RasterTool
from lightable.ui.canvas.tools.options import output_combo, sync_output_combo
from lightable.ui.canvas.tools.wand import ModifierCursorMixin, modifier_mode

CLOSE_PX = 7.0  # a click this close (widget pixels) to the first point closes the polygon
DRAG_PX = 4.0  # a press that moves less than this is a click (polygonal lasso)
SAMPLE_PX = 1.5  # freehand points closer than this on screen are dropped


class LassoTool(ModifierCursorMixin, RasterTool):
    name = "lasso"
    key = "L"
    label = "Lasso"
    tip = "Drag a freehand region, or click points (Shift adds, Alt subtracts; Enter closes)"

    def __init__(self, canvas: Any) -> None:
        super().__init__(canvas)
        self.output = "mask"  # or "polygon"
        self.polygon_tolerance = 1.0
        self._points: list[QPointF] = []  # image coordinates
        self._dragging = False
        self._clicking = False
        self._press_view: QPointF | None = None
        self._mode = "new"
        self._hover: QPointF | None = None
        self._options: _LassoOptions | None = None

    def set_output(self, output: str) -> None:
        if output not in ("mask", "polygon"):
            raise ValueError(f"lasso output must be 'mask' or 'polygon', not {output!r}")
        self.output = output
        if self._options is not None and shiboken6.isValid(self._options):
            self._options.sync()

    def options_widget(self, parent: QWidget | None = None) -> QWidget:
        self._options = _LassoOptions(self, parent)
        return self._options

    # -- lifecycle ----------------------------------------------------------------------
    def busy(self) -> bool:
        return bool(self._points)

    def cancel(self) -> None:
        if self._points:
            self._points = []
            self._dragging = self._clicking = False
            self.canvas.update()

    # -- events -------------------------------------------------------------------------
    def hover(self, ev: ToolEvent) -> None:
        self._track_modifiers(ev.shift, ev.alt)
        if self._clicking:
            self._hover = ev.pos
            self.canvas.update()

    def press(self, ev: ToolEvent) -> None:
        if ev.button != Qt.MouseButton.LeftButton or self.canvas.document() is None:
            return
        if self._clicking:
            if len(self._points) >= 3 and self._near_first(ev.view_pos):
                self._finish()
            else:
                self._points.append(ev.pos)
                self.canvas.update()
            return
        self._mode = modifier_mode(ev.shift, ev.alt)
        self._points = [ev.pos]
        self._dragging = True
        self._press_view = ev.view_pos

    def move(self, ev: ToolEvent) -> None:
        if self._clicking:
            self._hover = ev.pos
            self.canvas.update()
            return
        if not self._dragging:
            return
        last = self.canvas.image_to_view(self._points[-1])
        if (ev.view_pos - last).manhattanLength() >= SAMPLE_PX:
            self._points.append(ev.pos)
            self.canvas.update()

    def release(self, ev: ToolEvent) -> None:
        if ev.button != Qt.MouseButton.LeftButton or not self._dragging:
            return
        self._dragging = False
        moved = (
            self._press_view is not None
            and (ev.view_pos - self._press_view).manhattanLength() >= DRAG_PX
        )
        if not moved and len(self._points) <= 2:
            # A click: the polygonal lasso, starting at the clicked point.
            self._points = self._points[:1]
            self._clicking = True
            self._hover = ev.pos
            self.canvas.update()
            return
        self._finish()

    def double_click(self, ev: ToolEvent) -> None:
        if self._clicking:
            if len(self._points) < 3:
                self._points.append(ev.pos)
            self._finish()

    def wants_key(self, ev: QKeyEvent) -> bool:
        """While a lasso is open, Backspace/Enter/Esc edit it (not delete the selection)."""
        keys = (Qt.Key.Key_Escape, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Backspace)
        return bool(self._points) and ev.key() in keys

    def key_press(self, ev: QKeyEvent) -> bool:
        key = ev.key()
        if key in (Qt.Key.Key_Shift, Qt.Key.Key_Alt):
            self._modifier_key(ev)
            return False
        if not self._points:
            return False
        if key == Qt.Key.Key_Escape:
            self.cancel()
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._finish()
            return True
        if key == Qt.Key.Key_Backspace and self._clicking:
            self._points.pop()
            if not self._points:
                self._clicking = False
            self.canvas.update()
            return True
        return False

    def key_release(self, ev: QKeyEvent) -> bool:
        if ev.key() in (Qt.Key.Key_Shift, Qt.Key.Key_Alt):
            self._modifier_key(ev)
        return False

    def _near_first(self, view_pos: QPointF) -> bool:
        first = self.canvas.image_to_view(self._points[0])
        d = view_pos - first
        return math.hypot(d.x(), d.y()) <= CLOSE_PX

    # -- committing ---------------------------------------------------------------------
    def _finish(self) -> None:
        pts = np.array([(p.x(), p.y()) for p in self._points], np.float64)
        mode = self._mode
        self._points = []
        self._dragging = self._clicking = False
        self._hover = None
        self.canvas.update()
        doc = self.canvas.document()
        if doc is None or len(pts) < 3:
            return
        h, w = doc.image.height, doc.image.width
        if mode == "new" and self.output == "polygon" and not self.per_class:
            self._new_polygon(pts, w, h)
            return
        region = maskops.polygon_patch(pts, w, h)
        if region is None:
            self.notice("The lasso covers no pixel")
            return
        x0, y0, patch = region
        self.apply_region(x0, y0, patch, mode, self.output, self.polygon_tolerance)

    def _new_polygon(self, pts: np.ndarray, w: int, h: int) -> None:
        """A new polygon straight from the traced points (simplified), not via pixels."""
        doc = self.canvas.document()
        assert doc is not None
        pts[:, 0] = np.clip(pts[:, 0], 0, w)
        pts[:, 1] = np.clip(pts[:, 1], 0, h)
        # Simplify to about half a screen pixel: the outline looks exactly as traced.
        eps = max(0.25, 0.5 / max(self.canvas.zoom(), 1e-6))
        simple = cv2.approxPolyDP(pts.astype(np.float32).reshape(-1, 1, 2), eps, True).reshape(
            -1, 2
        )
        if len(simple) < 3 or cv2.contourArea(simple) < 1.0:
            self.notice("The lasso covers no pixel")
            return
        label_id = drawing_label(self.canvas, doc)
        if label_id is None:
            self.notice("Add a label first: new objects need one")
            return
        poly = Polygon.from_points([(float(x), float(y)) for x, y in simple])
        ann = Annotation(image_id=doc.image_id, label_id=label_id, geometry=poly, z=doc.top_z())
        try:
            ev = doc.do(AddAnnotation(ann, label="Lasso polygon"))
        except LightableError as exc:
            self.notice(str(exc))
            return
        new_id = next(iter(ev.added), None)
        if new_id is not None:
            doc.select([new_id])

    # -- drawing ------------------------------------------------------------------------
    def paint(self, p: QPainter) -> None:
        if self._points:
            self._paint_outline(p)
        self.paint_notice(p)

    def _paint_outline(self, p: QPainter) -> None:
        doc = self.canvas.document()
        view = self.canvas.view()
        pts = [view.point_to_view(q) for q in self._points]
        if self._clicking and self._hover is not None:
            pts.append(view.point_to_view(self._hover))
        poly = QPolygonF(pts)
        path = QPainterPath()
        path.addPolygon(poly)
        path.closeSubpath()
        p.save()
        p.resetTransform()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        fill = (
            label_color(doc, drawing_label(self.canvas, doc)) if doc is not None else QColor("#888")
        )
        if self._mode == "subtract":
            fill = QColor(230, 60, 60)
        fill.setAlpha(60)
        p.fillPath(path, fill)
        # Marching-ants style: a dashed dark line over a light one.
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(255, 255, 255, 230), 1.2))
        p.drawPolyline(poly)
        dash = QPen(QColor(0, 0, 0, 230), 1.2)
        dash.setDashPattern([4.0, 4.0])
        p.setPen(dash)
        p.drawPolyline(poly)
        if self._clicking:
            first = pts[0]
            p.setPen(QPen(QColor(0, 0, 0), 1.0))
            p.setBrush(QColor(255, 255, 255))
            for q in pts[:-1] if self._hover is not None else pts:
                p.drawRect(QRectF(q.x() - 2.5, q.y() - 2.5, 5, 5))
            if len(self._points) >= 3:
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.setPen(QPen(QColor(255, 255, 255), 1.5))
                p.drawEllipse(first, CLOSE_PX, CLOSE_PX)
        p.restore()


class _LassoOptions(QWidget):
    def __init__(self, tool: LassoTool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tool = tool
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        lay.addWidget(QLabel("Result"))
        self.output = output_combo(tool)
        lay.addWidget(self.output)
        lay.addStretch(1)
        self.sync()

    def sync(self) -> None:
        self.output.blockSignals(True)
        sync_output_combo(self.output, self.tool)
        self.output.blockSignals(False)
