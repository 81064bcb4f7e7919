"""A horizontal bar chart (pyqtgraph) whose bars are clickable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor


@dataclass
class Bar:
    label: str
    value: float
    color: str
    key: Any  # what a click hands back (e.g. an ImageQuery)
    tip: str = ""


class BarChart(pg.PlotWidget):
    """Bars from top to bottom; ``barClicked(key)`` fires with the clicked bar's key."""

    barClicked = Signal(object)

    def __init__(self, title: str, parent: Any = None) -> None:
        super().__init__(parent=parent, background=None)
        self.setTitle(title, color="#c8ccd4", size="10pt")
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.getPlotItem().showGrid(x=True, y=False, alpha=0.15)
        for ax in ("left", "bottom"):
            self.getAxis(ax).setTextPen("#aab0bb")
            self.getAxis(ax).setPen("#555a63")
        self._bars: list[Bar] = []
        self._item: pg.BarGraphItem | None = None
        self._labels: list[pg.TextItem] = []
        self.scene().sigMouseClicked.connect(self._on_click)
        self.setMinimumHeight(140)

    def set_bars(self, bars: Sequence[Bar]) -> None:
        self._bars = list(bars)
        pi = self.getPlotItem()
        if self._item is not None:
            pi.removeItem(self._item)
        for t in self._labels:
            pi.removeItem(t)
        self._labels = []
        n = len(self._bars)
        self.setVisible(n > 0)  # an empty chart says nothing
        if n == 0:  # (and pyqtgraph cannot draw an empty BarGraphItem)
            self._item = None
            return
        ys = list(range(n - 1, -1, -1))  # first bar on top
        self._item = pg.BarGraphItem(
            x0=[0] * n,
            y=ys,
            height=0.7,
            width=[b.value for b in self._bars],
            brushes=[QColor(b.color) for b in self._bars],
            pens=[pg.mkPen(QColor(b.color).darker(130)) for b in self._bars],
        )
        pi.addItem(self._item)
        top = max([b.value for b in self._bars] + [1])
        for y, b in zip(ys, self._bars, strict=True):
            t = pg.TextItem(f"{b.value:g}", color="#e6e6e6", anchor=(0, 0.5))
            t.setPos(b.value + top * 0.01, y)
            pi.addItem(t)
            self._labels.append(t)
        self.getAxis("left").setTicks([[(y, b.label) for y, b in zip(ys, self._bars, strict=True)]])
        pi.setXRange(0, top * 1.15, padding=0)
        pi.setYRange(-0.6, max(n - 0.4, 0.6), padding=0)
        self.setFixedHeight(min(70 + 26 * n, 420))

    def bars(self) -> list[Bar]:
        return list(self._bars)

    def bar_at(self, scene_pos: Any) -> Bar | None:
        vb = self.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = vb.mapSceneToView(scene_pos)
        n = len(self._bars)
        idx = n - 1 - round(p.y())
        if (
            0 <= idx < n
            and abs(p.y() - round(p.y())) <= 0.4
            and 0 <= p.x() <= max(self._bars[idx].value, 1e-9) * 1.0 + 1e-9
        ):
            return self._bars[idx]
        return None

    def _on_click(self, ev: Any) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        bar = self.bar_at(ev.scenePos())
        if bar is not None and bar.key is not None:
            self.barClicked.emit(bar.key)
