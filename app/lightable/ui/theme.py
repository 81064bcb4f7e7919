"""Colours for long hours: a dark Fusion palette, one accent colour, a small stylesheet.

Everything else in the UI asks this module for colours (``color("accent")``) rather
than hard-coding them, so the light theme and the dark one stay consistent.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#3d9df3"

_DARK = {
    "window": "#25272b",
    "base": "#1c1d20",
    "alt_base": "#222428",
    "panel": "#2b2d32",
    "border": "#3a3d43",
    "text": "#dfe2e7",
    "text_dim": "#9399a3",
    "disabled": "#676c75",
    "button": "#31343a",
    "tile": "#2a2c31",
    "tile_hover": "#33363c",
    "error": "#e5534b",
    "error_bg": "#3b2325",
    "ok": "#57ab5a",
    "warn": "#d4a72c",
    "accent": ACCENT,
    "accent_text": "#ffffff",
}

_LIGHT = {
    "window": "#eceef1",
    "base": "#ffffff",
    "alt_base": "#f5f6f8",
    "panel": "#e3e6ea",
    "border": "#c4c9d0",
    "text": "#1d2025",
    "text_dim": "#5b626c",
    "disabled": "#9aa0a8",
    "button": "#f4f5f7",
    "tile": "#e1e4e8",
    "tile_hover": "#d6dae0",
    "error": "#c93c37",
    "error_bg": "#fbe4e3",
    "ok": "#2e8b3d",
    "warn": "#9a6b00",
    "accent": "#1f7ae0",
    "accent_text": "#ffffff",
}

_current: dict[str, str] = dict(_DARK)
_current_name = "dark"


_colors: dict[str, QColor] = {}


def color(role: str) -> QColor:
    """A named colour of the current theme (``accent``, ``text_dim``, ``error``...).

    Shared instances (painting asks for them per tile): copy before changing one.
    """
    c = _colors.get(role)
    if c is None:
        c = _colors[role] = QColor(_current[role])
    return c


def hex_color(role: str) -> str:
    return _current[role]


def current() -> str:
    return _current_name


def _palette(c: dict[str, str]) -> QPalette:
    p = QPalette()
    R = QPalette.ColorRole
    G = QPalette.ColorGroup
    p.setColor(R.Window, QColor(c["window"]))
    p.setColor(R.WindowText, QColor(c["text"]))
    p.setColor(R.Base, QColor(c["base"]))
    p.setColor(R.AlternateBase, QColor(c["alt_base"]))
    p.setColor(R.ToolTipBase, QColor(c["panel"]))
    p.setColor(R.ToolTipText, QColor(c["text"]))
    p.setColor(R.PlaceholderText, QColor(c["text_dim"]))
    p.setColor(R.Text, QColor(c["text"]))
    p.setColor(R.Button, QColor(c["button"]))
    p.setColor(R.ButtonText, QColor(c["text"]))
    p.setColor(R.BrightText, QColor(c["error"]))
    p.setColor(R.Highlight, QColor(c["accent"]))
    p.setColor(R.HighlightedText, QColor(c["accent_text"]))
    p.setColor(R.Link, QColor(c["accent"]))
    p.setColor(R.Light, QColor(c["border"]).lighter(130))
    p.setColor(R.Midlight, QColor(c["border"]))
    p.setColor(R.Mid, QColor(c["panel"]))
    p.setColor(R.Dark, QColor(c["base"]).darker(130))
    p.setColor(R.Shadow, QColor("#000000"))
    for role in (R.WindowText, R.Text, R.ButtonText):
        p.setColor(G.Disabled, role, QColor(c["disabled"]))
    p.setColor(G.Disabled, R.Highlight, QColor(c["border"]))
    return p


def _stylesheet(c: dict[str, str]) -> str:
    # Kept small on purpose: the palette does most of the work, this only fixes
    # what Fusion draws too faint on a dark background (dock titles, splitters,
    # focus rings, the status bar) and gives the accent to progress bars.
    return f"""
QToolTip {{ color: {c["text"]}; background: {c["panel"]}; border: 1px solid {c["border"]};
           padding: 4px; }}
QMainWindow::separator {{ background: {c["window"]}; width: 4px; height: 4px; }}
QMainWindow::separator:hover {{ background: {c["accent"]}; }}
QDockWidget::title {{ background: {c["panel"]}; padding: 5px 8px; text-align: left;
                      border-bottom: 1px solid {c["border"]}; }}
QTabBar::tab {{ background: {c["window"]}; color: {c["text_dim"]}; padding: 5px 12px;
                border: 1px solid {c["border"]}; border-bottom: none; }}
QTabBar::tab:selected {{ background: {c["panel"]}; color: {c["text"]};
                         border-top: 2px solid {c["accent"]}; }}
QStatusBar {{ background: {c["panel"]}; border-top: 1px solid {c["border"]}; }}
QStatusBar QLabel {{ color: {c["text_dim"]}; padding: 0 6px; }}
QProgressBar {{ border: 1px solid {c["border"]}; border-radius: 3px; background: {c["base"]};
                text-align: center; color: {c["text"]}; min-height: 14px; }}
QProgressBar::chunk {{ background: {c["accent"]}; border-radius: 2px; }}
QProgressBar[state="failed"]::chunk {{ background: {c["error"]}; }}
QProgressBar[state="cancelled"]::chunk {{ background: {c["disabled"]}; }}
QProgressBar[state="done"]::chunk {{ background: {c["ok"]}; }}
QLineEdit, QComboBox, QSpinBox {{ padding: 3px 6px; border: 1px solid {c["border"]};
                                  border-radius: 3px; background: {c["base"]}; }}
QLineEdit:focus, QComboBox:focus, QSpinBox:focus {{ border: 1px solid {c["accent"]}; }}
QToolButton {{ padding: 3px; border-radius: 3px; }}
QToolButton:hover {{ background: {c["tile_hover"]}; }}
QToolButton:checked {{ background: {c["accent"]}; color: {c["accent_text"]}; }}
QPushButton {{ padding: 4px 12px; border: 1px solid {c["border"]}; border-radius: 3px;
               background: {c["button"]}; }}
QPushButton:hover {{ border-color: {c["accent"]}; }}
QPushButton:default {{ border-color: {c["accent"]}; }}
QMenu::separator {{ height: 1px; background: {c["border"]}; margin: 4px 8px; }}
QHeaderView::section {{ background: {c["panel"]}; padding: 4px; border: none;
                        border-right: 1px solid {c["border"]}; }}
QLabel#dim {{ color: {c["text_dim"]}; }}
QLabel#error {{ color: {c["error"]}; }}
QFrame#jobRow {{ border-bottom: 1px solid {c["border"]}; }}
"""


def apply_theme(app: QApplication, name: str = "dark") -> None:
    """Fusion style, the palette and the stylesheet of ``name`` ("dark" or "light")."""
    global _current_name
    _current.clear()
    _current.update(_LIGHT if name == "light" else _DARK)
    _current_name = "light" if name == "light" else "dark"
    _colors.clear()
    app.setStyle("Fusion")
    app.setPalette(_palette(_current))
    app.setStyleSheet(_stylesheet(_current))
