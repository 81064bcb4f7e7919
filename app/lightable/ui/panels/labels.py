"""The Labels dock: the taxonomy with colours; keys 1-9 pick a label.

Adding, renaming, recolouring and deleting labels are commands (AddLabel,
UpdateLabel, DeleteLabel), so they are undoable and saved at once. With an
image open they go into that image's history (Ctrl+Z undoes them there);
without one, into a project-wide taxonomy history kept here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lightable.core.errors import LightableError
from lightable.core.model import Label, palette_color
from lightable.ui import icons

if TYPE_CHECKING:
    from lightable.core.commands import Command
    from lightable.core.history import History

# core.commands pulls in numpy; it is imported on first edit so the panel can be
# built before the window's first paint.

PICK_KEYS = 9
IdRole = Qt.ItemDataRole.UserRole + 1


def swatch(color: str, size: int = 14) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QColor(0, 0, 0, 120))
    p.setBrush(QColor(color))
    p.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    p.end()
    return QIcon(pm)


class LabelsPanel(QWidget):
    """Taxonomy list with add/rename/recolour/delete and the 1-9 pick keys."""

    labelActivated = Signal(int)  # label id
    labelsChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: Any = None
        self._labels: list[Label] = []
        self._active: int | None = None
        self._relay: Any = None
        self._taxonomy_history: History | None = None  # edits made while no image is open

        self.tree = QTreeWidget()
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Label", "Kind", "Key"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setIconSize(QSize(14, 14))
        self.tree.setEditTriggers(
            QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(self._current_item_changed)
        self.tree.itemChanged.connect(self._item_edited)
        self.tree.itemDoubleClicked.connect(self._double_clicked)

        def button(icon: str, tip: str, slot: Any) -> QToolButton:
            b = QToolButton()
            b.setIcon(icons.icon(icon))
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.clicked.connect(slot)
            return b

        self.add_button = button("plus", "Add a label", self._ask_add)
        self.rename_button = button("rename", "Rename the label (F2)", self._ask_rename)
        self.color_button = button("palette", "Change the label's colour", self._ask_color)
        self.delete_button = button("trash", "Delete the label", self._ask_delete)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.setSpacing(2)
        for b in (self.add_button, self.rename_button, self.color_button, self.delete_button):
            bar.addWidget(b)
        bar.addStretch(1)
        self.hint = QLabel("1–9 pick a label")
        self.hint.setObjectName("dim")
        bar.addWidget(self.hint)

        self.message = QLabel()
        self.message.setObjectName("error")
        self.message.setWordWrap(True)
        self.message.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.message)
        layout.addLayout(bar)
        self._update_buttons()

    # -- wiring ---------------------------------------------------------------------------
    def set_session(self, session: Any) -> None:
        """Show the taxonomy of ``session.project`` (or nothing for None)."""
        if self._relay is not None:
            self._relay.close()
            self._relay.deleteLater()
            self._relay = None
        self.session = session
        self._taxonomy_history = None
        self._active = None
        if session is not None:
            from lightable.ui.jobs import ChangeRelay

            self._relay = ChangeRelay(session.project, self)
            self._relay.changed.connect(self._on_change)
        self.reload()

    @property
    def taxonomy_history(self) -> History:
        if self._taxonomy_history is None:
            from lightable.core.history import History

            self._taxonomy_history = History(None)
        return self._taxonomy_history

    def register_actions(self, registry: Any) -> None:
        for k in range(1, PICK_KEYS + 1):
            registry.add(
                f"label.pick_{k}",
                f"Pick label {k}",
                lambda k=k: self.pick(k),
                shortcut=str(k),
                group="Labels",
                tip=f"Make the {k}{_ordinal(k)} label active (and relabel the selected shapes)",
            )
        registry.add("label.add", "Add label…", self._ask_add, group="Labels",
                     icon=icons.icon("plus"))  # fmt: skip

    def active_label_id(self) -> int | None:
        return self._active

    def labels(self) -> list[Label]:
        return list(self._labels)

    # -- reading ------------------------------------------------------------------------
    def reload(self) -> None:
        self._labels = self.session.project.labels.all() if self.session is not None else []
        ids = {lb.id for lb in self._labels}
        if self._active not in ids:
            self._active = self._labels[0].id if self._labels else None
        self.tree.blockSignals(True)
        self.tree.clear()
        for k, lb in enumerate(self._labels):
            key = str(k + 1) if k < PICK_KEYS else ""
            item = QTreeWidgetItem([lb.name, str(lb.kind), key])
            item.setIcon(0, swatch(lb.color))
            item.setData(0, IdRole, lb.id)
            item.setToolTip(0, f"{lb.name} ({lb.color})")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignCenter)
            self.tree.addTopLevelItem(item)
            if lb.id == self._active:
                self.tree.setCurrentItem(item)
        self.tree.blockSignals(False)
        self._update_buttons()
        self.labelsChanged.emit()

    def _on_change(self, change: Any) -> None:
        if change.kind == "labels.changed":
            self.reload()

    # -- picking --------------------------------------------------------------------------
    def pick(self, k: int) -> None:
        """Key ``k`` (1-based): activate that label; relabel the canvas selection if any."""
        if not 1 <= k <= len(self._labels):
            return
        lb = self._labels[k - 1]
        self.set_active(lb.id)  # type: ignore[arg-type]
        doc = self.session.document if self.session is not None else None
        if doc is not None:
            selected = [i for i in doc.selected() if doc.annotation(i).label_id != lb.id]
            if selected:
                from lightable.core.commands import Relabel

                self._apply(Relabel(selected, lb.id))

    def set_active(self, label_id: int) -> None:
        self._active = label_id
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, IdRole) == label_id:
                self.tree.blockSignals(True)
                self.tree.setCurrentItem(item)
                self.tree.blockSignals(False)
        self._update_buttons()
        self.labelActivated.emit(label_id)

    def _current_item_changed(self, item: QTreeWidgetItem | None, _prev: Any) -> None:
        if item is not None:
            self.set_active(int(item.data(0, IdRole)))

    def _double_clicked(self, item: QTreeWidgetItem, column: int) -> None:
        if column == 0:
            self.tree.editItem(item, 0)
        else:
            self._ask_color()

    # -- editing (through commands) -----------------------------------------------------
    def add_label(self, name: str, color: str | None = None) -> int | None:
        from lightable.core.commands import AddLabel

        color = color or palette_color(len(self._labels))
        try:
            label = Label(name=name, color=color)
        except LightableError as exc:
            self._show_error(str(exc))
            return None
        if not self._apply(AddLabel(label)):
            return None
        self.reload()
        added = next((lb for lb in self._labels if lb.name == label.name), None)
        if added is not None and added.id is not None:
            self.set_active(added.id)
            return added.id
        return None

    def rename_label(self, label_id: int, name: str) -> bool:
        from lightable.core.commands import UpdateLabel

        ok = self._apply(UpdateLabel(label_id, name=name.strip(), text="Rename label"))
        self.reload()
        return ok

    def recolor_label(self, label_id: int, color: str) -> bool:
        from lightable.core.commands import UpdateLabel

        ok = self._apply(UpdateLabel(label_id, color=color, text="Change label colour"))
        self.reload()
        return ok

    def delete_label(self, label_id: int) -> bool:
        from lightable.core.commands import DeleteLabel

        ok = self._apply(DeleteLabel(label_id))
        self.reload()
        return ok

    def undo_taxonomy(self) -> bool:
        """Undo the last label edit made while no image was open."""
        if self.session is None or not self.taxonomy_history.can_undo():
            return False
        self.taxonomy_history.undo(self.session.editor)
        self.reload()
        return True

    def _apply(self, cmd: Command) -> bool:
        if self.session is None:
            return False
        self._clear_error()
        doc = self.session.document
        try:
            if doc is not None:
                doc.do(cmd)
            else:
                editor = self.session.editor
                with editor.transaction(cmd.label):
                    inverse = cmd.apply(editor)
                self.taxonomy_history.push(cmd, inverse)
        except LightableError as exc:
            self._show_error(str(exc))
            return False
        return True

    def _show_error(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    def _clear_error(self) -> None:
        self.message.clear()
        self.message.hide()

    def _item_edited(self, item: QTreeWidgetItem, column: int) -> None:
        if column != 0:
            return
        label_id = int(item.data(0, IdRole))
        old = next((lb for lb in self._labels if lb.id == label_id), None)
        if old is not None and item.text(0).strip() and item.text(0).strip() != old.name:
            self.rename_label(label_id, item.text(0))
        else:
            self.reload()

    def _selected_label(self) -> Label | None:
        item = self.tree.currentItem()
        if item is None:
            return None
        label_id = item.data(0, IdRole)
        return next((lb for lb in self._labels if lb.id == label_id), None)

    def _update_buttons(self) -> None:
        has_session = self.session is not None
        has = self._selected_label() is not None
        self.add_button.setEnabled(has_session)
        for b in (self.rename_button, self.color_button, self.delete_button):
            b.setEnabled(has_session and has)

    # -- dialogs --------------------------------------------------------------------------
    def _ask_add(self) -> None:
        if self.session is None:
            return
        name, ok = QInputDialog.getText(self, "Add label", "Name of the new label:")
        if ok and name.strip():
            self.add_label(name.strip())

    def _ask_rename(self) -> None:
        item = self.tree.currentItem()
        if item is not None:
            self.tree.editItem(item, 0)

    def _ask_color(self) -> None:
        lb = self._selected_label()
        if lb is None or lb.id is None:
            return
        c = QColorDialog.getColor(QColor(lb.color), self, f"Colour of {lb.name}")
        if c.isValid():
            self.recolor_label(lb.id, c.name())

    def _ask_delete(self) -> None:
        lb = self._selected_label()
        if lb is None or lb.id is None:
            return
        answer = QMessageBox.question(
            self,
            "Delete label",
            f"Delete the label “{lb.name}”? (Ctrl+Z undoes it.)",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_label(lb.id)


def _ordinal(k: int) -> str:
    return {1: "st", 2: "nd", 3: "rd"}.get(k, "th")
