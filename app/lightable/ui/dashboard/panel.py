"""Label-distribution dashboard. Each bar clicks through to the exact images."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from lightable.core.model import ImageStatus
from lightable.store.images import ImageQuery
from lightable.store.stats import project_stats
from lightable.ui.dashboard.charts import Bar, BarChart

STATUS_COLORS = {
    "new": "#7f8c9a",
    "in_progress": "#edc948",
    "done": "#59a14f",
    "review": "#4e79a7",
    "broken": "#e15759",
}


class DashboardPanel(QWidget):
    """Charts over SQL aggregates (store.stats); refreshed when the project changes."""

    imagesRequested = Signal(object)  # ImageQuery

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._project: Any = None
        self._unsub: Any = None
        self._refresh_timer = QTimer(self, singleShot=True, interval=400)
        self._refresh_timer.timeout.connect(self.refresh)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        head = QWidget()
        hl = QVBoxLayout(head)
        hl.setContentsMargins(8, 6, 8, 0)
        self.summary = QLabel("No project")
        self.summary.setWordWrap(True)
        hl.addWidget(self.summary)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        hl.addWidget(self.refresh_button)
        outer.addWidget(head)
        body = QWidget()
        lay = QVBoxLayout(body)
        self.labels_chart = BarChart("Annotations per label")
        self.images_chart = BarChart("Images per label")
        self.status_chart = BarChart("Images by status")
        self.density_chart = BarChart("Annotations per image")
        for c in (self.labels_chart, self.images_chart, self.status_chart, self.density_chart):
            c.barClicked.connect(self.imagesRequested.emit)
            lay.addWidget(c)
        lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        self.stats: dict[str, Any] = {}

    def set_project(self, project: Any) -> None:
        if self._unsub:
            self._unsub()
            self._unsub = None
        self._project = project
        if project is not None:
            # Store listeners may fire on worker threads: only (re)start a timer via a queued call.
            self._unsub = project.subscribe(lambda _c: QTimer.singleShot(0, self._schedule))
        self.refresh()

    def _schedule(self) -> None:
        self._refresh_timer.start()

    def refresh(self) -> None:
        if self._project is None:
            self.summary.setText("No project")
            return
        s = self.stats = project_stats(self._project)
        n_ann = sum(lb["annotations"] for lb in s["labels"])
        n_img = sum(s["images_by_status"].values())
        self.summary.setText(
            f"<b>{n_img}</b> images · <b>{n_ann}</b> annotations · "
            f"<b>{len(s['labels'])}</b> labels. Click a bar to see its images."
        )
        self.labels_chart.set_bars(
            [
                Bar(lb["name"], lb["annotations"], lb["color"], ImageQuery(label_id=lb["label_id"]))
                for lb in s["labels"]
            ]
        )
        self.images_chart.set_bars(
            [
                Bar(lb["name"], lb["images"], lb["color"], ImageQuery(label_id=lb["label_id"]))
                for lb in s["labels"]
            ]
        )
        self.status_chart.set_bars(
            [
                Bar(
                    k.replace("_", " "),
                    v,
                    STATUS_COLORS.get(k, "#888"),
                    ImageQuery(status=ImageStatus(k)),
                )
                for k, v in s["images_by_status"].items()
            ]
        )
        self.density_chart.set_bars(
            [Bar(k, v, "#76b7b2", None) for k, v in s["annotations_per_image"].items()]
        )
