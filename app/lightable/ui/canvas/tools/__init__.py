"""The canvas's tools, keyed by name; each knows its Photoshop key.

Raster tools (brush, eraser, wand, lasso) are another helper's modules and are
picked up when present.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

from lightable.ui.canvas.tools.base import Tool, ToolEvent

if TYPE_CHECKING:
    from lightable.ui.canvas.widget import CanvasWidget

log = logging.getLogger(__name__)

# Order is the order of the toolbar and the Tools menu.
TOOL_CLASSES: list[tuple[str, str]] = [
    ("lightable.ui.canvas.tools.select", "SelectTool"),
    ("lightable.ui.canvas.tools.rect", "RectTool"),
    ("lightable.ui.canvas.tools.polygon", "PolygonTool"),
    ("lightable.ui.canvas.tools.brush", "BrushTool"),
    ("lightable.ui.canvas.tools.brush", "EraserTool"),
    ("lightable.ui.canvas.tools.wand", "WandTool"),
    ("lightable.ui.canvas.tools.lasso", "LassoTool"),
    ("lightable.ui.canvas.tools.keypoints", "KeypointsTool"),
    ("lightable.ui.canvas.tools.navigate", "HandTool"),
    ("lightable.ui.canvas.tools.navigate", "ZoomTool"),
]


def build_tools(canvas: CanvasWidget) -> dict[str, Tool]:
    tools: dict[str, Tool] = {}
    for module, cls_name in TOOL_CLASSES:
        try:
            cls = getattr(importlib.import_module(module), cls_name)
        except (ImportError, AttributeError) as exc:
            log.debug("tool %s.%s not available: %s", module, cls_name, exc)
            continue
        tool = cls(canvas)
        tools[tool.name] = tool
    return tools


__all__ = ["TOOL_CLASSES", "Tool", "ToolEvent", "build_tools"]
