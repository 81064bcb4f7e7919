"""Brush B and eraser E: paint per-object (or per-class) masks with a round brush.

What is painted into:
- the selected mask annotation (the topmost one when several are selected);
- with nothing (or no mask) selected, a new mask annotation of the active label,
  which becomes the selection, so the next strokes grow the same object.
  Enter or Esc "finishes" the object (clears the selection): the next stroke
  starts a new one. Picking another label does the same.
- per-class mode (``RasterTool.shared(canvas).per_class``, a check box in the
  tool options): one mask per label on the image; strokes go into the active
  label's mask, created on the first stroke.

Keys and modifiers (Photoshop's where they exist): ``[`` / ``]`` brush size
(also ``adjust_size(steps)`` for actions), shift-click paints a straight line
from the end of the previous stroke, alt held inverts the tool (the brush
erases, the eraser paints), Esc during a stroke cancels it.

One stroke = one ``PaintMask`` command (the changed rectangle, before and
after) or one ``AddAnnotation`` for a new object; the stroke itself lives in
a ``LiveMask`` and never touches the store until the mouse is released.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QCursor, QKeyEvent, QPainter, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QWidget,
)

from lightable.core.commands import Batch, DeleteAnnotations, PaintMask
from lightable.core.errors import LightableError
from lightable.core.geometry import Box, Mask, Polygon
from lightable.core.model import Annotation
from lightable.imaging import maskops
from lightable.ui.canvas.live_mask import (
    LiveMask,
    class_mask,
    drawing_label,
    label_color,
    mask_opacity,
    selected_region_target,
)
from lightable.ui.canvas.tools.base import Tool, ToolEvent

MIN_SIZE = 1.0
MAX_SIZE = 2000.0
NOTICE_S = 3.0


@dataclass
class RasterShared:
    """Settings and the cached live mask shared by the raster tools of one canvas."""

    per_class: bool = False
    live: LiveMask | None = None


_SHARED: weakref.WeakKeyDictionary[Any, RasterShared] = weakref.WeakKeyDictionary()


class RasterTool(Tool):
    """Common parts of the raster tools: shared settings, notices, picking the target."""

    def __init__(self, canvas: Any) -> None:
        super().__init__(canvas)
        self._notice = ""
        self._notice_until = 0.0

    @staticmethod
    def shared(canvas: Any) -> RasterShared:
        s = _SHARED.get(canvas)
        if s is None:
            s = _SHARED[canvas] = RasterShared()
        return s

    @property
    def per_class(self) -> bool:
        return self.shared(self.canvas).per_class

    @per_class.setter
    def per_class(self, value: bool) -> None:
        self.shared(self.canvas).per_class = bool(value)

    # -- feedback ---------------------------------------------------------------------
    def notice(self, text: str) -> None:
        """A short message drawn on the canvas (and sent to a status bar when there is one)."""
        self._notice = text
        self._notice_until = time.monotonic() + NOTICE_S
        signal = getattr(self.canvas, "message", None)
        if signal is not None:
            signal.emit(text)
        self.canvas.update()
        QTimer.singleShot(int(NOTICE_S * 1000) + 50, self.canvas.update)

    def paint_notice(self, p: QPainter) -> None:
        if not self._notice or time.monotonic() > self._notice_until:
            return
        p.save()
        p.resetTransform()
        fm = p.fontMetrics()
        w = fm.horizontalAdvance(self._notice) + 20
        r = QRectF(12, self.canvas.height() - fm.height() - 22, w, fm.height() + 10)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(20, 20, 24, 220))
        p.drawRoundedRect(r, 5, 5)
        p.setPen(QColor("#f0f0f0"))
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, self._notice)
        p.restore()

    @staticmethod
    def is_size_key(ev: QKeyEvent) -> bool:
        """Plain ``[`` / ``]`` (Ctrl+[ and Alt+[ belong to window actions)."""
        mods = ev.modifiers() & (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        )
        return ev.key() in (Qt.Key.Key_BracketLeft, Qt.Key.Key_BracketRight) and not mods

    # -- geometry helpers -----------------------------------------------------------------
    def view_rect(self, x0: float, y0: float, x1: float, y1: float, pad: int = 3) -> QRect:
        r = self.canvas.view().rect_to_view(QRectF(x0, y0, x1 - x0, y1 - y0))
        return r.toAlignedRect().adjusted(-pad, -pad, pad, pad)

    # -- choosing what to edit --------------------------------------------------------------
    def edit_target(self) -> tuple[Annotation | None, int | None]:
        """(mask annotation to edit or None for a new one, label id); raises with a message."""
        doc = self.canvas.document()
        if doc is None:
            raise LightableError("No image is open")
        if self.per_class:
            label_id = drawing_label(self.canvas, doc)
            target = class_mask(doc, label_id) if label_id is not None else None
        else:
            target = selected_region_target(doc, (Mask,))
            label_id = target.label_id if target is not None else drawing_label(self.canvas, doc)
        if target is not None:
            if target.locked:
                raise LightableError("The selected mask is locked (unlock it in the Layers panel)")
            if target.hidden:
                raise LightableError("The selected mask is hidden (show it in the Layers panel)")
        if label_id is None:
            raise LightableError("Add a label first: new objects need one")
        return target, label_id

    def live_for(self, target: Annotation | None, label_id: int) -> LiveMask:
        """The live mask of ``target`` (cached between strokes), or a fresh empty one."""
        doc = self.canvas.document()
        assert doc is not None
        shared = self.shared(self.canvas)
        live = shared.live
        if target is not None:
            g = target.geometry
            assert isinstance(g, Mask)
            if (
                live is None
                or live.ann_id != target.id
                or live.source_key != g
                or live.array.shape != (g.height, g.width)
            ):
                live = LiveMask(g.height, g.width)
                live.load(doc.mask_array(target.id), key=g)
                live.ann_id = target.id
        else:
            live = LiveMask(doc.image.height, doc.image.width)
        live.set_color(label_color(doc, label_id), mask_opacity(self.canvas, target))
        shared.live = live
        return live

    def commit_live(
        self, live: LiveMask, target: Annotation | None, label_id: int, text: str
    ) -> None:
        """One command for the finished stroke: PaintMask on the target, or a new mask."""
        doc = self.canvas.document()
        res = live.end_stroke()
        try:
            if doc is None or res is None:
                if target is None:
                    self.shared(self.canvas).live = None
                return
            x0, y0, before, after = res
            if target is not None:
                assert target.id is not None
                cmd: Any = PaintMask(
                    target.id, x0, y0, before, after, label=text, image_id=doc.image_id
                )
                # Pixels left = before the stroke - what it removed + what it added (no full scan).
                emptied = target.geometry.area() - int(before.sum()) + int(after.sum()) <= 0
                if emptied:
                    cmd = Batch(
                        [cmd, DeleteAnnotations([target.id], doc.image_id)], text, doc.image_id
                    )
                doc.do(cmd)
                now = doc.get(target.id)
                if now is None:
                    self.shared(self.canvas).live = None
                else:
                    live.source_key = now.geometry
                return
            cmd = maskops.new_region_command(doc, label_id, x0, y0, after, "mask", label=text)
            if cmd is None:
                return
            ev = doc.do(cmd)
            new_id = next(iter(ev.added), None)
            if new_id is None:
                return
            live.ann_id = new_id
            live.source_key = doc.annotation(new_id).geometry
            if not self.per_class:
                doc.select([new_id])
        except LightableError as exc:
            self.shared(self.canvas).live = None
            self.notice(str(exc))
        finally:
            self.canvas.set_live_ids(())

    def apply_region(
        self, x0: int, y0: int, patch: Any, mode: str, output: str = "mask", tolerance: float = 1.0
    ) -> int | None:
        """Commit a region (wand, lasso) as one command; returns the annotation it went into.

        ``mode``: "new" makes a new object (mask, or polygon with ``output="polygon"``)
        and selects it; "add"/"subtract" change the selected mask or polygon (a new
        object when adding with nothing selected). Per-class mode adds to, or
        subtracts from, the active label's mask.
        """
        doc = self.canvas.document()
        if doc is None:
            return None
        try:
            if self.per_class:
                label_id = drawing_label(self.canvas, doc)
                if label_id is None:
                    raise LightableError("Add a label first: new objects need one")
                target = class_mask(doc, label_id)
                if mode == "new":
                    mode = "add"
                if target is not None and mode == "add" and output == "polygon":
                    output = "mask"
            else:
                target = None
                if mode != "new":
                    target = selected_region_target(doc, (Mask, Polygon, Box))
                label_id = (
                    target.label_id if target is not None else drawing_label(self.canvas, doc)
                )
            if target is not None and target.locked:
                raise LightableError(
                    "The selected object is locked (unlock it in the Layers panel)"
                )
            if target is None:
                if mode == "subtract":
                    raise LightableError(
                        "This label has no mask here to subtract from"
                        if self.per_class
                        else "Select a mask or polygon to subtract from"
                    )
                if label_id is None:
                    raise LightableError("Add a label first: new objects need one")
                cmd = maskops.new_region_command(doc, label_id, x0, y0, patch, output, tolerance)
                if cmd is None:
                    return None
                ev = doc.do(cmd)
                new_id = next(iter(ev.added), None)
                if new_id is not None and not self.per_class:
                    doc.select([new_id])
                return new_id
            assert target.id is not None
            change = maskops.region_command(doc, target.id, x0, y0, patch, mode, tolerance)
            if change is None:
                self.notice("Nothing changed")
                return target.id
            doc.do(change)
            return target.id if target.id in doc else None
        except LightableError as exc:
            self.notice(str(exc))
            return None


class BrushTool(RasterTool):
    name = "brush"
    key = "B"
    label = "Brush"
    tip = "Paint a mask; [ and ] change the size; Alt erases; Shift-click draws a line"
    erase = False
    default_size = 20.0

    def __init__(self, canvas: Any) -> None:
        super().__init__(canvas)
        self.size = self.default_size  # diameter in image pixels
        self._hover: QPointF | None = None
        self._prev: QPointF | None = None
        self._last_end: tuple[Any, QPointF] | None = None  # (target key, point) for shift-click
        self._stroke: tuple[LiveMask, Annotation | None, int, int] | None = None
        self._options: _BrushOptions | None = None

    # -- settings ---------------------------------------------------------------------
    @property
    def radius(self) -> float:
        return self.size / 2.0

    def set_size(self, size: float) -> None:
        old = self.size
        self.size = float(min(MAX_SIZE, max(MIN_SIZE, round(size))))
        if self._options is not None and shiboken6.isValid(self._options):
            self._options.sync()
        if self.size != old:
            self._update_cursor_area(None, max(old, self.size))

    def adjust_size(self, steps: int) -> None:
        """``]`` (+1) and ``[`` (-1): about 20% per step, at least one pixel."""
        s = self.size
        for _ in range(abs(steps)):
            s = max(s + 1, round(s * 1.2)) if steps > 0 else min(s - 1, round(s / 1.2))
        self.set_size(s)

    def options_widget(self, parent: QWidget | None = None) -> QWidget:
        """Size, per-class mode and mask opacity, for a tool options bar."""
        self._options = _BrushOptions(self, parent)
        return self._options

    # -- lifecycle ----------------------------------------------------------------------
    def cursor(self) -> QCursor:
        # The real-size circle is drawn in paint(); the system cursor would hide its centre.
        return QCursor(Qt.CursorShape.BlankCursor)

    def deactivate(self) -> None:
        self.cancel()
        self.leave()

    def leave(self) -> None:
        # The circle must not linger where the mouse left the canvas (a stroke in
        # progress keeps it: the mouse is grabbed and comes back).
        if self._stroke is None and self._hover is not None:
            self._update_cursor_area(None, self.size)
            self._hover = None

    def busy(self) -> bool:
        return self._stroke is not None

    def cancel(self) -> None:
        if self._stroke is None:
            return
        live, _target, _label, _value = self._stroke
        self._stroke = None
        live.cancel_stroke()
        self.canvas.set_live_ids(())

    def label_changed(self) -> None:
        # Picking another label means "paint that class now": the next stroke starts a new object.
        doc = self.canvas.document()
        if doc is None or self.per_class or self._stroke is not None:
            return
        target = selected_region_target(doc, (Mask,))
        active = self.canvas.active_label_id()
        if target is not None and active is not None and target.label_id != active:
            doc.clear_selection()

    # -- events --------------------------------------------------------------------------
    def press(self, ev: ToolEvent) -> None:
        if ev.button != Qt.MouseButton.LeftButton or self._stroke is not None:
            return
        value = 0 if self.erase != ev.alt else 1
        try:
            target, label_id = self.edit_target()
        except LightableError as exc:
            self.notice(str(exc))
            return
        if target is None and value == 0:
            self.notice("Nothing to erase: select a mask first")
            return
        assert label_id is not None
        live = self.live_for(target, label_id)
        live.begin_stroke()
        if target is not None:
            # The live mask replaces the committed one on screen until the stroke is
            # committed or cancelled: erased pixels must not show the old mask through.
            self.canvas.set_live_ids([target.id])
        self._stroke = (live, target, label_id, value)
        key = (self.canvas.document().image_id, target.id if target is not None else None)
        start = ev.pos
        if ev.shift and self._last_end is not None and self._last_end[0] == key:
            start = self._last_end[1]
        self._prev = ev.pos
        self._hover = ev.pos
        self._stamp(start, ev.pos)
        # The whole live mask replaces the committed one on screen from now on.
        self.canvas.update()

    def move(self, ev: ToolEvent) -> None:
        old = self._hover
        self._hover = ev.pos
        if self._stroke is None or self._prev is None:
            self._update_cursor_area(old, self.size)
            return
        a, self._prev = self._prev, ev.pos
        self._stamp(a, ev.pos, old)

    def hover(self, ev: ToolEvent) -> None:
        old = self._hover
        self._hover = ev.pos
        self._update_cursor_area(old, self.size)

    def release(self, ev: ToolEvent) -> None:
        if ev.button != Qt.MouseButton.LeftButton or self._stroke is None:
            return
        live, target, label_id, value = self._stroke
        self._stroke = None
        text = (
            ("Erase" if value == 0 else "Brush stroke") if target is not None else "Paint new mask"
        )
        self.commit_live(live, target, label_id, text)
        doc = self.canvas.document()
        if doc is not None and live.ann_id is not None:
            self._last_end = ((doc.image_id, live.ann_id), ev.pos)
        self._prev = None
        self.canvas.update()

    def wants_key(self, ev: QKeyEvent) -> bool:
        """Keys that beat window shortcuts while this tool is active."""
        return self.is_size_key(ev) or (ev.key() == Qt.Key.Key_Escape and self._stroke is not None)

    def key_press(self, ev: QKeyEvent) -> bool:
        key = ev.key()
        if self.is_size_key(ev):
            self.adjust_size(1 if key == Qt.Key.Key_BracketRight else -1)
            return True
        if key == Qt.Key.Key_Escape:
            if self._stroke is not None:
                self.cancel()
                return True
            return self._finish_object()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            return self._finish_object()
        return False

    def _finish_object(self) -> bool:
        doc = self.canvas.document()
        if doc is None or self.per_class or not doc.selected():
            return False
        doc.clear_selection()
        return True

    # -- painting --------------------------------------------------------------------------
    def _stamp(self, a: QPointF, b: QPointF, old_hover: QPointF | None = None) -> None:
        assert self._stroke is not None
        live, _target, _label, value = self._stroke
        rect = live.stamp(a.x(), a.y(), b.x(), b.y(), self.radius, value)
        area = QRect() if rect is None else self.view_rect(*rect)
        area = area.united(self._circle_rect(b, self.size))
        if old_hover is not None:
            area = area.united(self._circle_rect(old_hover, self.size))
        self.canvas.update(area)

    def _circle_rect(self, c: QPointF, size: float) -> QRect:
        r = size / 2.0
        return self.view_rect(c.x() - r, c.y() - r, c.x() + r, c.y() + r, pad=4)

    def _update_cursor_area(self, old: QPointF | None, size: float) -> None:
        area = QRect()
        for c in (old, self._hover):
            if c is not None:
                area = area.united(self._circle_rect(c, size))
        if not area.isNull():
            self.canvas.update(area)

    def paint(self, p: QPainter) -> None:
        if self._stroke is not None:
            live = self._stroke[0]
            view = self.canvas.view()
            visible = view.rect_to_image(QRectF(self.canvas.rect()))
            live.paint(p, view.qtransform(), visible)
        if self._hover is not None and (self._stroke is not None or self.canvas.underMouse()):
            self._paint_cursor(p, self._hover)
        self.paint_notice(p)

    def _paint_cursor(self, p: QPainter, at: QPointF) -> None:
        view = self.canvas.view()
        c = view.point_to_view(at)
        r = self.radius * view.zoom
        p.save()
        p.resetTransform()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setBrush(Qt.BrushStyle.NoBrush)
        # A dark ring outside a light one: visible on any image.
        p.setPen(QPen(QColor(0, 0, 0, 200), 1.0))
        p.drawEllipse(c, r + 1.0, r + 1.0)
        light = QPen(QColor(255, 255, 255, 230), 1.0)
        if self.erase:
            light.setStyle(Qt.PenStyle.DashLine)
        p.setPen(light)
        p.drawEllipse(c, r, r)
        # A small cross marks the centre (and stands in for the circle when it is tiny).
        arm = 4.0 if r >= 6 else 6.0
        for pen in (QPen(QColor(0, 0, 0, 200), 3.0), QPen(QColor(255, 255, 255), 1.0)):
            p.setPen(pen)
            p.drawLine(QPointF(c.x() - arm, c.y()), QPointF(c.x() + arm, c.y()))
            p.drawLine(QPointF(c.x(), c.y() - arm), QPointF(c.x(), c.y() + arm))
        p.restore()


class EraserTool(BrushTool):
    name = "eraser"
    key = "E"
    label = "Eraser"
    tip = "Erase from the selected mask; [ and ] change the size; Alt paints"
    erase = True
    default_size = 30.0


class _BrushOptions(QWidget):
    """Size, per-class mode and mask opacity for the tool options bar."""

    def __init__(self, tool: BrushTool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tool = tool
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        lay.addWidget(QLabel("Size"))
        self.size = QSpinBox()
        self.size.setRange(int(MIN_SIZE), int(MAX_SIZE))
        self.size.setSuffix(" px")
        self.size.setToolTip("Brush diameter in image pixels ([ and ])")
        self.size.valueChanged.connect(lambda v: tool.set_size(v) if v != tool.size else None)
        lay.addWidget(self.size)
        self.per_class = QCheckBox("One mask per class")
        self.per_class.setToolTip(
            "Paint into the active label's mask on this image instead of one object"
        )
        self.per_class.toggled.connect(self._set_per_class)
        lay.addWidget(self.per_class)
        lay.addWidget(QLabel("Opacity"))
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setFixedWidth(110)
        self.opacity.setToolTip("Fill opacity of masks and shapes")
        self.opacity.valueChanged.connect(self._set_opacity)
        lay.addWidget(self.opacity)
        lay.addStretch(1)
        self.sync()

    def sync(self) -> None:
        for w in (self.size, self.per_class, self.opacity):
            w.blockSignals(True)
        self.size.setValue(int(self.tool.size))
        self.per_class.setChecked(self.tool.per_class)
        self.opacity.setValue(round(float(self.tool.canvas.fill_opacity()) * 100))
        for w in (self.size, self.per_class, self.opacity):
            w.blockSignals(False)

    def _set_per_class(self, on: bool) -> None:
        self.tool.per_class = on

    def _set_opacity(self, value: int) -> None:
        self.tool.canvas.set_fill_opacity(value / 100.0)
