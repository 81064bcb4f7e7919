"""Layers panel: every object of the image, topmost first, like Photoshop's layers.

Each row shows the visibility toggle (eye), the lock toggle, the label colour
swatch and name with the object id, the kind, and the object's opacity.
Clicking the eye or the lock toggles it (one undoable command, not a
selection change); selecting rows selects the objects on the canvas and the
other way round. Drag rows to restack them, or use the buttons: every change
of order is one ``Reorder`` command.

Per-object opacity is kept in ``annotation.attributes["_opacity"]`` (a float
0..1; absent means 1). Attributes whose names start with "_" are display
settings: the properties panel hides them and exporters should skip them.
The slider writes it for the selected objects on release (one undo step).

Image-level tags have no extent and are listed in the Tags panel instead.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QItemSelectionModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QMouseEvent, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSlider,
    QStyle,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lightable.core.commands import Batch, Reorder, SetAttributes, UpdateAnnotation
from lightable.core.errors import LightableError
from lightable.core.geometry import GeometryKind

OPACITY_KEY = "_opacity"
MIME = "application/x-lightable-annotation-ids"
COL_VISIBLE, COL_LOCKED, COL_NAME, COL_KIND, COL_OPACITY = range(5)
KIND_ICONS = {
    GeometryKind.BOX: "rect",
    GeometryKind.POLYGON: "polygon",
    GeometryKind.MASK: "brush",
    GeometryKind.KEYPOINTS: "keypoints",
}


def opacity_of(attributes: dict[str, Any]) -> float:
    try:
        return max(0.0, min(1.0, float(attributes.get(OPACITY_KEY, 1.0))))
    except (TypeError, ValueError):
        return 1.0


def _icon(name: str, color: str | None = None) -> QIcon:
    try:
        from lightable.ui.icons import icon
    except ImportError:  # the icon module is optional for this panel
        return QIcon()
    return icon(name, color)


_swatches: dict[str, QIcon] = {}


def swatch(color: str, size: int = 12) -> QIcon:
    """A small filled square of a label's colour."""
    key = f"{color}/{size}"
    ic = _swatches.get(key)
    if ic is None:
        pm = QPixmap(size, size)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QColor(0, 0, 0, 120))
        p.setBrush(QColor(color))
        p.drawRoundedRect(0.5, 0.5, size - 1, size - 1, 2, 2)
        p.end()
        ic = _swatches[key] = QIcon(pm)
    return ic


class LayersModel(QAbstractTableModel):
    """The document's annotations (no tags), topmost first."""

    reorderRequested = Signal(list, int)  # moved ids, target row (insert before)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.doc: Any = None
        self.ids: list[int] = []
        self._row: dict[int, int] = {}

    def set_document(self, doc: Any) -> None:
        self.doc = doc
        self.rebuild()

    def rebuild(self) -> None:
        self.beginResetModel()
        if self.doc is None:
            self.ids = []
        else:
            self.ids = [
                a.id for a in reversed(self.doc.annotations()) if a.kind != GeometryKind.TAG
            ]
        self._row = {i: r for r, i in enumerate(self.ids)}
        self.endResetModel()

    def refresh_rows(self, ids: Any) -> None:
        rows = [self._row[i] for i in ids if i in self._row]
        if rows:
            self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), COL_OPACITY))

    def row_of(self, ann_id: int) -> int | None:
        return self._row.get(ann_id)

    # -- Qt model -----------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.ids)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 5

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return ("", "", "Object", "Kind", "Opacity")[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return ("Visible", "Locked", "Label and id", "Geometry", "Opacity")[section]
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or self.doc is None:
            return None
        ann = self.doc.get(self.ids[index.row()])
        if ann is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.UserRole:
            return ann.id
        if col == COL_VISIBLE:
            if role == Qt.ItemDataRole.DecorationRole:
                return _icon("eye-off" if ann.hidden else "eye")
            if role == Qt.ItemDataRole.ToolTipRole:
                return "Show" if ann.hidden else "Hide"
            if role == Qt.ItemDataRole.AccessibleTextRole:
                return "hidden" if ann.hidden else "visible"
        elif col == COL_LOCKED:
            if role == Qt.ItemDataRole.DecorationRole:
                return _icon("lock") if ann.locked else _icon("unlock", "#5d626b")
            if role == Qt.ItemDataRole.ToolTipRole:
                return "Unlock" if ann.locked else "Lock"
            if role == Qt.ItemDataRole.AccessibleTextRole:
                return "locked" if ann.locked else "unlocked"
        elif col == COL_NAME:
            lb = self.doc.labels.get(ann.label_id)
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{lb.name if lb else '?'}  #{ann.id}"
            if role == Qt.ItemDataRole.DecorationRole:
                return swatch(lb.color if lb else "#9aa0a6")
            if role == Qt.ItemDataRole.ForegroundRole and ann.hidden:
                return QColor("#7c818a")
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{lb.name if lb else 'unknown label'} (object {ann.id}, {ann.source})"
        elif col == COL_KIND:
            if role == Qt.ItemDataRole.DisplayRole:
                return str(ann.kind)
            if role == Qt.ItemDataRole.DecorationRole:
                name = KIND_ICONS.get(ann.kind)
                return _icon(name) if name else None
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor("#9399a3")
        elif col == COL_OPACITY:
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{round(opacity_of(ann.attributes) * 100)}%"
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor("#9399a3")
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsDropEnabled
        if not index.isValid():
            return base
        return base | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled

    # -- drag and drop: reorder -----------------------------------------------------------
    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [MIME]

    def mimeData(self, indexes: Any) -> QMimeData:
        rows = sorted({i.row() for i in indexes})
        data = QMimeData()
        data.setData(MIME, json.dumps([self.ids[r] for r in rows]).encode())
        return data

    def dropMimeData(
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: Any
    ) -> bool:
        if action != Qt.DropAction.MoveAction or not data.hasFormat(MIME):
            return False
        try:
            ids = [int(i) for i in json.loads(bytes(data.data(MIME)).decode())]
        except (ValueError, TypeError):
            return False
        if row < 0:
            row = parent.row() if parent is not None and parent.isValid() else len(self.ids)
        self.reorderRequested.emit(ids, row)
        return False  # the document event rebuilds the rows; Qt must not remove any


def restack_z(doc: Any, top_first: list[int], moved: list[int], target_row: int) -> dict[int, int]:
    """New z values after moving ``moved`` before row ``target_row`` of ``top_first``.

    Returns only the z values that change. The objects keep the z values they
    had (handed out again in the new order) when those are distinct.
    """
    moving = [i for i in top_first if i in set(moved)]
    before = sum(1 for i in top_first[:target_row] if i in set(moved))
    rest = [i for i in top_first if i not in set(moved)]
    at = max(0, min(len(rest), target_row - before))
    order = rest[:at] + moving + rest[at:]
    bottom_first = order[::-1]
    current = {i: doc.annotation(i).z for i in order}
    zs = sorted(current.values())
    if len(set(zs)) != len(zs):
        zs = list(range(len(order)))
    return {i: z for i, z in zip(bottom_first, zs, strict=True) if current[i] != z}


class _LayersView(QTableView):
    """Clicks on the eye and lock columns toggle instead of selecting."""

    toggleRequested = Signal(int, int)  # annotation id, column

    def mousePressEvent(self, e: QMouseEvent) -> None:
        idx = self.indexAt(e.position().toPoint())
        if (
            idx.isValid()
            and idx.column() in (COL_VISIBLE, COL_LOCKED)
            and e.button() == Qt.MouseButton.LeftButton
        ):
            ann_id = self.model().data(idx, Qt.ItemDataRole.UserRole)
            if ann_id is not None:
                self.toggleRequested.emit(int(ann_id), idx.column())
            e.accept()
            return
        super().mousePressEvent(e)

    def mouseDoubleClickEvent(self, e: QMouseEvent) -> None:
        idx = self.indexAt(e.position().toPoint())
        if idx.isValid() and idx.column() in (COL_VISIBLE, COL_LOCKED):
            e.accept()  # a fast second click toggles again instead of "activating"
            self.mousePressEvent(e)
            return
        super().mouseDoubleClickEvent(e)


class LayersPanel(QWidget):
    """Objects of the open image: visibility, lock, opacity, z-order, selection."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LayersPanel")
        self.doc: Any = None
        self._unsubscribe: Any = None
        self._syncing = False
        self._error = ""
        self.model = LayersModel(self)
        self.model.reorderRequested.connect(self._reorder_to)
        self.view = _LayersView(self)
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.view.setDragEnabled(True)
        self.view.setAcceptDrops(True)
        self.view.setDropIndicatorShown(True)
        self.view.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        self.view.setAlternatingRowColors(True)
        self.view.setIconSize(QSize(14, 14))
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(22)
        hh = self.view.horizontalHeader()
        hh.setHighlightSections(False)
        hh.setSectionResizeMode(COL_VISIBLE, QHeaderView.ResizeMode.Fixed)
        hh.setSectionResizeMode(COL_LOCKED, QHeaderView.ResizeMode.Fixed)
        hh.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(COL_KIND, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(COL_OPACITY, QHeaderView.ResizeMode.ResizeToContents)
        hh.resizeSection(COL_VISIBLE, 26)
        hh.resizeSection(COL_LOCKED, 26)
        self.view.toggleRequested.connect(self._toggle)
        self.view.selectionModel().selectionChanged.connect(self._rows_selected)

        style = self.style()
        self.btn_up = self._button(
            style.standardIcon(QStyle.StandardPixmap.SP_ArrowUp), "Bring forward", "up"
        )
        self.btn_down = self._button(
            style.standardIcon(QStyle.StandardPixmap.SP_ArrowDown), "Send backward", "down"
        )
        self.btn_front = self._button(None, "Bring to front", "front", "⤒")
        self.btn_back = self._button(None, "Send to back", "back", "⤓")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(100)
        self.opacity.setToolTip("Opacity of the selected objects")
        self.opacity.sliderReleased.connect(self._commit_opacity)
        self.opacity.valueChanged.connect(self._opacity_moved)
        self.opacity_label = QLabel("100%")
        self.opacity_label.setMinimumWidth(36)
        self.status = QLabel("")
        self.status.setObjectName("LayersStatus")

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("Opacity"))
        top.addWidget(self.opacity, 1)
        top.addWidget(self.opacity_label)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        for b in (self.btn_front, self.btn_up, self.btn_down, self.btn_back):
            bottom.addWidget(b)
        bottom.addStretch(1)
        bottom.addWidget(self.status)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)
        lay.addLayout(bottom)
        self._update_controls()

    def _button(self, icon: QIcon | None, tip: str, direction: str, text: str = "") -> QToolButton:
        b = QToolButton(self)
        if icon is not None:
            b.setIcon(icon)
        else:
            b.setText(text)
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.clicked.connect(lambda: self.move_selection(direction))
        return b

    # -- document -------------------------------------------------------------------------
    def set_document(self, doc: Any) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.doc = doc
        self.model.set_document(doc)
        if doc is not None:
            self._unsubscribe = doc.subscribe(self._on_event)
        self._select_rows_from_document()
        self._update_controls()

    def _on_event(self, ev: Any) -> None:
        if self.doc is None:
            return
        if ev.added or ev.removed or ev.cause == "reload" or self._order_changed(ev):
            self.model.rebuild()
            self._select_rows_from_document()
        elif ev.changed or ev.labels_changed:
            if ev.labels_changed:
                self.model.refresh_rows(self.model.ids)
            else:
                self.model.refresh_rows(ev.changed)
        if ev.selection_changed and not (ev.added or ev.removed):
            self._select_rows_from_document()
        self._update_controls()

    def _order_changed(self, ev: Any) -> bool:
        if not ev.changed:
            return False
        shown = [i for i in self.model.ids if i in self.doc]
        now = [a.id for a in reversed(self.doc.annotations()) if a.kind != GeometryKind.TAG]
        return shown != now

    # -- selection, both ways -------------------------------------------------------------
    def _select_rows_from_document(self) -> None:
        sm = self.view.selectionModel()
        prev, self._syncing = self._syncing, True
        try:
            sel = QItemSelection()
            ids = self.doc.selected() if self.doc is not None else frozenset()
            rows = sorted(r for r in (self.model.row_of(i) for i in ids) if r is not None)
            for r in rows:
                sel.select(self.model.index(r, 0), self.model.index(r, COL_OPACITY))
            sm.select(sel, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            if rows:
                self.view.scrollTo(self.model.index(rows[0], COL_NAME))
        finally:
            self._syncing = prev

    def _rows_selected(self, *_: Any) -> None:
        if self._syncing or self.doc is None:
            return
        ids = self.selected_ids()
        prev, self._syncing = self._syncing, True
        try:
            self.doc.select(ids)
        finally:
            self._syncing = prev
        self._update_controls()

    def selected_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        return [self.model.ids[r] for r in rows if r < len(self.model.ids)]

    # -- edits ----------------------------------------------------------------------------
    def _do(self, cmd: Any) -> None:
        try:
            self._error = ""
            self.doc.do(cmd)
        except LightableError as exc:
            self._error = str(exc)
        self._update_controls()

    def _toggle(self, ann_id: int, column: int) -> None:
        if self.doc is None or ann_id not in self.doc:
            return
        a = self.doc.annotation(ann_id)
        if column == COL_VISIBLE:
            self._do(UpdateAnnotation(ann_id, hidden=not a.hidden, image_id=self.doc.image_id))
        elif column == COL_LOCKED:
            self._do(UpdateAnnotation(ann_id, locked=not a.locked, image_id=self.doc.image_id))

    def move_selection(self, direction: str) -> None:
        """Bring forward ("up"), send backward ("down"), to "front" or "back"."""
        if self.doc is None:
            return
        ids = [i for i in self.doc.selected() if i in self.model._row]
        if ids:
            self._do(Reorder(ids, direction=direction, image_id=self.doc.image_id))  # type: ignore[arg-type]

    def _reorder_to(self, ids: list[int], row: int) -> None:
        if self.doc is None:
            return
        ids = [i for i in ids if i in self.doc]
        if not ids:
            return
        z = restack_z(self.doc, list(self.model.ids), ids, row)
        if z:
            self._do(Reorder(list(z), z=z, image_id=self.doc.image_id))

    def _opacity_moved(self, value: int) -> None:
        self.opacity_label.setText(f"{value}%")
        if not self.opacity.isSliderDown():
            self._commit_opacity()  # keyboard or a click on the groove: commit at once

    def _commit_opacity(self) -> None:
        if self.doc is None or self._syncing:
            return
        value = self.opacity.value() / 100.0
        cmds = []
        for i in self.doc.selected():
            a = self.doc.get(i)
            if (
                a is None
                or a.kind == GeometryKind.TAG
                or abs(opacity_of(a.attributes) - value) < 1e-9
            ):
                continue
            attrs = dict(a.attributes)
            if value >= 1.0:
                attrs.pop(OPACITY_KEY, None)
            else:
                attrs[OPACITY_KEY] = round(value, 2)
            cmds.append(SetAttributes(i, attrs, label="Change opacity", image_id=self.doc.image_id))
        if cmds:
            self._do(
                cmds[0] if len(cmds) == 1 else Batch(cmds, "Change opacity", self.doc.image_id)
            )

    def _update_controls(self) -> None:
        ids = [
            i for i in (self.doc.selected() if self.doc is not None else ()) if i in self.model._row
        ]
        for b in (self.btn_up, self.btn_down, self.btn_front, self.btn_back):
            b.setEnabled(bool(ids))
        self.opacity.setEnabled(bool(ids))
        if ids and not self.opacity.isSliderDown():
            value = round(opacity_of(self.doc.annotation(ids[0]).attributes) * 100)
            prev, self._syncing = self._syncing, True
            try:
                self.opacity.setValue(value)
                self.opacity_label.setText(f"{value}%")
            finally:
                self._syncing = prev
        n = len(self.model.ids)
        if self._error:
            self.status.setText(self._error)
            self.status.setStyleSheet("color: #e5534b;")
        else:
            self.status.setText(
                f"{n} object{'s' if n != 1 else ''}" if self.doc is not None else ""
            )
            self.status.setStyleSheet("color: #9399a3;")
