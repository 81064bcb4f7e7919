"""Widgets shared by the raster tools' option bars."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox


def output_combo(tool: Any) -> QComboBox:
    """'Mask' or 'Polygon': what a wand or lasso region becomes (``tool.set_output``)."""
    combo = QComboBox()
    combo.addItem("Mask", "mask")
    combo.addItem("Polygon", "polygon")
    combo.currentIndexChanged.connect(lambda _i: tool.set_output(combo.currentData()))
    return combo


def sync_output_combo(combo: QComboBox, tool: Any) -> None:
    combo.setCurrentIndex(0 if tool.output == "mask" else 1)
