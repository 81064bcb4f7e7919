"""A virtualized thumbnail grid: every geometric question is arithmetic on the row number.

QListView lays out every item (O(n) per resize: 120-380 ms at 100k items here);
this view never looks at rows it does not paint. Selection, current index,
keyboard handling and activation (Enter, double-click) come from
QAbstractItemView; shift-selection is a contiguous range in reading order.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPoint,
    QRect,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QPainter, QRegion
from PySide6.QtWidgets import QAbstractItemView

from lightable.ui import theme
from lightable.ui.browser.delegate import ThumbDelegate

PREFETCH_SCREENS = 1.5  # how far beyond the visible rows thumbnails are asked for


class ThumbGrid(QAbstractItemView):
    """The browser's grid of tiles (model: BrowserModel, delegate: ThumbDelegate)."""

    visibleRangeChanged = Signal(int, int)  # first, last visible row
    painted = Signal(int)  # number of tiles with a thumbnail in the last paint

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.loader = None
        self.delegate = ThumbDelegate(lambda: self.loader, self)
        self.setItemDelegate(self.delegate)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMouseTracking(True)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self._hover = -1
        self._last_range = (-1, -1)
        # The wish list for thumbnails is sent after scrolling pauses for a moment
        # as well as on paint, so a fast drag does not queue every page it passes.
        self._want_timer = QTimer(self, singleShot=True, interval=30)
        self._want_timer.timeout.connect(self._request_thumbnails)

    # -- geometry --------------------------------------------------------------------------
    def _count(self) -> int:
        m = self.model()
        return m.rowCount() if m is not None else 0

    def cell(self) -> tuple[int, int]:
        """(width, height) of one cell; spare width is shared so columns fill the view."""
        size = self.delegate.cell_size()
        cols = self.columns()
        width = max(size.width(), self.viewport().width() // cols)
        return width, size.height()

    def columns(self) -> int:
        return max(1, self.viewport().width() // max(1, self.delegate.cell_size().width()))

    def visible_rows(self) -> tuple[int, int]:
        """First and last row (model rows) at least partly on screen; (0, -1) when empty."""
        n = self._count()
        if n == 0:
            return 0, -1
        _, ch = self.cell()
        cols = self.columns()
        top = self.verticalOffset()
        first = (top // ch) * cols
        last = ((top + self.viewport().height() - 1) // ch + 1) * cols - 1
        return max(0, first), min(n - 1, last)

    def rows_per_page(self) -> int:
        _, ch = self.cell()
        return max(1, self.viewport().height() // ch)

    def set_thumb_size(self, size: int) -> None:
        current = self.currentIndex()
        self.delegate.thumb_size = size
        if self.loader is not None:
            self.loader.set_size(size)
        self.updateGeometries()
        if current.isValid():
            self.scrollTo(current, QAbstractItemView.ScrollHint.PositionAtCenter)
        self.viewport().update()

    def visualRect(self, index: QModelIndex) -> QRect:
        if not index.isValid():
            return QRect()
        cw, ch = self.cell()
        cols = self.columns()
        r = index.row()
        return QRect((r % cols) * cw, (r // cols) * ch - self.verticalOffset(), cw, ch)

    def _row_at(self, pos: QPoint, clamp: bool) -> int:
        n = self._count()
        if n == 0:
            return -1
        cw, ch = self.cell()
        cols = self.columns()
        x, y = pos.x(), pos.y() + self.verticalOffset()
        col, line = x // cw, y // ch
        if clamp:
            col = min(max(col, 0), cols - 1)
            line = max(line, 0)
            return min(max(line * cols + col, 0), n - 1)
        if x < 0 or y < 0 or col >= cols:
            return -1
        row = line * cols + col
        return row if row < n else -1

    def indexAt(self, point: QPoint) -> QModelIndex:
        row = self._row_at(point, clamp=False)
        return self.model().index(row, 0) if row >= 0 else QModelIndex()

    def scrollTo(self, index: QModelIndex, hint=QAbstractItemView.ScrollHint.EnsureVisible) -> None:
        if not index.isValid():
            return
        _, ch = self.cell()
        y = (index.row() // self.columns()) * ch
        top = self.verticalOffset()
        height = self.viewport().height()
        sb = self.verticalScrollBar()
        H = QAbstractItemView.ScrollHint
        if hint == H.PositionAtTop:
            sb.setValue(y)
        elif hint == H.PositionAtBottom:
            sb.setValue(y + ch - height)
        elif hint == H.PositionAtCenter:
            sb.setValue(y + ch // 2 - height // 2)
        elif y < top:
            sb.setValue(y)
        elif y + ch > top + height:
            sb.setValue(y + ch - height)

    def horizontalOffset(self) -> int:
        return 0

    def verticalOffset(self) -> int:
        return self.verticalScrollBar().value()

    def isIndexHidden(self, index: QModelIndex) -> bool:
        return False

    def moveCursor(self, action: QAbstractItemView.CursorAction, modifiers) -> QModelIndex:
        n = self._count()
        if n == 0:
            return QModelIndex()
        cur = self.currentIndex()
        row = cur.row() if cur.isValid() else -1
        if row < 0:
            return self.model().index(0, 0)
        cols = self.columns()
        page = self.rows_per_page() * cols
        A = QAbstractItemView.CursorAction
        step = {
            A.MoveUp: -cols,
            A.MoveDown: cols,
            A.MoveLeft: -1,
            A.MoveRight: 1,
            A.MovePrevious: -1,
            A.MoveNext: 1,
            A.MovePageUp: -page,
            A.MovePageDown: page,
        }.get(action)
        if action == A.MoveHome:
            target = 0
        elif action == A.MoveEnd:
            target = n - 1
        elif step is None:
            target = row
        else:
            target = row + step
            if action in (A.MoveUp, A.MovePageUp) and target < 0:
                target = row % cols if action == A.MoveUp else 0
                if action == A.MoveUp and row < cols:
                    target = row
            if target > n - 1:
                # Down from the last full line lands on the last item, like file managers.
                target = n - 1 if action in (A.MoveDown, A.MovePageDown) else row
        return self.model().index(min(max(target, 0), n - 1), 0)

    def setSelection(self, rect: QRect, command: QItemSelectionModel.SelectionFlag) -> None:
        # ``rect`` runs from the anchor (press point, or the shift-selection start) to
        # the current point, unnormalized: selection is the reading-order range between.
        a = self._row_at(rect.topLeft(), clamp=True)
        b = self._row_at(rect.bottomRight(), clamp=True)
        if a < 0 or b < 0:
            return
        lo, hi = min(a, b), max(a, b)
        m = self.model()
        self.selectionModel().select(QItemSelection(m.index(lo, 0), m.index(hi, 0)), command)

    def visualRegionForSelection(self, selection: QItemSelection) -> QRegion:
        first, last = self.visible_rows()
        region = QRegion()
        for rng in selection:
            lo, hi = max(rng.top(), first), min(rng.bottom(), last)
            for r in range(lo, hi + 1):
                region += self.visualRect(self.model().index(r, 0))
        return region

    def updateGeometries(self) -> None:
        n = self._count()
        _, ch = self.cell()
        lines = (n + self.columns() - 1) // self.columns()
        sb = self.verticalScrollBar()
        sb.setRange(0, max(0, lines * ch - self.viewport().height()))
        sb.setPageStep(self.viewport().height())
        sb.setSingleStep(max(1, ch // 3))
        super().updateGeometries()

    # -- events ----------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.updateGeometries()

    def reset(self) -> None:
        super().reset()
        self._hover = -1
        self._last_range = (-1, -1)
        self.verticalScrollBar().setValue(0)
        self.updateGeometries()
        self.viewport().update()

    def rowsInserted(self, parent: QModelIndex, start: int, end: int) -> None:
        super().rowsInserted(parent, start, end)
        self.updateGeometries()

    def mouseMoveEvent(self, event) -> None:
        row = self._row_at(event.position().toPoint(), clamp=False)
        if row != self._hover:
            old, self._hover = self._hover, row
            for r in (old, row):
                if r >= 0:
                    self.viewport().update(self.visualRect(self.model().index(r, 0)))
        super().mouseMoveEvent(event)

    def viewportEvent(self, event) -> bool:
        if event.type() == QEvent.Type.Leave and self._hover >= 0:
            old, self._hover = self._hover, -1
            self.viewport().update(self.visualRect(self.model().index(old, 0)))
        return super().viewportEvent(event)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        self.viewport().update()

    def paintEvent(self, event) -> None:
        p = QPainter(self.viewport())
        p.fillRect(event.rect(), theme.color("base"))
        m = self.model()
        first, last = self.visible_rows()
        with_thumbs = 0
        if m is not None and last >= first:
            sel = self.selectionModel()
            current = self.currentIndex().row() if self.currentIndex().isValid() else -1
            has_focus = self.hasFocus()
            clip = event.rect()
            loader = self.loader
            cw, ch = self.cell()
            cols = self.columns()
            top = self.verticalOffset()
            # Selected rows as ranges once per paint (a Shift+End selection is one range).
            ranges = [(rg.top(), rg.bottom()) for rg in sel.selection()] if sel is not None else []
            paint_tile = self.delegate.paint_tile
            for r in range(first, last + 1):
                rect = QRect((r % cols) * cw, (r // cols) * ch - top, cw, ch)
                if not rect.intersects(clip):
                    continue
                image = m.image_at(r)
                paint_tile(
                    p,
                    rect,
                    image,
                    selected=any(lo <= r <= hi for lo, hi in ranges),
                    hover=r == self._hover,
                    current=r == current and has_focus,
                )
                if loader is not None and image is not None and loader.tile(image) is not None:
                    with_thumbs += 1
        else:
            self._paint_empty(p)
        p.end()
        if (first, last) != self._last_range:
            self._last_range = (first, last)
            self.visibleRangeChanged.emit(first, last)
            self._want_timer.start()
        self.painted.emit(with_thumbs)

    def _paint_empty(self, p: QPainter) -> None:
        text = self.property("emptyText") or "No images"
        p.setPen(theme.color("text_dim"))
        p.drawText(self.viewport().rect().adjusted(20, 20, -20, -20),
                   Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, str(text))  # fmt: skip

    # -- thumbnails ------------------------------------------------------------------------
    def _request_thumbnails(self) -> None:
        m = self.model()
        if self.loader is None or m is None:
            return
        first, last = self.visible_rows()
        if last < first:
            return
        span = last - first + 1
        margin = int(span * PREFETCH_SCREENS)
        visible = m.images(first, last)
        after = m.images(last + 1, last + margin)
        before = m.images(max(0, first - margin), first - 1)[::-1]
        # Visible first, then the direction of travel is unknown: interleave ahead/behind.
        order = list(visible)
        for k in range(max(len(after), len(before))):
            if k < len(after):
                order.append(after[k])
            if k < len(before):
                order.append(before[k])
        self.loader.want(order)

    def thumbnails_arrived(self, ids: list[int]) -> None:
        self.viewport().update()
        # Items that were dropped from the queue while in flight get asked for again.
        self._want_timer.start()
