"""Annotation overlay: cached tiles of batched paths, plus the live layer.

Committed shapes are drawn into 256 x 256 tiles at the current zoom (tile
(tx, ty) covers widget pixels [tx*T, (tx+1)*T) measured from the image origin,
so panning reuses every tile). A tile is rendered from a spatial-index query:
one gather of outline points and one QPainterPath per label colour. An edit
invalidates only the tiles its old and new bounding boxes touch. A frame is
therefore: blit tiles, then draw the few things that change every frame
(selection, handles, the shape being dragged, the tool's preview).

Small shapes are drawn with less detail (decimated polygons, dots below a few
pixels), and tiles missing after a zoom are rendered within a time budget per
frame, with the previous zoom's tiles scaled as a stand-in meanwhile.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QTransform,
)

from lightable.core.geometry import Box, Geometry, Keypoints, Polygon
from lightable.ui.canvas.painting import (
    MaskCache,
    box_handles,
    draw_geometry,
    draw_handles,
    draw_keypoints,
    mask_opacity,
    path_from,
    qpolygonf,
)
from lightable.ui.canvas.shapes import KIND_BOX, KIND_KPT, KIND_MASK, KIND_POLY, Rect, ShapeModel
from lightable.ui.canvas.view import PIXEL_ZOOM, ViewTransform

if TYPE_CHECKING:
    from lightable.core.document import DocumentEvent, ImageDocument

TILE = 256
MAX_TILES = 400  # ~100 MB of ARGB tiles at most
DOT_PX = 3.0  # shapes smaller than this on screen are drawn as dots
DECIMATE_PX = 24.0  # ... and polygons smaller than this keep ~1 vertex per 3 px
FRAME_BUDGET_S = 0.008
MAX_HANDLES = 4000
MAX_OUTLINED_SELECTION = 20000
SPRITE_ABOVE = 200  # a drag of more shapes than this is drawn from a sprite
UNKNOWN_COLOR = QColor("#9aa0a6")


class Overlay:
    def __init__(self) -> None:
        self.model = ShapeModel()
        self.doc: ImageDocument | None = None
        self.colors: dict[int, QColor] = {}
        self.opacity = 0.3
        self.visible = True
        self.masks = MaskCache()
        self.preview: dict[int, Geometry] = {}  # shapes being dragged, drawn live
        self._excluded: set[int] = set()
        self._moving: set[int] = set()
        self._live: set[int] = set()
        self._moving_paths: list[tuple[QColor, float, QPainterPath]] = []
        self._move_d = (0.0, 0.0)
        self._moving_sprite: tuple[object, QImage] | None = None
        self.viewport = (0, 0)  # widget size, set by the canvas (for the moving sprite)
        self._tiles: OrderedDict[tuple[int, int], QImage] = OrderedDict()
        self._tile_zoom = 0.0
        self._old_tiles: dict[tuple[int, int], QImage] = {}
        self._old_zoom = 0.0
        self._sel_path: QPainterPath | None = None
        self.hover_id: int | None = None
        self.stats = {"tiles_rendered": 0}
        self.revision = 0  # changes whenever the committed-shape tiles may draw differently

    # -- document ---------------------------------------------------------------------
    def set_document(self, doc: ImageDocument | None) -> None:
        self.doc = doc
        self.preview.clear()
        self._excluded.clear()
        self._moving.clear()
        self._live.clear()
        self._moving_paths = []
        self.hover_id = None
        self.model.load(doc.annotations() if doc is not None else [])
        self._refresh_colors()
        self.invalidate()

    def _refresh_colors(self) -> None:
        self.colors = {}
        if self.doc is not None:
            for lid, lb in self.doc.labels.items():
                self.colors[lid] = QColor(lb.color)

    def color(self, label_id: int) -> QColor:
        return self.colors.get(int(label_id), UNKNOWN_COLOR)

    def on_event(self, ev: DocumentEvent) -> None:
        doc = self.doc
        if doc is None:
            return
        if ev.cause == "reload":
            self.set_document(doc)
            return
        rects: list[Rect] = []
        for i in ev.removed:
            rects += self.model.remove(i).rects
        for i in ev.added | ev.changed:
            a = doc.get(i)
            if a is not None:
                rects += self.model.upsert(a).rects
        if ev.labels_changed:
            self._refresh_colors()
            self.invalidate()
        else:
            for r in rects:
                self.invalidate(r)
        if ev.annotations_changed or ev.selection_changed:
            self._sel_path = None
        if ev.selection_changed:
            self.revision += 1  # a large selection is drawn into the cached frame

    # -- settings ---------------------------------------------------------------------
    def set_visible(self, visible: bool) -> None:
        self.visible = visible
        self.revision += 1

    def set_opacity(self, value: float) -> None:
        self.opacity = min(1.0, max(0.0, value))
        self.invalidate()

    def set_preview(self, geoms: dict[int, Geometry]) -> None:
        """Draw these shapes live in place of their committed geometry (a reshape in progress)."""
        self.preview = dict(geoms)
        self._update_excluded()

    def clear_preview(self) -> None:
        self.set_preview({})

    def set_moving(self, ids: Iterable[int], dx: float, dy: float) -> None:
        """Draw ``ids`` live, shifted by (dx, dy) (a move drag in progress); cheap per call."""
        ids = set(ids)
        if ids != self._moving:
            self._moving = ids
            self._moving_sprite = None
            self._moving_paths = self._label_paths(ids)
            self._update_excluded()
        self._move_d = (dx, dy)

    def clear_moving(self) -> None:
        self.set_moving((), 0.0, 0.0)

    def set_live(self, ids: Iterable[int]) -> None:
        """Leave ``ids`` out of the committed drawing: a tool draws them live (brush strokes)."""
        self._live = set(ids)
        self._update_excluded()

    def _update_excluded(self) -> None:
        new = set(self.preview) | self._moving | self._live
        for i in new ^ self._excluded:
            box = self.model.box(i)
            if box is not None:
                self.invalidate(box)
        self._excluded = new
        self._sel_path = None

    def _label_paths(self, ids: Iterable[int]) -> list[tuple[QColor, float, QPainterPath]]:
        """One path per (label, object opacity) of the boxes and polygons among ``ids``."""
        m = self.model
        slots = m.slots_of(ids)
        if not len(slots):
            return []
        slots = slots[(m.kind[slots] == KIND_BOX) | (m.kind[slots] == KIND_POLY)]
        out = []
        groups = m.label[slots] * 1000 + np.rint(m.alpha[slots] * 100).astype(np.int64)
        for g in np.unique(groups):
            idx = m.gather_index(slots[groups == g])
            color = self.color(int(g // 1000))
            out.append((color, int(g % 1000) / 100.0, path_from(m.xy[idx], m.conn[idx])))
        return out

    def object_opacity(self, ann_id: int) -> float:
        """The object's own opacity (``attributes["_opacity"]``, 1 when unset)."""
        s = self.model.slot_of.get(ann_id)
        return float(self.model.alpha[s]) if s is not None else 1.0

    # -- tiles ------------------------------------------------------------------------
    def invalidate(self, rect: Rect | None = None) -> None:
        """Forget the tiles touching ``rect`` (image coords; None: all)."""
        self._sel_path = None
        self.revision += 1
        if rect is None:
            self._tiles.clear()
            self._old_tiles.clear()
            return
        z = self._tile_zoom
        if z <= 0 or not self._tiles:
            return
        pad = 6.0  # stroke width and antialiasing spill over the box
        tx0 = math.floor((rect[0] * z - pad) / TILE)
        ty0 = math.floor((rect[1] * z - pad) / TILE)
        tx1 = math.floor((rect[2] * z + pad) / TILE)
        ty1 = math.floor((rect[3] * z + pad) / TILE)
        if (tx1 - tx0 + 1) * (ty1 - ty0 + 1) > len(self._tiles):
            for key in [k for k in self._tiles if tx0 <= k[0] <= tx1 and ty0 <= k[1] <= ty1]:
                del self._tiles[key]
        else:
            for tx in range(tx0, tx1 + 1):
                for ty in range(ty0, ty1 + 1):
                    self._tiles.pop((tx, ty), None)
        self._old_tiles.clear()  # stale stand-ins would show the edit undone

    def paint(
        self, p: QPainter, view: ViewTransform, target: QRectF, budget_s: float = FRAME_BUDGET_S
    ) -> bool:
        """Draw tiles and the live layer; False when some tiles are still to come."""
        complete = self.paint_tiles(p, view, target, budget_s)
        self.paint_live(p, view)
        return complete

    def paint_live(self, p: QPainter, view: ViewTransform) -> None:
        if self.visible and self.doc is not None:
            self._draw_live(p, view)

    def paint_tiles(
        self, p: QPainter, view: ViewTransform, target: QRectF, budget_s: float = FRAME_BUDGET_S
    ) -> bool:
        """Draw the committed shapes from cached tiles; False when some are still to come."""
        if not self.visible or self.doc is None:
            return True
        z = view.zoom
        if z != self._tile_zoom:
            if self._tiles:
                self._old_tiles = dict(self._tiles)
                self._old_zoom = self._tile_zoom
            self._tiles.clear()
            self._tile_zoom = z
        # Tiles covering the widget, nearest to the centre first.
        left = (target.left() - view.ox) / TILE
        top = (target.top() - view.oy) / TILE
        tx0, ty0 = math.floor(left), math.floor(top)
        tx1 = math.floor((target.right() - view.ox) / TILE)
        ty1 = math.floor((target.bottom() - view.oy) / TILE)
        # Nothing outside the shapes' extent needs a tile.
        ext = self._extent()
        if ext is None:
            return True
        tx0 = max(tx0, math.floor((ext[0] * z - 8) / TILE))
        ty0 = max(ty0, math.floor((ext[1] * z - 8) / TILE))
        tx1 = min(tx1, math.floor((ext[2] * z + 8) / TILE))
        ty1 = min(ty1, math.floor((ext[3] * z + 8) / TILE))
        keys = [(tx, ty) for ty in range(ty0, ty1 + 1) for tx in range(tx0, tx1 + 1)]
        cx = (left + (target.width() / TILE) / 2) if keys else 0
        cy = (top + (target.height() / TILE) / 2) if keys else 0
        missing = sorted(
            (k for k in keys if k not in self._tiles),
            key=lambda k: (k[0] + 0.5 - cx) ** 2 + (k[1] + 0.5 - cy) ** 2,
        )
        deadline = time.perf_counter() + budget_s
        complete = True
        for k in missing:
            if time.perf_counter() > deadline and self._tiles:
                complete = False
                break
            self._tiles[k] = self._render_tile(k, z)
        while len(self._tiles) > MAX_TILES:
            self._tiles.popitem(last=False)
        p.save()
        p.resetTransform()
        if not complete:
            self._draw_stand_ins(p, view, target)
        for k in keys:
            img = self._tiles.get(k)
            if img is not None:
                p.drawImage(QPointF(view.ox + k[0] * TILE, view.oy + k[1] * TILE), img)
        if complete:
            self._old_tiles.clear()
        p.restore()
        sel = self.doc.selected()
        if len(sel) > SPRITE_ABOVE:
            # Many selected: a thin outline in the cached frame, not a thick one every frame.
            p.save()
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            p.setTransform(view.qtransform())
            pen = QPen(QColor(255, 255, 255, 235), 1.0)
            pen.setCosmetic(True)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(self._selection_path(sel))
            p.restore()
        return complete

    def _extent(self) -> Rect | None:
        m = self.model
        n = m.n_slots
        v = m.valid[:n]
        if not v.any():
            return None
        b = m.boxes[:n][v]
        return (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())

    def _draw_stand_ins(self, p: QPainter, view: ViewTransform, target: QRectF) -> None:
        if not self._old_tiles or self._old_zoom <= 0:
            return
        s = view.zoom / self._old_zoom
        p.save()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        for (tx, ty), img in self._old_tiles.items():
            r = QRectF(view.ox + tx * TILE * s, view.oy + ty * TILE * s, TILE * s, TILE * s)
            if r.intersects(target):
                p.drawImage(r, img)
        p.restore()

    def _render_tile(self, key: tuple[int, int], z: float) -> QImage:
        self.stats["tiles_rendered"] += 1
        img = QImage(TILE, TILE, QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(0)
        tx, ty = key
        pad = 4.0 / z
        rect = (
            (tx * TILE) / z - pad,
            (ty * TILE) / z - pad,
            ((tx + 1) * TILE) / z + pad,
            ((ty + 1) * TILE) / z + pad,
        )
        slots = self.model.query(rect)
        if len(slots) == 0:
            return img
        m = self.model
        keep = ~m.hidden[slots]
        if self._excluded:
            ex = m.slots_of(self._excluded)
            keep &= ~np.isin(slots, ex)
        slots = slots[keep]
        if len(slots) == 0:
            return img
        p = QPainter(img)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setTransform(QTransform(z, 0, 0, z, -tx * TILE, -ty * TILE))
        self.draw_slots(p, slots, z)
        p.end()
        return img

    # -- drawing sets of shapes ------------------------------------------------------
    def draw_slots(self, p: QPainter, slots: np.ndarray, z: float) -> None:
        """Draw committed shapes (painter in image coordinates, scale ``z``), bottom first."""
        m = self.model
        # Drawing order: z then id; masks at the bottom, outlines above them, keypoints on top.
        order = np.lexsort((m.ids[slots], m.z[slots]))
        slots = slots[order]
        kinds = m.kind[slots]
        masks = slots[kinds == KIND_MASK]
        if len(masks):
            self._draw_masks(p, masks, z)
        outl = slots[(kinds == KIND_BOX) | (kinds == KIND_POLY)]
        if len(outl):
            self._draw_outlines(p, outl, z)
        kpts = slots[kinds == KIND_KPT]
        if len(kpts):
            self._draw_keypoints(p, kpts, z)

    def _draw_outlines(self, p: QPainter, slots: np.ndarray, z: float) -> None:
        m = self.model
        b = m.boxes[slots]
        size = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) * z
        dots = slots[size < DOT_PX]
        full = slots[size >= DOT_PX]
        # One path per (label, object opacity): opacities other than 1 are rare.
        alpha_code = np.rint(m.alpha[full] * 100).astype(np.int64)
        groups = m.label[full] * 1000 + alpha_code
        sizes_full = size[size >= DOT_PX]
        # Speed: Qt's cosmetic 1 px antialiased stroker draws lines directly (about 10x
        # faster than wider pens, which go through the general path stroker), and an
        # aliased fill is hidden under that antialiased outline. Wider outlines only
        # where a tile holds few shapes.
        pen_w = 1.0 if z < 1.0 else 1.5
        for g in np.unique(groups):
            pick = groups == g
            lid, obj_alpha = int(g // 1000), (int(g % 1000)) / 100.0
            if obj_alpha <= 0:
                continue
            color = QColor(self.color(lid))
            idx = self._lod_index(full[pick], sizes_full[pick])
            path = path_from(m.xy[idx], m.conn[idx])
            fill_alpha = round(self.opacity * obj_alpha * 255)
            if fill_alpha > 0:
                fill = QColor(color)
                fill.setAlpha(fill_alpha)
                # drawPath with a brush is 2-3x faster than fillPath for many subpaths.
                p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(fill)
                p.drawPath(path)
                p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            color.setAlphaF(obj_alpha)
            pen = QPen(color, pen_w)
            pen.setCosmetic(True)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(path)
        if len(dots):
            c = (m.boxes[dots, :2] + m.boxes[dots, 2:]) / 2
            dg = m.label[dots] * 1000 + np.rint(m.alpha[dots] * 100).astype(np.int64)
            for g in np.unique(dg):
                if g % 1000 <= 0:
                    continue  # opacity 0: hidden by its object opacity
                color = QColor(self.color(int(g // 1000)))
                color.setAlphaF(int(g % 1000) / 100.0)
                pen = QPen(color, 3.0)
                pen.setCosmetic(True)
                pen.setCapStyle(Qt.PenCapStyle.RoundCap)
                p.setPen(pen)
                p.drawPoints(qpolygonf(c[dg == g]))

    def _lod_index(self, slots: np.ndarray, screen_size: np.ndarray) -> np.ndarray:
        """Outline point indices, keeping ~1 vertex per 3 screen px on small polygons."""
        m = self.model
        idx = m.gather_index(slots)
        counts = m.count[slots]
        target = np.maximum(4, (screen_size / 3.0)).astype(np.int64)
        step = np.where((screen_size < DECIMATE_PX) & (counts > target + 1), counts // target, 1)
        if not (step > 1).any():
            return idx
        per_pt = np.repeat(step, counts)
        local = np.arange(len(idx)) - np.repeat(np.cumsum(counts) - counts, counts)
        conn = m.conn[idx]
        ring_end = conn == 0
        ring_start = np.empty_like(ring_end)
        ring_start[0] = True
        ring_start[1:] = ring_end[:-1]
        keep = (local % per_pt == 0) | ring_end | ring_start
        return idx[keep]

    def _draw_masks(self, p: QPainter, slots: np.ndarray, z: float) -> None:
        doc = self.doc
        if doc is None:
            return
        p.save()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, z < PIXEL_ZOOM)
        for s in slots.tolist():
            ann_id = int(self.model.ids[s])
            color = self.color(int(self.model.label[s]))
            sprite = self.masks.get(doc, ann_id, color)
            if sprite is None:
                continue
            img = sprite.image
            obj_alpha = float(self.model.alpha[s])
            if obj_alpha <= 0:
                continue
            p.setOpacity(mask_opacity(self.opacity, obj_alpha))
            p.drawImage(QRectF(sprite.x0, sprite.y0, img.width(), img.height()), img)
            if not sprite.outline.isEmpty():
                p.save()
                p.setOpacity(obj_alpha)
                pen = QPen(color, 1.0)
                pen.setCosmetic(True)
                p.setPen(pen)
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawPath(sprite.outline)
                p.restore()
        p.restore()

    def _draw_keypoints(self, p: QPainter, slots: np.ndarray, z: float) -> None:
        doc = self.doc
        if doc is None:
            return
        for s in slots.tolist():
            a = doc.get(int(self.model.ids[s]))
            if a is None or not isinstance(a.geometry, Keypoints):
                continue
            lb = doc.labels.get(a.label_id)
            edges = lb.skeleton.edges if lb is not None and lb.skeleton is not None else []
            obj_alpha = float(self.model.alpha[s])
            if obj_alpha <= 0:
                continue
            p.setOpacity(obj_alpha)
            draw_keypoints(p, a.geometry, edges, self.color(a.label_id), z)
            p.setOpacity(1.0)

    # -- live layer (every frame) ----------------------------------------------------
    def _draw_live(self, p: QPainter, view: ViewTransform) -> None:
        doc = self.doc
        if doc is None:
            return
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setTransform(view.qtransform())
        z = view.zoom
        if self._moving:
            self._draw_moving(p, view)
        for ann_id, g in self.preview.items():
            a = doc.get(ann_id)
            color = self.color(a.label_id) if a is not None else UNKNOWN_COLOR
            draw_geometry(
                p,
                g,
                color,
                self.opacity,
                z,
                doc,
                a.label_id if a else None,
                object_opacity=self.object_opacity(ann_id),
            )
            # The shape being reshaped keeps its handles, so the vertex under the mouse shows.
            if isinstance(g, Box):
                draw_handles(p, view, box_handles((g.x, g.y, g.x2, g.y2)))
            elif isinstance(g, Polygon) and sum(len(r) for r in g.rings) // 2 <= MAX_HANDLES:
                draw_handles(p, view, np.concatenate([np.reshape(r, (-1, 2)) for r in g.rings]))
        sel = doc.selected()
        if sel and len(sel) <= SPRITE_ABOVE:
            self._draw_selection(p, view, sel)
        if self.hover_id is not None and self.hover_id not in sel and self.hover_id in doc:
            self._draw_hover(p, self.hover_id)
        p.restore()

    def _draw_moving(self, p: QPainter, view: ViewTransform) -> None:
        """The shapes being dragged, shifted by the drag. Few: drawn as paths. Many: rendered
        once into a widget-sized sprite that is then only blitted at an offset per frame."""
        if len(self._moving) > SPRITE_ABOVE:
            key = (view.zoom, view.ox, view.oy, frozenset(self._moving))
            if self._moving_sprite is None or self._moving_sprite[0] != key:
                self._moving_sprite = (key, self._render_moving(view))
            img = self._moving_sprite[1]
            dx, dy = self._move_d
            p.save()
            p.resetTransform()
            p.drawImage(QPointF(round(dx * view.zoom), round(dy * view.zoom)), img)
            p.restore()
            return
        p.save()
        p.translate(*self._move_d)
        for color, obj_alpha, path in self._moving_paths:
            fill = QColor(color)
            fill.setAlpha(round(self.opacity * obj_alpha * 255))
            p.fillPath(path, fill)
            color = QColor(color)
            color.setAlphaF(obj_alpha)
            pen = QPen(color, 1.8)
            pen.setCosmetic(True)
            p.strokePath(path, pen)
            halo = QPen(QColor(255, 255, 255, 200), 1.0, Qt.PenStyle.DashLine)
            halo.setCosmetic(True)
            p.strokePath(path, halo)
        m = self.model
        others = m.slots_of(self._moving)
        others = (
            others[(m.kind[others] == KIND_MASK) | (m.kind[others] == KIND_KPT)]
            if len(others)
            else others
        )
        if len(others):
            self.draw_slots(p, others, view.zoom)
        p.restore()

    def _render_moving(self, view: ViewTransform) -> QImage:
        w, h = self.viewport
        img = QImage(max(1, w), max(1, h), QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(0)
        m = self.model
        slots = m.slots_of(self._moving)
        r = view.rect_to_image(QRectF(0, 0, w, h))
        box = m.boxes[slots]
        inside = (
            (box[:, 2] >= r.left())
            & (box[:, 0] <= r.right())
            & (box[:, 3] >= r.top())
            & (box[:, 1] <= r.bottom())
        )
        slots = slots[inside]
        if len(slots):
            sp = QPainter(img)
            sp.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            sp.setTransform(view.qtransform())
            self.draw_slots(sp, slots, view.zoom)
            sp.end()
        return img

    def _selection_path(self, sel: frozenset[int]) -> QPainterPath:
        if self._sel_path is None:
            m = self.model
            slots = m.slots_of(i for i in sel if i not in self._excluded)
            slots = (
                slots[(m.kind[slots] == KIND_BOX) | (m.kind[slots] == KIND_POLY)]
                if len(slots)
                else slots
            )
            if len(slots) > MAX_OUTLINED_SELECTION:
                slots = slots[:MAX_OUTLINED_SELECTION]
            idx = m.gather_index(slots) if len(slots) else np.zeros(0, np.int64)
            self._sel_path = path_from(m.xy[idx], m.conn[idx])
        return self._sel_path

    def _draw_selection(self, p: QPainter, view: ViewTransform, sel: frozenset[int]) -> None:
        doc = self.doc
        assert doc is not None
        path = self._selection_path(sel)
        halo = QPen(QColor(255, 255, 255, 235), 3.2)
        halo.setCosmetic(True)
        halo.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        inner = QPen(QColor(20, 20, 24, 255), 1.2)
        inner.setCosmetic(True)
        inner.setStyle(Qt.PenStyle.DashLine)
        if not path.isEmpty():
            p.strokePath(path, halo)
            p.strokePath(path, inner)
        m = self.model
        for ann_id in sel:
            if ann_id in self._excluded:
                continue
            s = m.slot_of.get(ann_id)
            if s is None or not m.valid[s]:
                continue
            if m.kind[s] in (KIND_MASK, KIND_KPT):
                x0, y0, x1, y1 = m.boxes[s]
                r = QRectF(x0, y0, x1 - x0, y1 - y0)
                p.setPen(halo)
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(r)
                p.setPen(inner)
                p.drawRect(r)
        handles = self.handle_points(sel)
        if handles is not None and len(handles) <= MAX_HANDLES:
            draw_handles(p, view, handles)

    def handle_points(self, sel: Iterable[int]) -> np.ndarray | None:
        """Image positions of the edit handles shown for the selection (vertices, box handles)."""
        sel = list(sel)
        if not sel or len(sel) > 64:
            return None
        m = self.model
        parts = []
        for ann_id in sel:
            s = m.slot_of.get(ann_id)
            if s is None or not m.valid[s] or m.locked[s] or ann_id in self._excluded:
                continue
            if m.kind[s] == KIND_BOX:
                parts.append(box_handles(m.boxes[s]))
            elif m.kind[s] == KIND_POLY:
                pts = m.points(ann_id)
                parts.append(pts[m.conn[m.start[s] : m.start[s] + m.count[s]] == 1])
        return np.vstack(parts) if parts else None

    def _draw_hover(self, p: QPainter, ann_id: int) -> None:
        m = self.model
        s = m.slot_of.get(ann_id)
        if s is None or not m.valid[s]:
            return
        pen = QPen(QColor(255, 255, 255, 150), 2.0)
        pen.setCosmetic(True)
        if m.kind[s] in (KIND_BOX, KIND_POLY):
            idx = m.gather_index(np.array([s]))
            p.strokePath(path_from(m.xy[idx], m.conn[idx]), pen)
        else:
            x0, y0, x1, y1 = m.boxes[s]
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(x0, y0, x1 - x0, y1 - y0))
