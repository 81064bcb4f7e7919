"""Model predictions shown on the canvas as proposals to accept or reject.

The chosen run's predictions of the current image with score >= the threshold are
drawn dashed in their label's colour with the score, minus those already accepted
(an annotation of the document carries their ``prediction_id``, so undoing an
accept makes the proposal come back by itself) and minus those rejected.

Rejections are kept in memory only, per run, for this session: a rejected
proposal stays hidden until the application restarts (the store has no place for
them and a rejection is a view choice, not a label).

With the move tool, a click on a proposal selects it (a selection of its own,
separate from the annotations'); Enter accepts it, Delete rejects it, Shift+Enter
accepts every visible proposal in one undo step, and dragging a proposal accepts
it first and then moves the new annotation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF

from lightable.core.geometry import Box, Keypoints, Polygon, Tag

if TYPE_CHECKING:
    from lightable.core.model import Prediction
    from lightable.ui.canvas.view import ViewTransform
    from lightable.ui.canvas.widget import CanvasWidget

UNKNOWN = QColor("#bbbbbb")
DRAG_PX = 4.0
HIT_PX = 4.0


class Proposals(QObject):
    changed = Signal()  # what is shown changed (run, threshold, image, accept/reject, undo)

    def __init__(self, canvas: CanvasWidget) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.run_id: int | None = None
        self.threshold = 0.5
        self.rejected: dict[int, set[int]] = {}  # run id -> prediction ids (session only)
        self.selected: int | None = None
        self._cache_key: tuple[Any, ...] | None = None
        self._preds: list[Prediction] = []
        self._press: Any = None  # (prediction id, ToolEvent) while a press may become a drag

    # -- state ----------------------------------------------------------------------
    def set_run(self, run_id: int | None) -> None:
        if run_id == self.run_id:
            return
        self.run_id = run_id
        self.selected = None
        self._cache_key = None
        self._changed()

    def set_threshold(self, t: float) -> None:
        t = max(0.0, min(1.0, float(t)))
        if t == self.threshold:
            return
        self.threshold = t
        if self.selected is not None and self.selected not in self.visible_ids():
            self.selected = None
        self._changed()

    def reload(self) -> None:
        """Read the predictions again (a pre-label run wrote new ones)."""
        self._cache_key = None
        self._changed()

    def image_changed(self) -> None:
        self.selected = None
        self._press = None
        self._changed()

    def document_changed(self) -> None:
        """An annotation was added/removed (accept, undo): what is visible may differ."""
        if self.selected is not None and self.selected not in self.visible_ids():
            self.selected = None
        self.changed.emit()

    def _changed(self) -> None:
        self.canvas.update()
        self.changed.emit()

    def _all(self) -> list[Prediction]:
        doc = self.canvas.document()
        project = self.canvas.project()
        if self.run_id is None or doc is None or project is None:
            return []
        key = (id(project), doc.image_id, self.run_id)
        if key != self._cache_key:
            from lightable.store.predictions import PredictionRepo

            self._preds = PredictionRepo(project).for_image(doc.image_id, self.run_id)
            self._cache_key = key
        return self._preds

    def all_count(self) -> int:
        """Predictions of the run on this image that are neither accepted nor rejected."""
        return len(self._open(self._all()))

    def _open(self, preds: list[Prediction]) -> list[Prediction]:
        doc = self.canvas.document()
        if doc is None or not preds:
            return []
        accepted = {a.prediction_id for a in doc.annotations() if a.prediction_id is not None}
        rejected = self.rejected.get(self.run_id or -1, set())
        return [p for p in preds if p.id not in accepted and p.id not in rejected]

    def visible(self) -> list[Prediction]:
        """The proposals on screen, best first."""
        return [p for p in self._open(self._all()) if p.score >= self.threshold]

    def visible_ids(self) -> list[int]:
        return [p.id for p in self.visible() if p.id is not None]

    # -- actions --------------------------------------------------------------------
    def select(self, prediction_id: int | None) -> None:
        if prediction_id != self.selected:
            self.selected = prediction_id
            self._changed()

    def _annotation_for(self, p: Prediction) -> Any:
        from lightable.core.model import Annotation

        doc = self.canvas.document()
        assert doc is not None
        label_id = p.label_id if p.label_id in doc.labels else None
        if label_id is None and p.class_name:
            project = self.canvas.project()
            lb = project.labels.by_name(p.class_name) if project is not None else None
            label_id = lb.id if lb is not None and lb.id in doc.labels else None
        if label_id is None:
            self.canvas.message.emit(
                f"Proposal {p.class_name or p.id!s}: no project label matches; "
                "map it in Label mapping… first"
            )
            return None
        return Annotation(doc.image_id, label_id, p.geometry, z=doc.top_z())

    def accept(self, prediction_id: int | None = None) -> int | None:
        """Accept one proposal (the selected one): an undoable AcceptPrediction.
        Returns the new annotation's id."""
        from lightable.core.commands import AcceptPrediction

        pid = self.selected if prediction_id is None else prediction_id
        p = next((q for q in self.visible() if q.id == pid), None)
        if p is None or p.id is None:
            return None
        ann = self._annotation_for(p)
        if ann is None:
            return None
        ev = self.canvas.do(AcceptPrediction(p.id, ann))
        if self.selected == pid:
            self.selected = None
        self._changed()
        return next(iter(ev.added), None) if ev is not None and ev.added else None

    def accept_all(self) -> int:
        """Accept every visible proposal as one undo step; returns how many."""
        from lightable.core.commands import AcceptPrediction, Batch

        cmds = []
        for p in self.visible():
            ann = self._annotation_for(p)
            if ann is not None and p.id is not None:
                ann.z += len(cmds)
                cmds.append(AcceptPrediction(p.id, ann))
        if not cmds:
            return 0
        doc = self.canvas.document()
        assert doc is not None
        n = len(cmds)
        label = f"Accept {n} prediction" + ("s" if n != 1 else "")
        self.canvas.do(Batch(cmds, label, image_id=doc.image_id))
        self.selected = None
        self._changed()
        return n

    def reject(self, prediction_id: int | None = None) -> bool:
        pid = self.selected if prediction_id is None else prediction_id
        if pid is None or self.run_id is None:
            return False
        self.rejected.setdefault(self.run_id, set()).add(pid)
        if self.selected == pid:
            self.selected = None
        self._changed()
        return True

    def wants_enter(self, ev: Any) -> bool:
        """Enter accepts the selected proposal, Shift+Enter all visible ones; with
        nothing to accept the key is left to the active tool."""
        if self.run_id is None:
            return False
        if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            return bool(self.visible())
        return self.selected is not None

    # -- hit testing and mouse (the move tool) --------------------------------------
    def hit(self, pos: QPointF) -> int | None:
        """The smallest visible proposal under ``pos`` (image coordinates)."""
        tol = HIT_PX / max(self.canvas.view().zoom, 1e-6)
        best: tuple[float, int] | None = None
        for p in self.visible():
            if isinstance(p.geometry, Tag) or p.id is None:
                continue
            x, y, w, h = p.geometry.bbox()
            if x - tol <= pos.x() <= x + w + tol and y - tol <= pos.y() <= y + h + tol:
                area = w * h
                if best is None or area < best[0]:
                    best = (area, p.id)
        return best[1] if best else None

    def press(self, ev: Any) -> bool:
        """A left press with the move tool: select the proposal under it. True: handled."""
        if self.run_id is None or ev.button != Qt.MouseButton.LeftButton:
            return False
        hit = self.hit(ev.pos)
        if hit is None:
            self.select(None)
            return False
        doc = self.canvas.document()
        if doc is not None:
            doc.clear_selection()
        self.select(hit)
        self._press = (hit, ev)
        return True

    def pressed(self) -> bool:
        return self._press is not None

    def move(self, ev: Any) -> None:
        """A drag of a pressed proposal accepts it, then the move tool moves the new object."""
        if self._press is None:
            return
        pid, start = self._press
        d = ev.view_pos - start.view_pos
        if (d.x() ** 2 + d.y() ** 2) ** 0.5 < DRAG_PX:
            return
        self._press = None
        ann_id = self.accept(pid)
        doc = self.canvas.document()
        if ann_id is None or doc is None:
            return
        doc.select([ann_id])
        self.canvas.hand_press_to_tool(start, ev)

    def release(self) -> None:
        self._press = None

    # -- painting -------------------------------------------------------------------
    def paint(self, p: QPainter, view: ViewTransform) -> None:
        if self.run_id is None or not self.canvas.annotations_visible():
            return
        props = self.visible()
        if not props:
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        font = QFont(p.font())
        font.setPointSizeF(8.5)
        p.setFont(font)
        # Worst first so the best proposal's outline ends on top.
        for pred in reversed(props):
            self._paint_one(p, view, pred, pred.id == self.selected)

    def _color(self, pred: Prediction) -> QColor:
        overlay = self.canvas.overlay
        if pred.label_id is not None and pred.label_id in overlay.colors:
            return QColor(overlay.color(pred.label_id))
        doc = self.canvas.document()
        if doc is not None and pred.class_name:
            for lb in doc.labels.values():
                if lb.name == pred.class_name and lb.id is not None:
                    return QColor(overlay.color(lb.id))
        return QColor(UNKNOWN)

    def _paint_one(self, p: QPainter, view: ViewTransform, pred: Prediction, sel: bool) -> None:
        color = self._color(pred)
        pen = QPen(color, 3.0 if sel else 2.0)
        pen.setStyle(Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        p.setPen(pen)
        fill = QColor(color)
        fill.setAlpha(70 if sel else 0)
        p.setBrush(QBrush(fill) if sel else Qt.BrushStyle.NoBrush)
        g = pred.geometry
        x, y, w, h = g.bbox()
        rect = view.rect_to_view(QRectF(x, y, w, h))
        if isinstance(g, Polygon):
            path = QPainterPath()
            for ring in g.rings:
                pts = [
                    view.point_to_view(QPointF(ring[i], ring[i + 1]))
                    for i in range(0, len(ring) - 1, 2)
                ]
                path.addPolygon(QPolygonF(pts))
                path.closeSubpath()
            p.drawPath(path)
        elif isinstance(g, Keypoints):
            for kx, ky, v in g.points:
                if v > 0:
                    p.drawEllipse(view.point_to_view(QPointF(kx, ky)), 4.0, 4.0)
        elif isinstance(g, Tag):
            rect = QRectF(8, 8, 0, 0)
        else:  # Box, and a Mask shown by its box (cheap: no decode per frame)
            p.drawRect(rect)
        if sel and not isinstance(g, Box | Tag):
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(rect)
        text = f"{pred.class_name or '?'} {pred.score:.2f}"
        fm = p.fontMetrics()
        tw, th = fm.horizontalAdvance(text) + 6, fm.height() + 2
        box = QRectF(rect.left(), rect.top() - th, tw, th)
        if box.top() < 0:
            box.moveTop(rect.top())
        bg = QColor(color if sel else QColor(20, 20, 20))
        bg.setAlpha(230 if sel else 170)
        p.setPen(Qt.PenStyle.NoPen)
        p.fillRect(box, bg)
        p.setPen(QColor(10, 10, 10) if sel else color.lighter(130))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
