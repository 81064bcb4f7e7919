"""The Jobs dock (every job with progress, rate, ETA, Cancel) and its status-bar twin."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lightable.jobs.base import Progress
from lightable.ui import icons
from lightable.ui.jobs import Job, JobRunner, JobStatus


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}:{s % 60:02d}"
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def format_rate(rate: float) -> str:
    if rate >= 100:
        return f"{rate:,.0f}/s"
    if rate >= 1:
        return f"{rate:.1f}/s"
    return f"{rate:.2f}/s" if rate > 0 else "—"


def describe(job: Job) -> str:
    """One line: counts, rate and ETA while running; the outcome once ended."""
    p: Progress = job.progress
    if job.status == JobStatus.FAILED:
        return f"Failed: {job.error}"
    if job.status == JobStatus.CANCELLED:
        return f"Cancelled after {p.done:,} items"
    if job.status == JobStatus.DONE:
        return f"Done: {p.done:,} items in {format_duration(p.elapsed)}"
    if job.status == JobStatus.QUEUED:
        return "Cancelling…" if job.cancel_requested else "Waiting…"
    parts = []
    if p.message:
        parts.append(p.message)
    parts.append(f"{p.done:,} / {p.total:,}" if p.total else f"{p.done:,}")
    parts.append(format_rate(p.rate))
    if p.eta is not None:
        parts.append(f"{format_duration(p.eta)} left")
    if job.cancel_requested:
        parts.append("cancelling…")
    return " · ".join(parts)


def _update_bar(bar: QProgressBar, job: Job) -> None:
    if bar.property("state") != str(job.status):
        bar.setProperty("state", str(job.status))  # the theme colours failed/cancelled bars
        bar.style().unpolish(bar)
        bar.style().polish(bar)
    p = job.progress
    if job.status == JobStatus.DONE:
        bar.setRange(0, 100)
        bar.setValue(100)
    elif p.total:
        bar.setRange(0, 1000)
        bar.setValue(int(1000 * (p.fraction or 0.0)))
    elif job.is_active():
        bar.setRange(0, 0)  # busy indicator while the total is unknown
    else:
        bar.setRange(0, 100)
        bar.setValue(0)


class JobRow(QFrame):
    """One job in the Jobs dock."""

    def __init__(self, job: Job, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("jobRow")
        self.job = job
        self.title = QLabel(job.title)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.detail = QLabel()
        self.detail.setObjectName("dim")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cancel_button = QToolButton()
        self.cancel_button.setIcon(icons.icon("cancel"))
        self.cancel_button.setToolTip("Cancel this job")
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.clicked.connect(job.cancel)
        self.cancel_button.clicked.connect(self.refresh)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title, 1)
        top.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(3)
        layout.addLayout(top)
        layout.addWidget(self.bar)
        layout.addWidget(self.detail)
        job.progressed.connect(self.refresh)
        job.statusChanged.connect(self.refresh)
        self.refresh()

    def refresh(self, *_: object) -> None:
        job = self.job
        _update_bar(self.bar, job)
        self.detail.setText(describe(job))
        self.detail.setObjectName("error" if job.status == JobStatus.FAILED else "dim")
        self.detail.style().unpolish(self.detail)
        self.detail.style().polish(self.detail)
        if job.details:
            self.detail.setToolTip(job.details)
        self.cancel_button.setVisible(job.is_active())
        self.cancel_button.setEnabled(not job.cancel_requested)


class JobsPanel(QWidget):
    """Running jobs on top, finished ones below, newest first."""

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.rows: dict[int, JobRow] = {}

        self.empty = QLabel(
            "No jobs yet. Adding images, building thumbnails, importing and\n"
            "running models show their progress here."
        )
        self.empty.setObjectName("dim")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.list = QWidget()
        self.list_layout = QVBoxLayout(self.list)
        self.list_layout.setContentsMargins(0, 0, 0, 0)
        self.list_layout.setSpacing(0)
        self.list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.list)

        self.clear_button = QPushButton("Clear finished")
        self.clear_button.clicked.connect(self.clear_finished)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.clear_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.addWidget(self.empty, 1)
        layout.addWidget(scroll, 1)
        layout.addLayout(bottom)
        self._scroll = scroll
        for job in runner.jobs:
            self._add(job)
        runner.jobAdded.connect(self._add)
        runner.jobEnded.connect(self._update_empty)
        self._update_empty()

    def _add(self, job: Job) -> None:
        row = JobRow(job)
        self.rows[job.id] = row
        self.list_layout.insertWidget(0, row)
        self._update_empty()

    def row(self, job: Job) -> JobRow:
        return self.rows[job.id]

    def clear_finished(self) -> None:
        self.runner.clear_finished()
        for job_id, row in list(self.rows.items()):
            if not row.job.is_active():
                row.setParent(None)
                row.deleteLater()
                del self.rows[job_id]
        self._update_empty()

    def _update_empty(self, *_: object) -> None:
        has = bool(self.rows)
        self.empty.setVisible(not has)
        self._scroll.setVisible(has)
        self.clear_button.setEnabled(any(not r.job.is_active() for r in self.rows.values()))


class JobStatusWidget(QWidget):
    """Status-bar view of the newest running job: title, bar, ETA, cancel."""

    clicked = Signal()

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.job: Job | None = None
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(140)
        self.bar.setMaximumHeight(16)
        self.bar.setTextVisible(False)
        self.eta = QLabel()
        self.cancel_button = QToolButton()
        self.cancel_button.setIcon(icons.icon("cancel"))
        self.cancel_button.setToolTip("Cancel the running job")
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.clicked.connect(self._cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.eta)
        layout.addWidget(self.cancel_button)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        runner.jobAdded.connect(self._follow)
        runner.jobEnded.connect(self._ended)
        self.setVisible(False)

    def _follow(self, job: Job) -> None:
        if self.job is not None:
            self.job.progressed.disconnect(self.refresh)
        self.job = job
        job.progressed.connect(self.refresh)
        self.refresh()
        self.setVisible(True)

    def _ended(self, job: Job) -> None:
        if job is not self.job:
            return
        active = self.runner.active()
        if active:
            self._follow(active[-1])
        else:
            self.job.progressed.disconnect(self.refresh)
            self.job = None
            self.setVisible(False)

    def _cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.refresh()

    def refresh(self, *_: object) -> None:
        job = self.job
        if job is None:
            return
        self.label.setText(job.title)
        _update_bar(self.bar, job)
        p = job.progress
        if job.cancel_requested:
            self.eta.setText("cancelling…")
        elif p.total:
            eta = f" · {format_duration(p.eta)} left" if p.eta is not None else ""
            self.eta.setText(f"{int(100 * (p.fraction or 0))}%{eta}")
        else:
            self.eta.setText(f"{p.done:,}")
        self.cancel_button.setEnabled(job.is_active() and not job.cancel_requested)
