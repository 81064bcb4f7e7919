"""The tool protocol: the canvas turns Qt mouse/key events into ToolEvents.

A tool never talks to the store. It reads the canvas (view transform, document,
active label), draws its live preview in ``paint`` (widget coordinates, called
every frame, so keep it to the few things being edited), and commits with
``canvas.document().do(command)``: one command per gesture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QCursor, QKeyEvent, QPainter

if TYPE_CHECKING:
    from lightable.ui.canvas.widget import CanvasWidget


@dataclass(slots=True)
class ToolEvent:
    """A mouse event in both coordinate systems.

    ``pos`` is in image pixels (float; pixel (i, j) covers [i, i+1) x [j, j+1)),
    ``view_pos`` in widget pixels.
    """

    pos: QPointF
    view_pos: QPointF
    button: Qt.MouseButton = Qt.MouseButton.NoButton
    buttons: Qt.MouseButton = Qt.MouseButton.NoButton
    modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier

    @property
    def shift(self) -> bool:
        return bool(self.modifiers & Qt.KeyboardModifier.ShiftModifier)

    @property
    def alt(self) -> bool:
        return bool(self.modifiers & Qt.KeyboardModifier.AltModifier)

    @property
    def ctrl(self) -> bool:
        return bool(self.modifiers & Qt.KeyboardModifier.ControlModifier)


class Tool:
    """Base class: every hook is a no-op so tools implement only what they use."""

    name: str = "tool"
    key: str = ""  # the Photoshop key, e.g. "V"
    label: str = "Tool"
    tip: str = ""

    def __init__(self, canvas: CanvasWidget) -> None:
        self.canvas = canvas

    # -- lifecycle --------------------------------------------------------------
    def cursor(self) -> QCursor:
        return QCursor(Qt.CursorShape.ArrowCursor)

    def activate(self) -> None:
        pass

    def deactivate(self) -> None:
        """Called when another tool is picked or the image changes: drop drafts."""
        self.cancel()

    def cancel(self) -> None:
        """Abandon whatever is in progress (Esc, image switch)."""

    def busy(self) -> bool:
        """True while a gesture or a draft is in progress (the canvas keeps the tool)."""
        return False

    # -- events -----------------------------------------------------------------
    def press(self, ev: ToolEvent) -> None:
        pass

    def move(self, ev: ToolEvent) -> None:
        pass

    def release(self, ev: ToolEvent) -> None:
        pass

    def double_click(self, ev: ToolEvent) -> None:
        pass

    def hover(self, ev: ToolEvent) -> None:
        """Mouse moved with no button pressed (cursor feedback)."""

    def leave(self) -> None:
        """The mouse left the canvas: drop hover feedback (a brush circle, a rubber band
        to the cursor). A drag in progress keeps going: the canvas grabs the mouse."""

    def key_press(self, ev: QKeyEvent) -> bool:
        return False

    def key_release(self, ev: QKeyEvent) -> bool:
        return False

    def paint(self, painter: QPainter) -> None:
        """Live preview, painter in widget coordinates."""

    # -- helpers ----------------------------------------------------------------
    def update(self) -> None:
        self.canvas.update()
