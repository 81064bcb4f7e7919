"""File > Import… and File > Export…: preview first, then run the real work as a job.

The preview is the same call as the real import/export (``dry_run=True`` for an
import, ``plan_export`` for an export), so what the dialog promises is what runs.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lightable.core.errors import LightableError

ISSUES_SHOWN = 20


def _path_row(edit: QLineEdit, *buttons: QToolButton) -> QWidget:
    w = QWidget()
    lay = QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(edit, 1)
    for b in buttons:
        lay.addWidget(b)
    return w


def _error_text(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, LightableError) else f"{type(exc).__name__}: {exc}"


class _JobDialog(QDialog):
    """Shared plumbing: a preview box, a run button, and the job it starts."""

    finished_job = Signal(object)  # the job's result, once it succeeded

    def __init__(self, project: Any, runner: Any, parent: Any = None) -> None:
        super().__init__(parent)
        self.project = project
        self.runner = runner
        self.job: Any = None
        self.preview = QPlainTextEdit(readOnly=True)
        self.preview.setMinimumHeight(180)
        self.preview.setPlaceholderText("Press Preview to see what will happen.")
        self.preview_button = QPushButton("Preview")
        self.run_button = QPushButton()
        self.run_button.setDefault(True)
        self.cancel_button = QPushButton("Close")
        self.preview_button.clicked.connect(self.run_preview)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.reject)
        self.form = QFormLayout()
        buttons = QHBoxLayout()
        buttons.addWidget(self.preview_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.run_button)
        lay = QVBoxLayout(self)
        lay.addLayout(self.form)
        lay.addWidget(self.preview, 1)
        lay.addLayout(buttons)
        self.resize(640, 460)

    def show_lines(self, lines: list[str]) -> None:
        self.preview.setPlainText("\n".join(lines))

    def run_preview(self) -> bool:
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.show_lines(self.preview_lines())
            return True
        except Exception as exc:  # shown to the user: a bad file must not crash the window
            self.show_lines([f"Cannot preview: {_error_text(exc)}"])
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()

    def start(self) -> Any:
        args = self.job_args()
        if args is None:
            return None
        title, fn, fargs = args
        self.run_button.setEnabled(False)
        self.job = self.runner.start(title, fn, *fargs)
        self.job.succeeded.connect(self._succeeded)
        self.job.failed.connect(self._failed)
        self.show_lines([f"{title}… (see the Jobs panel)"])
        return self.job

    def _succeeded(self, result: Any) -> None:
        self.show_lines(self.result_lines(result))
        self.run_button.setEnabled(True)
        self.finished_job.emit(result)

    def _failed(self, message: str) -> None:
        self.show_lines([f"Failed: {message}"])
        self.run_button.setEnabled(True)

    # -- for subclasses -----------------------------------------------------------------
    def preview_lines(self) -> list[str]:
        raise NotImplementedError

    def job_args(self) -> tuple[str, Any, tuple] | None:
        raise NotImplementedError

    def result_lines(self, result: Any) -> list[str]:
        raise NotImplementedError


def _import_job(project: Any, path: str, fmt: str, strict: bool, state: Any) -> Any:
    from lightable.formats.project_io import import_path

    return import_path(project, path, fmt, strict=strict, state=state)


def _export_job(project: Any, fmt: str, out: str, options: Any, state: Any) -> Any:
    from lightable.formats.export_io import export_dataset

    state.set_message(f"writing {fmt}")
    return export_dataset(project, fmt, out, options)


class ImportDialog(_JobDialog):
    """Pick a file or folder and a format; preview (dry run); import as a job."""

    def __init__(self, project: Any, runner: Any, parent: Any = None) -> None:
        super().__init__(project, runner, parent)
        from lightable.formats import registry

        self.setWindowTitle("Import annotations")
        self.run_button.setText("Import")
        self.path = QLineEdit(placeholderText="Annotation file or data set folder")
        self.path.textChanged.connect(lambda _t: self.preview.clear())
        file_button = QToolButton(text="File…")
        folder_button = QToolButton(text="Folder…")
        file_button.clicked.connect(self._pick_file)
        folder_button.clicked.connect(self._pick_folder)
        self.format = QComboBox()
        self.format.addItem("Detect automatically", "auto")
        for spec in registry.readers():
            self.format.addItem(spec.title, spec.name)
        self.strict = QCheckBox("Strict: stop at the first problem, import nothing")
        self.form.addRow("Source", _path_row(self.path, file_button, folder_button))
        self.form.addRow("Format", self.format)
        self.form.addRow("", self.strict)

    def _pick_file(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self, "Annotation file to import")
        if f:
            self.path.setText(f)

    def _pick_folder(self) -> None:
        f = QFileDialog.getExistingDirectory(self, "Data set folder to import")
        if f:
            self.path.setText(f)

    def _args(self) -> tuple[str, str, bool] | None:
        path = self.path.text().strip()
        if not path:
            self.show_lines(["Choose a file or folder to import first."])
            return None
        return path, self.format.currentData(), self.strict.isChecked()

    def preview_lines(self) -> list[str]:
        from lightable.formats.project_io import import_path

        args = self._args()
        if args is None:
            return self.preview.toPlainText().splitlines()
        path, fmt, strict = args
        s = import_path(self.project, path, fmt, strict=strict, dry_run=True)
        return [*s.lines(), "", *s.report.summary_lines(ISSUES_SHOWN)]

    def job_args(self) -> tuple[str, Any, tuple] | None:
        args = self._args()
        if args is None:
            return None
        path, fmt, strict = args
        return f"Importing {path}", _import_job, (self.project, path, fmt, strict)

    def result_lines(self, result: Any) -> list[str]:
        return [*result.lines(), "", *result.report.summary_lines(ISSUES_SHOWN)]


class ExportDialog(_JobDialog):
    """Pick a format, a folder and what to include; see what the format loses; export."""

    def __init__(self, project: Any, runner: Any, parent: Any = None) -> None:
        super().__init__(project, runner, parent)
        from lightable.formats import registry

        self.setWindowTitle("Export data set")
        self.run_button.setText("Export")
        self.preview_button.setText("What will be lost?")
        self.format = QComboBox()
        for spec in registry.writers():
            self.format.addItem(spec.title, spec.name)
        self.out = QLineEdit(placeholderText="Output folder (created if missing)")
        out_button = QToolButton(text="…")
        out_button.clicked.connect(self._pick_out)
        self.splits = QLineEdit(placeholderText="all splits (or e.g. train, val)")
        self.labels = QLineEdit(placeholderText="all labels (or e.g. cat, dog)")
        self.run = QComboBox()
        self.run.addItem("Annotations", None)
        from lightable.store.predictions import PredictionRepo

        for r in PredictionRepo(project).runs():
            self.run.addItem(f"Predictions of run {r.id}: {r.name}", r.id)
        self.threshold = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, value=0.0)
        self.media = QComboBox()
        for text, value in (("Annotations only", "none"), ("Link images", "link"),
                            ("Copy images", "copy")):  # fmt: skip
            self.media.addItem(text, value)
        self.overwrite = QCheckBox("Replace the folder if it is not empty")
        for w in (self.format, self.run, self.splits, self.labels):
            sig = w.currentIndexChanged if isinstance(w, QComboBox) else w.textChanged
            sig.connect(lambda *_: self.preview.clear())
        self.form.addRow("Format", self.format)
        self.form.addRow("Folder", _path_row(self.out, out_button))
        self.form.addRow("Export", self.run)
        self.form.addRow("Min. score", self.threshold)
        self.form.addRow("Splits", self.splits)
        self.form.addRow("Labels", self.labels)
        self.form.addRow("Images", self.media)
        self.form.addRow("", self.overwrite)

    def _pick_out(self) -> None:
        f = QFileDialog.getExistingDirectory(self, "Export into folder")
        if f:
            self.out.setText(f)

    def options(self) -> Any:
        from lightable.formats.model import ExportOptions, MediaMode

        def names(edit: QLineEdit) -> list[str] | None:
            parts = [p.strip() for p in edit.text().split(",") if p.strip()]
            return parts or None

        return ExportOptions(
            labels=names(self.labels),
            splits=names(self.splits),
            run_id=self.run.currentData(),
            threshold=self.threshold.value(),
            media=MediaMode(self.media.currentData()),
            overwrite=self.overwrite.isChecked(),
        )

    def preview_lines(self) -> list[str]:
        from lightable.formats.export_io import plan_export

        report = plan_export(self.project, self.format.currentData(), self.options())
        stats = [f"  {k}: {v}" for k, v in report.stats.items()]
        lost = report.summary_lines(ISSUES_SHOWN)
        return [
            f"Export as {self.format.currentText()}:",
            *stats,
            "",
            "What will be lost:" if lost else "Nothing is lost in this format.",
            *lost,
        ]

    def job_args(self) -> tuple[str, Any, tuple] | None:
        out = self.out.text().strip()
        if not out:
            self.show_lines(["Choose an output folder first."])
            return None
        fmt = self.format.currentData()
        return f"Exporting {fmt} to {out}", _export_job, (self.project, fmt, out, self.options())

    def result_lines(self, result: Any) -> list[str]:
        return [f"Exported to {self.out.text().strip()}", "", *result.summary_lines(ISSUES_SHOWN)]
