"""Help > Keyboard shortcuts: every registered action, grouped, searchable."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lightable.ui.actions import ActionRegistry, shortcut_text


class ShortcutsDialog(QDialog):
    """A tree of groups and actions with their shortcuts; the search box filters it."""

    def __init__(self, registry: ActionRegistry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(720, 680)
        self.registry = registry

        self.search = QLineEdit(placeholderText="Search actions or keys…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)

        self.tree = QTreeWidget()
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Action", "Shortcut", "Id"])
        self.tree.setRootIsDecorated(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)

        self.count = QLabel()
        self.count.setObjectName("dim")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.count)
        layout.addWidget(buttons)
        self._populate()
        self.search.setFocus()

    def _populate(self) -> None:
        self.tree.clear()
        for group, actions in self.registry.groups().items():
            g = QTreeWidgetItem([group, "", ""])
            font = g.font(0)
            font.setBold(True)
            g.setFont(0, font)
            g.setFlags(Qt.ItemFlag.ItemIsEnabled)
            for action in actions:
                text = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
                item = QTreeWidgetItem(
                    [text, shortcut_text(action) or "—", str(action.property("action_id"))]
                )
                item.setToolTip(0, action.statusTip())
                if not action.shortcuts():
                    item.setForeground(1, self.palette().placeholderText())
                g.addChild(item)
            self.tree.addTopLevelItem(g)
        self.tree.expandAll()
        self._filter(self.search.text())

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        shown = 0
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            group_hit = bool(needle) and needle in group.text(0).lower()
            visible_children = 0
            for j in range(group.childCount()):
                item = group.child(j)
                hay = " ".join(item.text(c).lower() for c in range(3))
                hit = not needle or group_hit or needle in hay
                item.setHidden(not hit)
                visible_children += hit
            group.setHidden(visible_children == 0)
            shown += visible_children
        total = len(self.registry.ids())
        self.count.setText(
            f"{total} actions" if not needle else f"{shown} of {total} actions match"
        )

    def visible_action_ids(self) -> list[str]:
        """The ids currently listed (for tests and for the search behaviour)."""
        out: list[str] = []
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            if group.isHidden():
                continue
            for j in range(group.childCount()):
                item = group.child(j)
                if not item.isHidden():
                    out.append(item.text(2))
        return out
