"""Label mapping: which project label each model class becomes, which classes are
ignored, and a score threshold per class; remembered per model (``save_mapping``).

Rows start from the saved mapping brought up to date (``load_mapping``), which
matches classes to labels by name first. Picking a label un-ignores the class;
a threshold of 0 in the spin box means "the run's threshold".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

NO_LABEL = "(no label)"
COL_CLASS, COL_LABEL, COL_IGNORE, COL_THRESHOLD = range(4)


class LabelMappingDialog(QDialog):
    def __init__(
        self, project: Any, model_key: str, classes: Sequence[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        from lightable.ml.mapping import load_mapping

        self.setWindowTitle(f"Label mapping — {model_key}")
        self.project = project
        self.classes = list(classes)
        self.mapping = load_mapping(project, model_key, self.classes)
        self.labels = sorted(project.labels.all(), key=lambda lb: (lb.position, lb.id or 0))

        intro = QLabel(
            "Which project label each model class becomes. Unmapped classes are "
            + ("kept as new labels." if self.mapping.unmatched == "keep" else "skipped.")
            + " A threshold of 0 uses the run's threshold."
        )
        intro.setWordWrap(True)
        self.table = QTableWidget(len(self.classes), 4, self)
        self.table.setHorizontalHeaderLabels(
            ["Model class", "Project label", "Ignore", "Min score"]
        )
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_CLASS, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_LABEL, QHeaderView.ResizeMode.Stretch)
        for row, name in enumerate(self.classes):
            self._fill_row(row, name)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addWidget(self.table, 1)
        lay.addWidget(buttons)
        self.resize(560, min(640, 140 + 30 * len(self.classes)))

    def _fill_row(self, row: int, name: str) -> None:
        from PySide6.QtWidgets import QTableWidgetItem

        rule = self.mapping.rules.get(name)
        item = QTableWidgetItem(name)
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        self.table.setItem(row, COL_CLASS, item)
        combo = QComboBox()
        combo.addItem(NO_LABEL, None)
        for lb in self.labels:
            combo.addItem(lb.name, lb.id)
        if rule is not None and rule.label_id is not None:
            combo.setCurrentIndex(max(0, combo.findData(rule.label_id)))
        ignore = QCheckBox()
        ignore.setChecked(bool(rule and rule.ignore))
        combo.currentIndexChanged.connect(
            lambda _i, c=combo, box=ignore: box.setChecked(False) if c.currentData() else None
        )
        spin = QDoubleSpinBox()
        spin.setRange(0.0, 1.0)
        spin.setSingleStep(0.05)
        spin.setDecimals(2)
        spin.setValue(rule.threshold if rule and rule.threshold is not None else 0.0)
        self.table.setCellWidget(row, COL_LABEL, combo)
        self.table.setCellWidget(row, COL_IGNORE, ignore)
        self.table.setCellWidget(row, COL_THRESHOLD, spin)

    # -- access for tests and callers ---------------------------------------------------
    def label_combo(self, row: int) -> QComboBox:
        return self.table.cellWidget(row, COL_LABEL)  # type: ignore[return-value]

    def ignore_box(self, row: int) -> QCheckBox:
        return self.table.cellWidget(row, COL_IGNORE)  # type: ignore[return-value]

    def threshold_spin(self, row: int) -> QDoubleSpinBox:
        return self.table.cellWidget(row, COL_THRESHOLD)  # type: ignore[return-value]

    def result_mapping(self) -> Any:
        """The mapping as the rows show it now."""
        m = self.mapping
        for row, name in enumerate(self.classes):
            m.set_label(name, self.label_combo(row).currentData())
            m.set_ignore(name, self.ignore_box(row).isChecked())
            t = self.threshold_spin(row).value()
            m.set_threshold(name, t if t > 0 else None)
        return m

    def accept(self) -> None:
        from lightable.ml.mapping import save_mapping

        save_mapping(self.project, self.result_mapping())
        super().accept()
