"""Magic wand W: click a pixel, get the contiguous region of similar colour.

Like Photoshop's wand (contiguous, tolerance 0-255 per channel, compared with
the clicked pixel). A plain click makes a new object of the active label and
selects it; Shift-click adds the region to the selected mask or polygon,
Alt-click subtracts it. The result is a mask, or with the "polygon" output
option its outline. ``[`` / ``]`` change the tolerance (and the options bar).
"""

from __future__ import annotations

import math
from typing import Any

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QCursor, QKeyEvent, QPainter
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from lightable.imaging import maskops
from lightable.ui.canvas.tools.base import ToolEvent
from lightable.ui.canvas.tools.brush import RasterTool
from lightable.ui.canvas.tools.cursors import crosshair_cursor
from lightable.ui.canvas.tools.options import output_combo, sync_output_combo

TOLERANCE_STEP = 4


def modifier_mode(shift: bool, alt: bool) -> str:
    """Photoshop's selection modifiers: Alt subtracts, Shift adds, neither makes a new one."""
    if alt:
        return "subtract"
    if shift:
        return "add"
    return "new"


class ModifierCursorMixin:
    """Cursor badge "+" / "-" while Shift / Alt is held."""

    canvas: Any
    _mods: str = "new"

    def cursor(self) -> QCursor:
        return crosshair_cursor({"add": "+", "subtract": "-"}.get(self._mods, ""))

    def _track_modifiers(self, shift: bool, alt: bool) -> None:
        mode = modifier_mode(shift, alt)
        if mode != self._mods:
            self._mods = mode
            self.canvas.refresh_cursor()

    def _modifier_key(self, ev: QKeyEvent) -> None:
        mods = ev.modifiers()
        self._track_modifiers(
            bool(mods & Qt.KeyboardModifier.ShiftModifier),
            bool(mods & Qt.KeyboardModifier.AltModifier),
        )


class WandTool(ModifierCursorMixin, RasterTool):
    name = "wand"
    key = "W"
    label = "Magic wand"
    tip = "Click to select a region of similar colour (Shift adds, Alt subtracts; [ ] tolerance)"

    def __init__(self, canvas: Any) -> None:
        super().__init__(canvas)
        self.tolerance = 32
        self.output = "mask"  # or "polygon"
        self.connectivity = 4
        self.polygon_tolerance = 1.0
        self._options: _WandOptions | None = None

    # -- settings ---------------------------------------------------------------------
    def set_tolerance(self, value: int) -> None:
        self.tolerance = int(min(255, max(0, value)))
        if self._options is not None and shiboken6.isValid(self._options):
            self._options.sync()

    def adjust_size(self, steps: int) -> None:
        """``[`` / ``]``: the wand's "size" is its tolerance."""
        self.set_tolerance(self.tolerance + steps * TOLERANCE_STEP)
        self.notice(f"Tolerance {self.tolerance}")

    def set_output(self, output: str) -> None:
        if output not in ("mask", "polygon"):
            raise ValueError(f"wand output must be 'mask' or 'polygon', not {output!r}")
        self.output = output
        if self._options is not None and shiboken6.isValid(self._options):
            self._options.sync()

    def options_widget(self, parent: QWidget | None = None) -> QWidget:
        self._options = _WandOptions(self, parent)
        return self._options

    # -- events -------------------------------------------------------------------------
    def hover(self, ev: ToolEvent) -> None:
        self._track_modifiers(ev.shift, ev.alt)

    def press(self, ev: ToolEvent) -> None:
        if ev.button != Qt.MouseButton.LeftButton or self.canvas.document() is None:
            return
        pixels = self.canvas.image_array()
        if pixels is None:
            self.notice("The wand needs the image's pixels (still loading, or too large)")
            return
        x, y = math.floor(ev.pos.x()), math.floor(ev.pos.y())
        region = maskops.flood_fill(pixels, x, y, self.tolerance, self.connectivity)
        if region is None:
            return  # clicked outside the image
        x0, y0, patch = region
        self.apply_region(
            x0, y0, patch, modifier_mode(ev.shift, ev.alt), self.output, self.polygon_tolerance
        )
        self.canvas.update()

    def wants_key(self, ev: QKeyEvent) -> bool:
        return self.is_size_key(ev)

    def key_press(self, ev: QKeyEvent) -> bool:
        key = ev.key()
        if self.is_size_key(ev):
            self.adjust_size(1 if key == Qt.Key.Key_BracketRight else -1)
            return True
        if key in (Qt.Key.Key_Shift, Qt.Key.Key_Alt):
            self._modifier_key(ev)
        return False

    def key_release(self, ev: QKeyEvent) -> bool:
        if ev.key() in (Qt.Key.Key_Shift, Qt.Key.Key_Alt):
            self._modifier_key(ev)
        return False

    def paint(self, p: QPainter) -> None:
        self.paint_notice(p)


class _WandOptions(QWidget):
    def __init__(self, tool: WandTool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tool = tool
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        lay.addWidget(QLabel("Tolerance"))
        self.tolerance = QSpinBox()
        self.tolerance.setRange(0, 255)
        self.tolerance.setToolTip("How different a colour may be from the clicked one ([ and ])")
        self.tolerance.valueChanged.connect(tool.set_tolerance)
        lay.addWidget(self.tolerance)
        self.diagonal = QCheckBox("Diagonal neighbours")
        self.diagonal.setToolTip("Grow through pixels that touch only at a corner")
        self.diagonal.toggled.connect(lambda on: setattr(tool, "connectivity", 8 if on else 4))
        lay.addWidget(self.diagonal)
        lay.addWidget(QLabel("Result"))
        self.output = output_combo(tool)
        lay.addWidget(self.output)
        lay.addStretch(1)
        self.sync()

    def sync(self) -> None:
        for w in (self.tolerance, self.output, self.diagonal):
            w.blockSignals(True)
        self.tolerance.setValue(self.tool.tolerance)
        sync_output_combo(self.output, self.tool)
        self.diagonal.setChecked(self.tool.connectivity == 8)
        for w in (self.tolerance, self.output, self.diagonal):
            w.blockSignals(False)
