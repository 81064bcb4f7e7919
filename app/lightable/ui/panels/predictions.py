"""Predictions panel: pick a model run to pre-fill the canvas with, set the score
threshold, accept or reject proposals, start a pre-label run, edit the label mapping.

Self-contained: the window makes ``PredictionsPanel(canvas)``, docks it, calls
``set_project(project)`` when a project opens (None when it closes) and connects
``prelabelRequested(dict)`` to whatever starts the pre-label job. Listing the
models imports torch, so it happens when the Pre-label dialog opens, not before.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

DEVICES = ("auto", "cuda", "mps", "cpu")


class PrelabelDialog(QDialog):
    """The pre-label form: model, weights, device, batch size, threshold."""

    def __init__(self, parent: QWidget | None = None, threshold: float = 0.5) -> None:
        super().__init__(parent)
        self.setWindowTitle("Pre-label")
        self.model = QComboBox()
        self.model.setEditable(True)  # a custom model's file path can be typed or browsed
        self.model.lineEdit().setPlaceholderText("model name or .pt / .pt2 file")
        try:
            from lightable.ml.registry import list_models

            models = list_models()
        except Exception as exc:  # torch/torchvision missing or broken: custom files still work
            models = {}
            self.model.setToolTip(f"torchvision models unavailable: {exc}")
        for name, task in models.items():
            self.model.addItem(f"{name}  ({task})", name)
        model_file = QPushButton("File…")
        model_file.clicked.connect(self._pick_model_file)
        self.weights = QLineEdit()
        self.weights.setPlaceholderText("default (hub cache or download)")
        weights_file = QPushButton("File…")
        weights_file.clicked.connect(self._pick_weights)
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 512)
        self.batch_size.setValue(4)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(threshold)
        form = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.model, 1)
        row.addWidget(model_file)
        form.addRow("Model", row)
        row = QHBoxLayout()
        row.addWidget(self.weights, 1)
        row.addWidget(weights_file)
        form.addRow("Weights", row)
        form.addRow("Device", self.device)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Min score", self.threshold)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Run")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.buttons)

    def _pick_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Model file", "", "Models (*.pt *.pt2 *.pth *.torchscript);;All files (*)"
        )
        if path:
            self.model.setEditText(path)

    def _pick_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Weights file", "", "Weights (*.pth *.pt);;All (*)"
        )
        if path:
            self.weights.setText(path)

    def model_name(self) -> str:
        i = self.model.currentIndex()
        text = self.model.currentText().strip()
        if i >= 0 and text == self.model.itemText(i):
            return str(self.model.itemData(i))
        return text

    def values(self) -> dict[str, Any]:
        return {
            "model": self.model_name(),
            "weights": self.weights.text().strip() or None,
            "device": self.device.currentText(),
            "batch_size": self.batch_size.value(),
            "threshold": round(self.threshold.value(), 4),
        }


class PredictionsPanel(QWidget):
    prelabelRequested = Signal(dict)  # {model, weights, device, batch_size, threshold}
    _runsChanged = Signal()  # project notifications arrive on any thread

    def __init__(self, canvas: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.project: Any = None
        self._unsubscribe: Any = None
        self.prelabel_dialog: PrelabelDialog | None = None
        self.mapping_dialog: QDialog | None = None

        self.runs = QComboBox()
        self.runs.setToolTip("The model run whose predictions pre-fill the canvas")
        self.runs.currentIndexChanged.connect(self._on_run)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(round(canvas.proposals.threshold * 100))
        self.slider.setToolTip("Show proposals scoring at least this much")
        self.slider.valueChanged.connect(self._on_threshold)
        self.threshold_label = QLabel()
        self.threshold_label.setMinimumWidth(32)
        self.counts = QLabel()
        self.counts.setWordWrap(True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(mid);")
        self.accept_all = QPushButton("Accept all")
        self.accept_all.setToolTip("Accept every proposal shown (Shift+Enter)")
        self.accept_all.clicked.connect(lambda: canvas.proposals.accept_all())
        self.reject_button = QPushButton("Reject selected")
        self.reject_button.setToolTip("Hide the selected proposal for this session (Delete)")
        self.reject_button.clicked.connect(lambda: canvas.proposals.reject())
        self.prelabel = QPushButton("Pre-label…")
        self.prelabel.setToolTip("Run a model over the project to propose labels")
        self.prelabel.clicked.connect(self.open_prelabel)
        self.mapping = QPushButton("Label mapping…")
        self.mapping.setToolTip("Which project label each class of the run's model becomes")
        self.mapping.clicked.connect(self.open_mapping)

        lay = QVBoxLayout(self)
        form = QFormLayout()
        form.addRow("Run", self.runs)
        row = QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.threshold_label)
        form.addRow("Min score", row)
        lay.addLayout(form)
        lay.addWidget(self.counts)
        row = QHBoxLayout()
        row.addWidget(self.accept_all)
        row.addWidget(self.reject_button)
        lay.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.prelabel)
        row.addWidget(self.mapping)
        lay.addLayout(row)
        lay.addWidget(self.note)
        lay.addStretch(1)

        canvas.proposals.changed.connect(self.refresh_counts)
        canvas.message.connect(self.note.setText)
        self._runsChanged.connect(self.reload_runs, Qt.ConnectionType.QueuedConnection)
        self._on_threshold(self.slider.value())
        self.reload_runs()

    # -- project ------------------------------------------------------------------------
    def set_project(self, project: Any) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.project = project
        if project is not None:
            self._unsubscribe = project.subscribe(self._on_change)
        self.reload_runs()

    def _on_change(self, change: Any) -> None:
        if change.kind == "model_runs.changed":
            self._runsChanged.emit()

    def reload_runs(self) -> None:
        """The run list again (newest first), keeping the chosen run when it still exists."""
        keep = self.runs.currentData()
        runs = []
        if self.project is not None:
            from lightable.store.predictions import PredictionRepo

            runs = PredictionRepo(self.project).runs()
        self.runs.blockSignals(True)
        self.runs.clear()
        self.runs.addItem("None", None)
        for r in runs:
            self.runs.addItem(f"#{r.id} {r.name} ({r.status})", r.id)
        i = self.runs.findData(keep) if keep is not None else 0
        self.runs.setCurrentIndex(max(0, i))
        self.runs.blockSignals(False)
        self._on_run()

    def run_id(self) -> int | None:
        return self.runs.currentData()

    def set_run(self, run_id: int | None) -> None:
        self.runs.setCurrentIndex(max(0, self.runs.findData(run_id) if run_id else 0))

    # -- proposals ----------------------------------------------------------------------
    def _on_run(self, *_: Any) -> None:
        self.canvas.set_prediction_run(self.run_id())
        self.refresh_counts()

    def _on_threshold(self, value: int) -> None:
        self.threshold_label.setText(f"{value / 100:.2f}")
        self.canvas.set_proposal_threshold(value / 100)

    def refresh_counts(self) -> None:
        p = self.canvas.proposals
        has_run = p.run_id is not None
        shown = len(p.visible()) if has_run else 0
        total = p.all_count() if has_run else 0
        if not has_run:
            self.counts.setText("Pick a run to see its predictions as proposals.")
        else:
            below = total - shown
            self.counts.setText(
                f"{shown} proposal{'s' if shown != 1 else ''} shown on this image"
                + (f" ({below} below the threshold)" if below else "")
            )
        self.accept_all.setEnabled(shown > 0)
        self.reject_button.setEnabled(p.selected is not None)
        self.mapping.setEnabled(has_run)

    # -- dialogs ------------------------------------------------------------------------
    def open_prelabel(self) -> PrelabelDialog:
        """The pre-label form (not modal); Run emits ``prelabelRequested``."""
        dlg = PrelabelDialog(self, self.slider.value() / 100)
        dlg.accepted.connect(lambda: self.prelabelRequested.emit(dlg.values()))
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.prelabel_dialog = dlg
        dlg.open()
        return dlg

    def open_mapping(self) -> QDialog | None:
        """The label mapping of the chosen run's model (its classes are in the run)."""
        from lightable.store.predictions import PredictionRepo

        rid = self.run_id()
        run = PredictionRepo(self.project).get_run(rid) if rid and self.project else None
        if run is None:
            self.note.setText("Pick a run first: its model's classes are listed from it.")
            return None
        classes = list(run.params.get("classes") or [])
        if not classes:
            # Older or foreign runs: the classes their predictions used.
            classes = sorted({p.class_name for p in _all_predictions(self.project, run.id)} - {""})
        key = _model_key(run)
        from lightable.ui.dialogs.label_mapping import LabelMappingDialog

        dlg = LabelMappingDialog(self.project, key, classes, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.mapping_dialog = dlg
        dlg.open()
        return dlg


def _model_key(run: Any) -> str:
    spec = run.params.get("spec")
    if spec:
        try:
            from lightable.ml.registry import ModelSpec

            return ModelSpec.parse(spec).key
        except Exception:
            pass
    return str(run.model)


def _all_predictions(project: Any, run_id: int) -> list[Any]:
    from lightable.store.predictions import PredictionRepo

    repo = PredictionRepo(project)
    ids = repo.image_ids_with_predictions(run_id)[:200]  # enough to list the classes used
    return [p for preds in repo.for_images(run_id, ids).values() for p in preds]
