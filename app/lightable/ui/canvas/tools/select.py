"""Move/select (V): click, shift-click, rubber band; drag shapes, vertices and box handles.

A drag is drawn live by the overlay (no store writes while the mouse moves)
and committed on release as ONE command: MoveAnnotations for a move,
ReshapeAnnotation for a handle. Arrow keys nudge by 1 px (shift: 10 px); the
document merges consecutive nudges into one undo step. Alt-click on a vertex
deletes it, double-click on a selected polygon's edge inserts one.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QCursor, QKeyEvent, QPainter, QPen

from lightable.core.commands import MoveAnnotations, ReshapeAnnotation
from lightable.core.geometry import Box, Geometry, Polygon
from lightable.ui.canvas.tools import handles as hd
from lightable.ui.canvas.tools.base import Tool, ToolEvent
from lightable.ui.canvas.tools.cursors import arrow_badge_cursor

DRAG_PX = 3.0
NUDGE_KEYS = {
    Qt.Key.Key_Left: (-1, 0),
    Qt.Key.Key_Right: (1, 0),
    Qt.Key.Key_Up: (0, -1),
    Qt.Key.Key_Down: (0, 1),
}


class SelectTool(Tool):
    name = "select"
    key = "V"
    label = "Move / select"
    tip = "Click to select, Shift-click to add, drag to move; drag handles to reshape; arrows nudge"

    def __init__(self, canvas) -> None:  # type: ignore[no-untyped-def]
        super().__init__(canvas)
        self._mode: str | None = None  # "pending", "move", "handle", "band"
        self._press_view = QPointF()
        self._press_img = QPointF()
        self._handle: hd.Handle | None = None
        self._original: Geometry | None = None
        self._moving: list[int] = []
        self._delta = (0.0, 0.0)
        self._band: QRectF | None = None
        self._band_add = False
        self._hover_badge = ""

    # -- cursor ------------------------------------------------------------------------
    def cursor(self) -> QCursor:
        if self._mode == "move":
            return QCursor(Qt.CursorShape.SizeAllCursor)
        if self._mode == "handle":
            return QCursor(Qt.CursorShape.CrossCursor)
        return arrow_badge_cursor(self._hover_badge)

    def hover(self, ev: ToolEvent) -> None:
        badge = ""
        hover_id = None
        if hd.find_handle(self.canvas, ev.view_pos) is not None:
            badge = "vertex"
        else:
            hover_id = self.canvas.hit_test(ev.pos)
            if hover_id is not None:
                badge = "+" if ev.shift else "move"
        ov = self.canvas.overlay
        if ov.hover_id != hover_id:
            ov.hover_id = hover_id
            self.canvas.update()
        if badge != self._hover_badge:
            self._hover_badge = badge
            self.canvas.refresh_cursor()

    # -- mouse -------------------------------------------------------------------------
    def press(self, ev: ToolEvent) -> None:
        doc = self.canvas.document()
        if doc is None or ev.button != Qt.MouseButton.LeftButton:
            return
        self._press_view = ev.view_pos
        self._press_img = ev.pos
        h = hd.find_handle(self.canvas, ev.view_pos)
        if h is not None:
            a = doc.get(h.ann_id)
            if a is None:
                return
            if ev.alt and h.kind == "vertex" and isinstance(a.geometry, Polygon):
                smaller = hd.delete_vertex(a.geometry, h.ring, h.index)
                if smaller is not None:
                    self.canvas.do(ReshapeAnnotation(h.ann_id, smaller, label="Delete vertex"))
                return
            self._mode = "handle"
            self._handle = h
            self._original = a.geometry
            self.canvas.refresh_cursor()
            return
        hit = self.canvas.hit_test(ev.pos)
        if hit is not None:
            sel = doc.selected()
            if ev.shift:
                doc.toggle(hit)
                self._mode = None
                return
            if hit not in sel:
                doc.select([hit])
            self._mode = "pending"
            self._moving = [i for i in doc.selected() if not doc.annotation(i).locked]
            return
        if not ev.shift:
            doc.clear_selection()
        self._mode = "band"
        self._band_add = ev.shift
        self._band = QRectF(ev.pos, ev.pos)

    def move(self, ev: ToolEvent) -> None:
        if self._mode == "pending" and hd.distance(ev.view_pos, self._press_view) >= DRAG_PX:
            self._mode = "move"
            self.canvas.refresh_cursor()
        if self._mode == "move":
            dx = ev.pos.x() - self._press_img.x()
            dy = ev.pos.y() - self._press_img.y()
            if self.canvas.view().zoom >= 1.0:
                dx, dy = round(dx), round(dy)  # whole pixels when you can see them
            self._delta = self._clamp_delta(dx, dy)
            self.canvas.overlay.set_moving(self._moving, *self._delta)
            self.canvas.update()
        elif self._mode == "handle" and self._handle is not None and self._original is not None:
            x, y = hd.clamp_point(self.canvas, ev.pos.x(), ev.pos.y())
            g = hd.reshape(self._original, self._handle, x, y, square=ev.shift)
            self.canvas.overlay.set_preview({self._handle.ann_id: g})
            self.canvas.update()
        elif self._mode == "band" and self._band is not None:
            self._band.setBottomRight(ev.pos)
            self.canvas.update()

    def release(self, ev: ToolEvent) -> None:
        if ev.button != Qt.MouseButton.LeftButton:
            return
        mode, self._mode = self._mode, None
        doc = self.canvas.document()
        ov = self.canvas.overlay
        if mode == "move":
            dx, dy = self._delta
            ids, self._moving = self._moving, []
            if ids and (dx or dy) and doc is not None:
                # A drag is its own undo step: never merged with nudges around it.
                self.canvas.do(MoveAnnotations(ids, dx, dy, image_id=doc.image_id), merge=False)
            ov.clear_moving()
        elif mode == "handle" and self._handle is not None:
            g = ov.preview.get(self._handle.ann_id)
            if g is not None and g != self._original and _valid(g):
                self.canvas.do(ReshapeAnnotation(self._handle.ann_id, g))
            ov.clear_preview()
            self._handle = None
            self._original = None
        elif mode == "band" and self._band is not None and doc is not None:
            r = self._band.normalized()
            self._band = None
            if hd.distance(ev.view_pos, self._press_view) >= DRAG_PX:
                ids = self.canvas.ids_in_rect(r, contained=not ev.alt)
                doc.select(ids, add=self._band_add)
        self._moving = []
        self._delta = (0.0, 0.0)
        self.canvas.refresh_cursor()
        self.canvas.update()

    def double_click(self, ev: ToolEvent) -> None:
        """On a selected polygon's edge: insert a vertex there."""
        doc = self.canvas.document()
        if doc is None:
            return
        tol = 6.0 / self.canvas.zoom()
        for ann_id in doc.selected():
            a = doc.get(ann_id)
            if a is None or a.locked or not isinstance(a.geometry, Polygon):
                continue
            e = hd.nearest_edge(a.geometry, ev.pos.x(), ev.pos.y())
            if e is not None and e[4] <= tol:
                g = hd.insert_vertex(
                    a.geometry, e[0], e[1], *hd.clamp_point(self.canvas, e[2], e[3])
                )
                self.canvas.do(ReshapeAnnotation(ann_id, g, label="Add vertex"))
                return

    def _clamp_delta(self, dx: float, dy: float) -> tuple[float, float]:
        """Keep moved shapes inside the image if they were inside."""
        box = self.canvas.overlay.model.union_box(self._moving)
        w, h = self.canvas.image_size()
        if box is None or not w or not h:
            return dx, dy
        x0, y0, x1, y1 = box
        if x0 >= 0 and x1 <= w:
            dx = min(max(dx, -x0), w - x1)
        if y0 >= 0 and y1 <= h:
            dy = min(max(dy, -y0), h - y1)
        return dx, dy

    # -- keys -------------------------------------------------------------------------
    def wants_key(self, ev: QKeyEvent) -> bool:
        doc = self.canvas.document()
        if ev.key() in NUDGE_KEYS:
            return bool(doc is not None and doc.selected())
        return ev.key() == Qt.Key.Key_Escape and (
            self._mode is not None or bool(doc and doc.selected())
        )

    def key_press(self, ev: QKeyEvent) -> bool:
        doc = self.canvas.document()
        if doc is None:
            return False
        if ev.key() == Qt.Key.Key_Escape:
            if self._mode is not None:
                self.cancel()
            else:
                doc.clear_selection()
            self.canvas.update()
            return True
        step = NUDGE_KEYS.get(Qt.Key(ev.key()))
        if step is None or self._mode is not None:
            return False
        ids = [i for i in doc.selected() if not doc.annotation(i).locked]
        if not ids:
            return False
        n = 10 if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1
        # Nudges merge into one undo step (MoveAnnotations.merge) while they come quickly.
        self.canvas.do(
            MoveAnnotations(sorted(ids), step[0] * n, step[1] * n, image_id=doc.image_id)
        )
        return True

    def cancel(self) -> None:
        self._mode = None
        self._band = None
        self._handle = None
        self._moving = []
        ov = self.canvas.overlay
        ov.clear_moving()
        ov.clear_preview()

    def deactivate(self) -> None:
        self.cancel()
        if self.canvas.overlay.hover_id is not None:
            self.canvas.overlay.hover_id = None

    def busy(self) -> bool:
        return self._mode is not None

    # -- drawing ------------------------------------------------------------------------
    def paint(self, painter: QPainter) -> None:
        if self._band is None:
            return
        r = self.canvas.view().rect_to_view(self._band.normalized())
        painter.setPen(QPen(QColor(255, 255, 255, 230), 1.0, Qt.PenStyle.DashLine))
        painter.setBrush(QColor(61, 139, 253, 40))
        painter.drawRect(r)


def _valid(g: Geometry) -> bool:
    if isinstance(g, Box):
        return g.w > 0 and g.h > 0
    return True
