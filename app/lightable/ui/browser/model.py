"""The browser's list model: the ids of the current query, rows fetched for what is seen.

The model holds only ``project.images.ordered_ids(query)`` (one index scan, a
list of ints), so a row number maps to an image id at once and "next image" is
O(1). Image rows are read from the store in aligned blocks when a tile first
needs them, and kept in a small LRU of blocks; nothing walks all 100,000 rows.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from lightable.core.model import Image
from lightable.store.images import ImageQuery

BLOCK = 128  # rows per store query
FIRST_PAGE = 2 * BLOCK  # rows read first, so the first screen does not wait for all ids
FIRST_SCREEN_WAIT_S = 0.6
MAX_BLOCKS = 96  # ~12k rows of metadata kept

IdRole = Qt.ItemDataRole.UserRole + 1
ImageRole = Qt.ItemDataRole.UserRole + 2
StatusRole = Qt.ItemDataRole.UserRole + 3
ErrorRole = Qt.ItemDataRole.UserRole + 4

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


def _none() -> None:
    # PySide6 6.12 on Python 3.11 drops a reference to every None a virtual returns;
    # lightable.ui pins None's count, this keeps models safe even without it.
    _incref(None)


def _human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


class BrowserModel(QAbstractListModel):
    """One row per image of the query, in the query's order.

    ``set_query`` reads on a worker thread (a text filter over 100k paths is a
    table scan): first the first page of rows (one keyset query, so the first
    screen of a 100k-image project does not wait for the whole list), then all
    ids; ``loaded`` is emitted when they are installed. A late answer to an
    older request is dropped.
    """

    loaded = Signal(object)  # the ImageQuery whose ids were just installed
    _ids_ready = Signal(int, object, object, object)  # generation, query, ids, error
    _page_ready = Signal(int, object)  # generation, first page of Image rows

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._generation = 0
        self.loading = False
        self.error: str | None = None
        self._ids_ready.connect(self._install, Qt.ConnectionType.QueuedConnection)
        self._page_ready.connect(self._install_page, Qt.ConnectionType.QueuedConnection)
        self._partial = False  # the ids are the first page only
        self._first_screen = threading.Event()
        self.project: Any = None
        self.query = ImageQuery()
        self._ids: list[int] = []
        self._row_of: dict[int, int] | None = None  # built on first need
        self._blocks: OrderedDict[int, dict[int, Image]] = OrderedDict()
        self.block_fetches = 0  # store queries made (for tests and benchmarks)

    # -- loading ---------------------------------------------------------------------
    def set_project(self, project: Any, query: ImageQuery | None = None) -> None:
        self.project = project
        self.set_ids([])  # nothing of the previous project may be read from this one
        self.set_query(query or ImageQuery())

    def set_query(self, query: ImageQuery, wait: bool = False) -> None:
        """Show ``query``: its ids are read off the UI thread (``wait``: on this one)."""
        self.query = query
        self._generation += 1
        project = self.project
        if project is None:
            self.loading = False
            self.set_ids([])
            self.loaded.emit(query)
            return
        self.loading = True
        if wait:
            self._install(self._generation, query, project.images.ordered_ids(query), None)
            return
        # The first page first only when nothing useful is on screen yet.
        first = not self._ids
        self._first_screen = threading.Event()
        threading.Thread(
            target=self._read, args=(project, query, self._generation, first), daemon=True,
            name="browser-query",
        ).start()  # fmt: skip

    def first_screen_shown(self) -> None:
        """The view painted its first thumbnails: the full id list may be read now."""
        self._first_screen.set()

    def _read(self, project: Any, query: ImageQuery, generation: int, first: bool) -> None:
        try:
            if first:
                page = project.images.page(query, None, FIRST_PAGE)
                with contextlib.suppress(RuntimeError):
                    self._page_ready.emit(generation, page)
                if len(page) < FIRST_PAGE:
                    ids, error = [im.id for im in page], None
                    with contextlib.suppress(RuntimeError):
                        self._ids_ready.emit(generation, query, ids, error)
                    return
                # Reading 100k ids competes for the interpreter with the thumbnail
                # workers: let the first screen of thumbnails go first (briefly).
                self._first_screen.wait(FIRST_SCREEN_WAIT_S)
            ids, error = project.images.ordered_ids(query), None
        except Exception as exc:  # a closed or broken database: say so, keep the window
            ids, error = [], f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(RuntimeError):  # model deleted meanwhile
            self._ids_ready.emit(generation, query, ids, error)

    def _install_page(self, generation: int, page: list[Image]) -> None:
        if generation != self._generation:
            return
        self.set_ids([im.id for im in page])  # type: ignore[misc]
        self._partial = True
        for b in range(0, len(page), BLOCK):
            self._blocks[b // BLOCK] = {im.id: im for im in page[b : b + BLOCK]}  # type: ignore[misc]

    def _install(self, generation: int, query: ImageQuery, ids: list[int], error: Any) -> None:
        if generation != self._generation:
            return  # a newer query is on its way
        self.loading = False
        self.error = error
        n = len(self._ids)
        if self._partial and n <= len(ids) and ids[:n] == self._ids:
            # The first page is a prefix: append the rest, keeping scroll and selection.
            if len(ids) > n:
                self.beginInsertRows(QModelIndex(), n, len(ids) - 1)
                self._ids = ids
                self._row_of = None
                self.endInsertRows()
        else:
            self.set_ids(ids)
        self._partial = False
        self.loaded.emit(query)

    def set_ids(self, ids: list[int]) -> None:
        self._partial = False
        self.beginResetModel()
        self._ids = ids
        self._row_of = None
        self._blocks.clear()
        self.endResetModel()

    def invalidate(self, image_ids: Sequence[int] = ()) -> None:
        """Forget cached rows (of these images, or all) and repaint them."""
        if not image_ids:
            self._blocks.clear()
            if self._ids:
                self.dataChanged.emit(self.index(0), self.index(len(self._ids) - 1))
            return
        rows = [r for r in (self.row_of(i) for i in image_ids) if r is not None]
        for r in rows:
            self._blocks.pop(r // BLOCK, None)
            ix = self.index(r)
            self.dataChanged.emit(ix, ix)

    # -- lookups (all O(1) or O(block)) ----------------------------------------------------
    def ids(self) -> list[int]:
        """The current order (do not modify)."""
        return self._ids

    def id_at(self, row: int) -> int | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, image_id: int, hint: int | None = None) -> int | None:
        if hint is not None and 0 <= hint < len(self._ids) and self._ids[hint] == image_id:
            return hint
        if self._row_of is None:
            self._row_of = {i: r for r, i in enumerate(self._ids)}
        return self._row_of.get(image_id)

    def image_at(self, row: int) -> Image | None:
        """The image row for ``row``, fetching its block from the store if needed."""
        if not 0 <= row < len(self._ids):
            return None
        b = row // BLOCK
        block = self._blocks.get(b)
        if block is None:
            block = self._fetch_block(b)
        else:
            self._blocks.move_to_end(b)
        return block.get(self._ids[row])

    def images(self, first: int, last: int) -> list[Image]:
        out = []
        for r in range(max(0, first), min(last, len(self._ids) - 1) + 1):
            im = self.image_at(r)
            if im is not None:
                out.append(im)
        return out

    def _fetch_block(self, b: int) -> dict[int, Image]:
        ids = self._ids[b * BLOCK : (b + 1) * BLOCK]
        block = self.project.images.get_many(ids) if self.project is not None else {}
        self.block_fetches += 1
        self._blocks[b] = block
        while len(self._blocks) > MAX_BLOCKS:
            self._blocks.popitem(last=False)
        return block

    # -- Qt model API --------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        row = index.row()
        if not index.isValid() or not 0 <= row < len(self._ids):
            return _none()
        if role == IdRole:
            return self._ids[row]
        im = self.image_at(row)
        if im is None:
            return _none()
        if role == Qt.ItemDataRole.DisplayRole:
            return im.path.rpartition("/")[2]
        if role == ImageRole:
            return im
        if role == StatusRole:
            return str(im.status)
        if role == ErrorRole:
            return im.error or ""
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [im.path]
            if im.width and im.height:
                lines.append(f"{im.width} × {im.height} px · {_human_size(im.file_size)}")
            lines.append(f"status: {str(im.status).replace('_', ' ')}")
            if im.error:
                lines.append(f"cannot be read: {im.error}")
            return "\n".join(lines)
        return _none()
