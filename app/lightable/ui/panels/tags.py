"""Tags panel: image-level labels (classification) as check boxes.

Lists the labels of kind "tag"; "Show all labels" lists every label (a
project whose taxonomy has no tag labels still can tag images). Checking a
label adds a ``Tag`` annotation of it to the image; unchecking removes every
tag annotation of that label. Each toggle is one undoable command. A filter
box narrows long taxonomies; Space toggles the current row.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lightable.core.commands import AddAnnotation, DeleteAnnotations
from lightable.core.errors import LightableError
from lightable.core.geometry import GeometryKind, Tag
from lightable.core.model import Annotation, LabelKind
from lightable.ui.panels.layers import swatch

ID_ROLE = Qt.ItemDataRole.UserRole


def _indicator_style() -> str:
    """Check boxes that read on a dark base too (Fusion draws an unchecked item-view box
    in the base colour, i.e. invisibly): an outlined box, filled with the accent when on."""
    try:
        from lightable.ui import theme

        accent, border = theme.hex_color("accent"), theme.hex_color("text_dim")
    except (ImportError, KeyError):
        accent, border = "#3d9df3", "#9399a3"
    return (
        "QListWidget::item { padding: 2px 0px; }"
        f"QListWidget::indicator {{ width: 11px; height: 11px; border: 1px solid {border};"
        " border-radius: 2px; background: transparent; }"
        f"QListWidget::indicator:checked {{ background: {accent}; border-color: {accent}; }}"
    )


class TagsPanel(QWidget):
    """Image-level tags of the open image."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TagsPanel")
        self.doc: Any = None
        self._unsubscribe: Any = None
        self._filling = False
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter labels")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.show_all = QCheckBox("Show all labels")
        self.show_all.setToolTip("List every label, not only those meant for tags")
        self.show_all.toggled.connect(lambda _on: self._fill())
        self.list = QListWidget()
        self.list.setUniformItemSizes(True)
        self.list.setStyleSheet(_indicator_style())
        self.list.itemChanged.connect(self._item_changed)
        self.hint = QLabel("")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #9399a3;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.filter)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.show_all)
        lay.addWidget(self.hint)
        self._fill()

    def set_document(self, doc: Any) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.doc = doc
        if doc is not None:
            self._unsubscribe = doc.subscribe(self._on_event)
        self._fill()

    def _on_event(self, ev: Any) -> None:
        if ev.labels_changed or ev.cause == "reload":
            self._fill()
        elif ev.annotations_changed:
            self._refresh_checks()

    # -- contents -------------------------------------------------------------------------
    def _labels(self) -> list[Any]:
        if self.doc is None:
            return []
        labels = sorted(self.doc.labels.values(), key=lambda lb: (lb.position, lb.id or 0))
        tag_labels = [lb for lb in labels if lb.kind == LabelKind.TAG]
        return labels if self.show_all.isChecked() or not tag_labels else tag_labels

    def tag_ids(self, label_id: int) -> list[int]:
        """Ids of the image's tag annotations of ``label_id``."""
        if self.doc is None:
            return []
        return [
            a.id
            for a in self.doc.annotations()
            if a.label_id == label_id and a.kind == GeometryKind.TAG
        ]

    def _tagged(self) -> set[int]:
        if self.doc is None:
            return set()
        return {a.label_id for a in self.doc.annotations() if a.kind == GeometryKind.TAG}

    def _fill(self) -> None:
        self._filling = True
        try:
            self.list.clear()
            tagged = self._tagged()
            labels = self._labels()
            for lb in labels:
                item = QListWidgetItem(swatch(lb.color), lb.name)
                item.setData(ID_ROLE, lb.id)
                item.setFlags(
                    Qt.ItemFlag.ItemIsEnabled
                    | Qt.ItemFlag.ItemIsUserCheckable
                    | Qt.ItemFlag.ItemIsSelectable
                )
                item.setCheckState(
                    Qt.CheckState.Checked if lb.id in tagged else Qt.CheckState.Unchecked
                )
                if lb.kind != LabelKind.TAG:
                    item.setToolTip(f"{lb.name} (a {lb.kind} label)")
                self.list.addItem(item)
        finally:
            self._filling = False
        has_tag_kind = self.doc is not None and any(
            lb.kind == LabelKind.TAG for lb in self.doc.labels.values()
        )
        if self.doc is None:
            self.hint.setText("No image")
        elif not has_tag_kind:
            self.hint.setText("No label is of kind 'tag': every label is listed.")
        else:
            self.hint.setText("")
        self.list.setEnabled(self.doc is not None)
        self._apply_filter(self.filter.text())

    def _refresh_checks(self) -> None:
        tagged = self._tagged()
        self._filling = True
        try:
            for row in range(self.list.count()):
                item = self.list.item(row)
                want = (
                    Qt.CheckState.Checked
                    if item.data(ID_ROLE) in tagged
                    else Qt.CheckState.Unchecked
                )
                if item.checkState() != want:
                    item.setCheckState(want)
        finally:
            self._filling = False

    def _apply_filter(self, text: str) -> None:
        t = text.strip().lower()
        for row in range(self.list.count()):
            item = self.list.item(row)
            item.setHidden(bool(t) and t not in item.text().lower())

    # -- editing --------------------------------------------------------------------------
    def _item_changed(self, item: QListWidgetItem) -> None:
        if self._filling:
            return
        self.set_tag(int(item.data(ID_ROLE)), item.checkState() == Qt.CheckState.Checked)

    def set_tag(self, label_id: int, on: bool) -> None:
        """Tag the image with ``label_id`` (or remove that tag): one command."""
        if self.doc is None:
            return
        existing = self.tag_ids(label_id)
        name = self.doc.labels[label_id].name if label_id in self.doc.labels else str(label_id)
        try:
            if on and not existing:
                ann = Annotation(image_id=self.doc.image_id, label_id=label_id, geometry=Tag())
                self.doc.do(AddAnnotation(ann, label=f"Tag {name}"))
            elif not on and existing:
                self.doc.do(DeleteAnnotations(existing, self.doc.image_id, label=f"Untag {name}"))
            self.hint.setStyleSheet("color: #9399a3;")
        except LightableError as exc:
            self.hint.setText(str(exc))
            self.hint.setStyleSheet("color: #e5534b;")
        self._refresh_checks()
