"""History panel: the image's undo stack; click a step to go back or forward to it.

Row 0 is the state the image was opened in; row k is "after step k". The
current position is selected and bold; undone steps (still redo-able) are
greyed and italic, as in Photoshop. Clicking row k runs ``doc.goto(k)``: each
step undone or redone is its own transaction, so the store always matches the
position shown.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QIcon
from PySide6.QtWidgets import QAbstractItemView, QLabel, QListView, QVBoxLayout, QWidget

from lightable.core.errors import LightableError

START_TEXT = "Opened"
# History labels -> icon names (first match wins), like Photoshop's tool icons per step.
ICON_RULES = (
    (("erase",), "eraser"),
    (("brush", "paint", "mask"), "brush"),
    (("lasso",), "lasso"),
    (("polygon",), "polygon"),
    (("box", "rect"), "rect"),
    (("keypoint",), "keypoints"),
    (("tag",), "tag"),
    (("hide", "show"), "eye"),
    (("lock",), "lock"),
    (("move", "nudge"), "move"),
    (("delete", "remove"), "trash"),
    (("forward", "backward", "front", "back", "reorder"), "layers"),
    (("attribute", "set ", "clear ", "opacity"), "properties"),
    (("label",), "labels"),
    (("mark image",), "done"),
)


def icon_name(text: str) -> str:
    t = text.lower()
    for words, name in ICON_RULES:
        if any(w in t for w in words):
            return name
    return "history"


def _icon(name: str) -> QIcon:
    try:
        from lightable.ui.icons import icon
    except ImportError:
        return QIcon()
    return icon(name)


class HistoryModel(QAbstractListModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.history: Any = None
        self.labels: list[str] = []
        self.index_ = 0

    def set_history(self, history: Any) -> None:
        self.beginResetModel()
        self.history = history
        self._read()
        self.endResetModel()

    def _read(self) -> None:
        self.labels = list(self.history.entries()) if self.history is not None else []
        self.index_ = int(self.history.index) if self.history is not None else 0

    def refresh(self) -> None:
        """Re-read the history, touching only the rows that changed (pushes append one row)."""
        old_labels, old_index = self.labels, self.index_
        new_labels = list(self.history.entries()) if self.history is not None else []
        keep = 0
        for a, b in zip(old_labels, new_labels, strict=False):
            if a != b:
                break
            keep += 1
        if keep < len(old_labels):
            self.beginRemoveRows(QModelIndex(), keep + 1, len(old_labels))
            self.labels = old_labels[:keep]
            self.endRemoveRows()
        if keep < len(new_labels):
            self.beginInsertRows(QModelIndex(), len(self.labels) + 1, len(new_labels))
            self.labels = new_labels
            self.endInsertRows()
        self.labels = new_labels
        self.index_ = int(self.history.index) if self.history is not None else 0
        if old_index != self.index_:
            # Fonts and colours of every row after the lower position change.
            self.dataChanged.emit(
                self.index(min(old_index, self.index_)), self.index(len(self.labels))
            )

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self.history is None else len(self.labels) + 1

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        row = index.row()
        if role == Qt.ItemDataRole.DisplayRole:
            return START_TEXT if row == 0 else self.labels[row - 1]
        if role == Qt.ItemDataRole.DecorationRole:
            return _icon("image" if row == 0 else icon_name(self.labels[row - 1]))
        if role == Qt.ItemDataRole.ToolTipRole:
            if row == 0:
                return "Go back to how the image was when opened"
            return f"Step {row}: {self.labels[row - 1]}" + (
                " (undone)" if row > self.index_ else ""
            )
        if role == Qt.ItemDataRole.ForegroundRole and row > self.index_:
            return QColor("#7c818a")
        if role == Qt.ItemDataRole.FontRole:
            f = QFont()
            if row > self.index_:
                f.setItalic(True)
            if row == self.index_:
                f.setBold(True)
            return f
        return None


class HistoryPanel(QWidget):
    """The undo stack of the open image."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("HistoryPanel")
        self.doc: Any = None
        self._unsubscribe: Any = None
        self._syncing = False
        self.model = HistoryModel(self)
        self.view = QListView(self)
        self.view.setModel(self.model)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setUniformItemSizes(True)
        self.view.setIconSize(QSize(14, 14))
        self.view.setStyleSheet("QListView::item { padding: 3px 4px; }")
        self.view.selectionModel().currentChanged.connect(self._row_chosen)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #e5534b;")
        self.status.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.status)

    def set_document(self, doc: Any) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.doc = doc
        history = doc.history if doc is not None else None
        self.model.set_history(history)
        if history is not None:
            self._unsubscribe = history.subscribe(lambda _h: self._refresh())
        self.status.hide()
        self._show_position()

    def _refresh(self) -> None:
        self.model.refresh()
        self._show_position()

    def _show_position(self) -> None:
        if self.doc is None:
            return
        idx = self.model.index(self.model.index_)
        self._syncing = True
        try:
            self.view.selectionModel().setCurrentIndex(
                idx, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
            self.view.scrollTo(idx)
        finally:
            self._syncing = False

    def _row_chosen(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._syncing or self.doc is None or not current.isValid():
            return
        self.go_to(current.row())

    def go_to(self, index: int) -> None:
        """Undo or redo until ``index`` steps are applied."""
        if self.doc is None or index == self.doc.history.index:
            return
        try:
            self.doc.goto(index)
            self.status.hide()
        except (LightableError, IndexError) as exc:
            self.status.setText(f"Could not go to that step: {exc}")
            self.status.show()
        self._refresh()
