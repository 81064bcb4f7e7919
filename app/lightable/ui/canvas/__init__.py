"""The annotation canvas: ``CanvasWidget`` and its tools (see widget.py, tools/)."""

from lightable.ui.canvas.widget import CanvasWidget

__all__ = ["CanvasWidget"]
