"""SVG icons from ``lightable/resources/icons``, tinted for the current theme.

The SVGs draw with ``currentColor``; Qt's SVG renderer does not know it, so the
text is tinted here before rendering. Rendered icons are cached per name and tint.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from lightable.ui import theme

_HERE = Path(__file__).resolve().parent
# Installed wheel: lightable/resources; a source checkout may keep them at the top.
_ICON_DIRS = (_HERE.parent / "resources" / "icons", _HERE.parents[2] / "resources" / "icons")
SIZES = (16, 24, 32)  # Qt scales from the nearest; more sizes only cost start-up time


def icon_dir() -> Path:
    for d in _ICON_DIRS:
        if d.is_dir():
            return d
    return _ICON_DIRS[0]


def icon_names() -> list[str]:
    return sorted(p.stem for p in icon_dir().glob("*.svg"))


def icon(name: str, color: str | None = None) -> QIcon:
    """The icon ``name`` (file stem) tinted with ``color`` (default: the theme's text).

    A missing icon gives an empty QIcon rather than an error: a menu without a
    picture is better than a window that does not open.
    """
    return _icon(name, color or theme.hex_color("text"), theme.hex_color("disabled"))


@lru_cache(maxsize=512)
def _icon(name: str, color: str, disabled: str) -> QIcon:
    path = icon_dir() / f"{name}.svg"
    try:
        svg = path.read_text(encoding="utf-8")
    except OSError:
        return QIcon()
    out = QIcon()
    for mode, tint in ((QIcon.Mode.Normal, color), (QIcon.Mode.Disabled, disabled)):
        renderer = QSvgRenderer(QByteArray(svg.replace("currentColor", tint).encode()))
        if not renderer.isValid():
            return QIcon()
        for size in SIZES:
            out.addPixmap(_render(renderer, size), mode)
    return out


def pixmap(name: str, size: int, color: str | None = None) -> QPixmap:
    """``name`` rendered at exactly ``size`` pixels (a QIcon would not scale up past 32)."""
    return _pixmap(name, size, color or theme.hex_color("text"))


@lru_cache(maxsize=256)
def _pixmap(name: str, size: int, color: str) -> QPixmap:
    try:
        svg = (icon_dir() / f"{name}.svg").read_text(encoding="utf-8")
    except OSError:
        return QPixmap()
    renderer = QSvgRenderer(QByteArray(svg.replace("currentColor", color).encode()))
    return _render(renderer, size) if renderer.isValid() else QPixmap()


def _render(renderer: QSvgRenderer, size: int) -> QPixmap:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(p, QRectF(0, 0, size, size))
    p.end()
    return pm


def clear_cache() -> None:
    """Forget rendered icons (after a theme change)."""
    _icon.cache_clear()
    _pixmap.cache_clear()
