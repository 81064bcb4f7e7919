"""The Browser dock: filter and sort controls over the thumbnail grid."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lightable.core.model import ImageStatus
from lightable.store.images import SCORE_SORTS, ImageQuery, SortKey
from lightable.ui import icons
from lightable.ui.browser.model import BrowserModel
from lightable.ui.browser.view import ThumbGrid

FILTER_DEBOUNCE_MS = 250
REFRESH_DEBOUNCE_MS = 400

SORT_CHOICES = [
    ("Name", SortKey.NAME),
    ("Folder", SortKey.FOLDER),
    ("Date modified", SortKey.DATE),
    ("File size", SortKey.SIZE),
    ("Status", SortKey.STATUS),
    ("Uncertainty (queue)", SortKey.UNCERTAINTY),
    ("Mistakenness (queue)", SortKey.MISTAKENNESS),
]
STATUS_CHOICES = [
    ("Any status", None),
    ("New", ImageStatus.NEW),
    ("In progress", ImageStatus.IN_PROGRESS),
    ("Done", ImageStatus.DONE),
    ("Review", ImageStatus.REVIEW),
    ("Broken", ImageStatus.BROKEN),
]


def folder_tree(folders: list[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """(folder, depth, images at and below) for every folder and its ancestors, sorted."""
    totals: dict[str, int] = {}
    for folder, n in folders:
        parts = folder.split("/") if folder else []
        for k in range(1, len(parts) + 1):
            key = "/".join(parts[:k])
            totals[key] = totals.get(key, 0) + n
    return [(f, f.count("/"), totals[f]) for f in sorted(totals)]


class BrowserWidget(QWidget):
    """Thumbnails of the project's images under the current filter and order."""

    imageActivated = Signal(int)  # Enter or double-click: open in the canvas
    currentImageChanged = Signal(object)  # image id or None
    selectionChanged = Signal(object)  # list of image ids
    queryChanged = Signal(object)  # ImageQuery
    countChanged = Signal(int)

    def __init__(self, settings: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.project: Any = None
        self.loader: Any = None
        self._relay: Any = None
        self._building_controls = False

        self.model = BrowserModel(self)
        self.grid = ThumbGrid(self)
        self.grid.setModel(self.model)
        self.grid.setProperty("emptyText", "No project open")
        self.grid.activated.connect(self._activated)
        self.grid.selectionModel().currentChanged.connect(self._current_changed)
        self.grid.selectionModel().selectionChanged.connect(self._selection_changed)

        # -- controls --
        self.search = QLineEdit(placeholderText="Filter by path…")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(icons.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search.setToolTip("Show images whose path contains this text (case-insensitive)")
        self._filter_timer = QTimer(self, singleShot=True, interval=FILTER_DEBOUNCE_MS)
        self._filter_timer.timeout.connect(self._apply_controls)
        self.search.textChanged.connect(lambda _t: self._filter_timer.start())
        self.search.returnPressed.connect(self._apply_controls)

        self.folder = QComboBox()
        self.folder.setToolTip("Show this folder and its subfolders")
        self.folder.setMinimumContentsLength(10)
        self.folder.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.folder.currentIndexChanged.connect(self._apply_controls)

        self.status = QComboBox()
        self.status.setToolTip("Show images with this status")
        for text, value in STATUS_CHOICES:
            self.status.addItem(text, value)
        self.status.currentIndexChanged.connect(self._apply_controls)

        self.label = QComboBox()
        self.label.setToolTip("Show images with at least one object of this label")
        self.label.setMinimumContentsLength(6)
        self.label.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.label.addItem("Any label", None)
        self.label.currentIndexChanged.connect(self._apply_controls)

        self.sort = QComboBox()
        self.sort.setToolTip("Sort order")
        for text, key in SORT_CHOICES:
            self.sort.addItem(text, key)
        self.sort.currentIndexChanged.connect(self._apply_controls)
        self.order = QToolButton()
        self.order.setCheckable(True)
        self.order.setAutoRaise(True)
        self.order.toggled.connect(self._order_toggled)
        self._order_toggled(False, apply=False)

        # Score sorts need a model run; the picker shows only while one is chosen.
        self.run = QComboBox()
        self.run.setToolTip("Model run whose image scores order the queue")
        self.run.currentIndexChanged.connect(self._apply_controls)
        self.unlabeled = QCheckBox("Unlabeled")
        self.unlabeled.setToolTip("Show only images nobody has labeled yet")
        self.unlabeled.toggled.connect(self._apply_controls)
        # Parts of an external query (dashboard click) that no control shows.
        self._extra: dict[str, Any] = {}
        self.chip = QToolButton()
        self.chip.setObjectName("filterChip")
        self.chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.chip.setIcon(icons.icon("cancel"))
        self.chip.setToolTip("Remove this filter")
        self.chip.clicked.connect(self.clear_extra_filter)
        self.chip.hide()

        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(64, 256)
        self.size_slider.setSingleStep(16)
        self.size_slider.setPageStep(32)
        self.size_slider.setFixedWidth(80)
        self.size_slider.setToolTip("Thumbnail size")
        size = settings.thumb_size() if settings is not None else 128
        self.size_slider.setValue(size)
        self.grid.set_thumb_size(size)
        self.size_slider.valueChanged.connect(self._size_changed)

        self.count = QLabel()
        self.count.setObjectName("dim")

        row2 = QHBoxLayout()
        row2.addWidget(self.folder, 3)
        row2.addWidget(self.status, 2)
        row2.addWidget(self.unlabeled)
        row3 = QHBoxLayout()
        row3.addWidget(self.label, 1)
        row3.addWidget(self.sort, 1)
        row3.addWidget(self.order)
        top = QVBoxLayout()
        top.setContentsMargins(6, 6, 6, 4)
        top.setSpacing(4)
        top.addWidget(self.search)
        top.addLayout(row2)
        top.addLayout(row3)
        top.addWidget(self.run)
        top.addWidget(self.chip, 0, Qt.AlignmentFlag.AlignLeft)
        self.run.hide()
        footer = QHBoxLayout()
        footer.setContentsMargins(8, 2, 8, 4)
        footer.addWidget(self.count, 1)
        footer.addWidget(self.size_slider)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addWidget(self.grid, 1)
        layout.addLayout(footer)

        self._pending: tuple[int | None, int | None] = (None, None)  # keep current, top anchor
        self.model.loaded.connect(self._loaded)
        self.grid.painted.connect(lambda n: self.model.first_screen_shown() if n else None)
        from lightable.ui.jobs import LatestCall

        self._folder_call = LatestCall(self)
        self._refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_DEBOUNCE_MS)
        self._refresh_timer.timeout.connect(self._refresh_now)
        self._fill_folders()
        self._update_count()
        self.setFocusProxy(self.grid)

    # -- project ---------------------------------------------------------------------------
    def set_project(self, project: Any) -> None:
        """Show ``project`` (or nothing); the query is reset to everything by name."""
        if self._relay is not None:
            self._relay.close()
            self._relay.deleteLater()
            self._relay = None
        if self.loader is not None:
            self.loader.close()
            self.loader.deleteLater()
            self.loader = None
            self.grid.loader = None
        self.project = project
        self._building_controls = True
        self.search.clear()
        self.status.setCurrentIndex(0)
        self.label.setCurrentIndex(0)
        self.sort.setCurrentIndex(0)
        self.order.setChecked(False)
        self.unlabeled.setChecked(False)
        self._set_extra({})
        self._building_controls = False
        self._fill_runs()
        if project is None:
            self.grid.setProperty("emptyText", "No project open")
            self._fill_folders()
            self._fill_labels()
            self.model.set_project(None)
            self._update_count()
            return
        from lightable.ui.browser.thumbs import ThumbnailLoader
        from lightable.ui.jobs import ChangeRelay

        self.loader = ThumbnailLoader(project, size=self.grid.delegate.thumb_size, parent=self)
        self.loader.ready.connect(self.grid.thumbnails_arrived)
        self.grid.loader = self.loader
        self._relay = ChangeRelay(project, self)
        self._relay.changed.connect(self._on_change)
        self.grid.setProperty(
            "emptyText", "No images here.\nUse File › Add images folder… to index a folder."
        )
        self._fill_folders()  # "All folders" now; the list itself comes from a thread
        self._load_folders()
        self._fill_labels()
        self._pending = (None, None)
        self.model.set_project(project, self._query_from_controls())

    def close_project(self) -> None:
        self.set_project(None)

    # -- query ---------------------------------------------------------------------------
    def query(self) -> ImageQuery:
        return self.model.query

    def set_query(self, query: ImageQuery) -> None:
        """Show ``query`` and make the controls match it."""
        self._building_controls = True
        self.search.setText(query.text)
        i = self.folder.findData(query.folder or "")
        if i < 0 and query.folder:  # the folder list may still be loading
            self.folder.addItem(query.folder, query.folder)
            i = self.folder.count() - 1
        self.folder.setCurrentIndex(max(0, i))
        self.status.setCurrentIndex(max(0, self.status.findData(query.status)))
        self._fill_labels()
        self.label.setCurrentIndex(max(0, self.label.findData(query.label_id)))
        self.sort.setCurrentIndex(max(0, self.sort.findData(query.sort)))
        self.order.setChecked(query.descending)
        self.unlabeled.setChecked(bool(query.unlabeled))
        self._fill_runs()
        if query.score_run is not None:
            self.run.setCurrentIndex(max(0, self.run.findData(query.score_run)))
        self._set_extra({k: v for k, v in (("image_ids", query.image_ids),
                                           ("split", query.split)) if v is not None})  # fmt: skip
        self._building_controls = False
        self._show_run_picker()
        self._reload(query)

    def _set_extra(self, extra: dict[str, Any]) -> None:
        self._extra = extra
        parts = []
        if extra.get("split") is not None:
            parts.append(f"split {extra['split']}")
        if extra.get("image_ids") is not None:
            n = len(extra["image_ids"])
            parts.append(f"{n:,} chosen image{'s' if n != 1 else ''}")
        self.chip.setText("filter: " + ", ".join(parts))
        self.chip.setVisible(bool(parts))

    def clear_extra_filter(self) -> None:
        """The chip's ✕: drop the filters no control shows, keep the rest."""
        self._set_extra({})
        self._apply_controls()

    def _fill_runs(self) -> None:
        current = self.run.currentData()
        self._building_controls, was = True, self._building_controls
        self.run.clear()
        if self.project is not None:
            from lightable.store.predictions import PredictionRepo

            for r in PredictionRepo(self.project).runs():  # newest first: the default
                self.run.addItem(f"Run {r.id}: {r.name}", r.id)
        if self.run.count() == 0:
            self.run.addItem("No model runs: run a model first", None)
        self.run.setCurrentIndex(max(0, self.run.findData(current)))
        self._building_controls = was

    def _show_run_picker(self) -> None:
        self.run.setVisible(self.sort.currentData() in SCORE_SORTS)

    def _query_from_controls(self) -> ImageQuery:
        folder = self.folder.currentData() or None
        sort = self.sort.currentData() or SortKey.NAME
        run = self.run.currentData() if sort in SCORE_SORTS else None
        if sort in SCORE_SORTS and run is None:
            sort = SortKey.NAME  # no run to score by: the picker says so
        return ImageQuery(
            text=self.search.text().strip(),
            folder=folder,
            status=self.status.currentData(),
            label_id=self.label.currentData(),
            sort=sort,
            descending=self.order.isChecked(),
            score_run=run,
            unlabeled=True if self.unlabeled.isChecked() else None,
            image_ids=self._extra.get("image_ids"),
            split=self._extra.get("split"),
        )

    def _apply_controls(self, *_: object) -> None:
        if self._building_controls or self.project is None:
            return
        self._show_run_picker()
        self._filter_timer.stop()
        q = self._query_from_controls()
        if q != self.model.query:
            self._reload(q)

    def _reload(self, query: ImageQuery) -> None:
        if self.project is None:
            return
        self._pending = (self.current_id(), None)
        self.model.set_query(query)
        self._update_count()

    def _loaded(self, query: ImageQuery) -> None:
        """The model installed the ids of ``query``: restore the current image and scroll."""
        keep, anchor = self._pending
        self._pending = (None, None)
        self._after_reset(keep)
        if keep is None and anchor is not None:
            r = self.model.row_of(anchor)
            if r is not None:
                self.grid.scrollTo(self.model.index(r), QAbstractItemView.ScrollHint.PositionAtTop)
        self.queryChanged.emit(query)

    def _after_reset(self, keep: int | None) -> None:
        row = self.model.row_of(keep) if keep is not None else None
        if row is not None:
            ix = self.model.index(row)
            self.grid.selectionModel().setCurrentIndex(
                ix, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
            self.grid.scrollTo(ix, QAbstractItemView.ScrollHint.PositionAtCenter)
        else:
            self.currentImageChanged.emit(None)
        self._update_count()
        self.countChanged.emit(self.model.rowCount())

    def refresh(self) -> None:
        """Re-read the ids of the current query (after images were added or removed)."""
        self._refresh_timer.stop()
        self._refresh_now()

    def _refresh_now(self) -> None:
        if self.project is None:
            return
        top_row = self.grid.visible_rows()[0]
        self._pending = (self.current_id(), self.model.id_at(top_row))
        self.model.set_query(self.model.query)

    def _load_folders(self) -> None:
        project = self.project
        if project is not None:
            self._folder_call.run(project.images.folders, self._fill_folders)

    def _fill_folders(self, folders: list[tuple[str, int]] | None = None) -> None:
        current = self.folder.currentData() or ""
        self._building_controls = True
        self.folder.clear()
        self.folder.addItem("All folders", "")
        if self.project is not None and folders:
            for f, depth, n in folder_tree(folders):
                name = f.rpartition("/")[2]
                self.folder.addItem(f"{'    ' * depth}{name}  ({n:,})", f)
                self.folder.setItemData(self.folder.count() - 1, f, Qt.ItemDataRole.ToolTipRole)
        self.folder.setCurrentIndex(max(0, self.folder.findData(current)))
        self._building_controls = False

    def _fill_labels(self) -> None:
        from lightable.ui.panels.labels import swatch

        current = self.label.currentData()
        self._building_controls = True
        self.label.clear()
        self.label.addItem("Any label", None)
        if self.project is not None:
            for lb in self.project.labels.all():
                self.label.addItem(swatch(lb.color), lb.name, lb.id)
        i = self.label.findData(current)
        self.label.setCurrentIndex(max(0, i))
        self._building_controls = False
        if current is not None and i < 0:  # the label shown was deleted
            self._apply_controls()

    def _order_toggled(self, descending: bool, apply: bool = True) -> None:
        self.order.setIcon(icons.icon("sort-desc" if descending else "sort-asc"))
        self.order.setToolTip("Descending (click for ascending)" if descending
                              else "Ascending (click for descending)")  # fmt: skip
        if apply:
            self._apply_controls()

    def _size_changed(self, size: int) -> None:
        self.grid.set_thumb_size(size)
        if self.settings is not None:
            self.settings.set_thumb_size(size)

    # -- store changes ---------------------------------------------------------------------
    def _on_change(self, change: Any) -> None:
        kind = change.kind
        q = self.model.query
        if kind in ("images.added", "images.removed"):
            self._refresh_timer.start()
            self._load_folders()
        elif kind == "images.changed":
            if q.status is not None or q.sort == SortKey.STATUS or not change.image_ids:
                self._refresh_timer.start()
            self.model.invalidate(change.image_ids)
            if self.loader is not None and "status" not in change.payload:
                # Not a status change: the files themselves may have changed.
                self.loader.forget(change.image_ids)
        elif kind == "thumbnails.ready":
            if self.loader is not None:
                self.loader.forget([i for i in change.image_ids if self._has_error(i)])
            self.grid.thumbnails_arrived([])
        elif kind == "annotations.changed" and q.label_id is not None:
            self._refresh_timer.start()
        elif kind == "labels.changed":
            self._fill_labels()
        elif kind == "predictions.changed":
            self._fill_runs()
            if q.sort in SCORE_SORTS or q.unlabeled is not None:
                self._refresh_timer.start()

    def _has_error(self, image_id: int) -> bool:
        row = self.model.row_of(image_id)
        im = self.model.image_at(row) if row is not None else None
        return im is not None and self.loader is not None and self.loader.error(im) is not None

    # -- current image and selection -------------------------------------------------------
    def ids(self) -> list[int]:
        return self.model.ids()

    def current_id(self) -> int | None:
        ix = self.grid.currentIndex()
        return self.model.id_at(ix.row()) if ix.isValid() else None

    def current_row(self) -> int | None:
        ix = self.grid.currentIndex()
        return ix.row() if ix.isValid() else None

    def selected_ids(self) -> list[int]:
        out: list[int] = []
        ids = self.model.ids()
        for rng in self.grid.selectionModel().selection():
            out.extend(ids[rng.top() : rng.bottom() + 1])
        return out

    def select_image(self, image_id: int | None) -> bool:
        """Make ``image_id`` current and selected, scrolled into view; False if not shown."""
        if image_id is None:
            return False
        row = self.model.row_of(image_id, self.current_row())
        if row is None:
            return False
        self.select_row(row)
        return True

    def select_row(self, row: int) -> None:
        ix = self.model.index(row)
        self.grid.selectionModel().setCurrentIndex(
            ix, QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
        self.grid.scrollTo(ix)

    def neighbor(self, image_id: int | None, step: int) -> int | None:
        """The id ``step`` places from ``image_id`` in the shown order (O(1) when it is current)."""
        ids = self.model.ids()
        if not ids:
            return None
        if image_id is None:
            return ids[0] if step > 0 else ids[-1]
        row = self.model.row_of(image_id, self.current_row())
        if row is None:
            return ids[0]
        target = row + step
        return ids[target] if 0 <= target < len(ids) else None

    def _activated(self, index: QModelIndex) -> None:
        image_id = self.model.id_at(index.row())
        if image_id is not None:
            self.imageActivated.emit(image_id)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.currentImageChanged.emit(
            self.model.id_at(current.row()) if current.isValid() else None
        )

    def _selection_changed(self, *_: object) -> None:
        self._update_count()
        self.selectionChanged.emit(self.selected_ids())

    def _update_count(self) -> None:
        n = self.model.rowCount()
        if self.project is None:
            self.count.setText("")
            return
        if self.model.error:
            self.count.setText(f"Cannot list images: {self.model.error}")
            return
        if self.model.loading:
            self.count.setText("Loading…")
            return
        sel = sum(r.bottom() - r.top() + 1 for r in self.grid.selectionModel().selection())
        text = f"{n:,} image{'s' if n != 1 else ''}"
        if sel > 1:
            text += f" · {sel:,} selected"
        self.count.setText(text)
