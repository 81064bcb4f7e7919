"""The canvas's own mirror of the document's geometry, as flat numpy arrays.

Every annotation has a *slot*. Outline points of boxes and polygons live in
one packed buffer (each ring closed, a ``conn`` flag 0 at the end of a ring),
so a path for any set of slots is one vectorised gather plus one
``arrayToQPath`` call: no Python loop over shapes when drawing. Edits update
only the slots they touch (the buffer appends and compacts now and then) and
report the image rectangles to redraw.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np

from lightable.core.geometry import Box, Keypoints, Mask, Polygon
from lightable.core.model import Annotation
from lightable.ui.canvas.spatial import GridIndex

KIND_NONE, KIND_BOX, KIND_POLY, KIND_MASK, KIND_KPT = 0, 1, 2, 3, 4
_KIND = {Box: KIND_BOX, Polygon: KIND_POLY, Mask: KIND_MASK, Keypoints: KIND_KPT}

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1

# Per-object opacity, written by the layers panel. Attributes starting with "_"
# are display settings (see ui/panels/layers.py).
OPACITY_KEY = "_opacity"


def opacity_of(attributes: dict[str, object]) -> float:
    try:
        return max(0.0, min(1.0, float(attributes.get(OPACITY_KEY, 1.0))))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 1.0


def ring_arrays(geometry: object) -> tuple[np.ndarray, np.ndarray] | None:
    """Closed outline rings of a box or polygon as (points K x 2, conn K) arrays."""
    if isinstance(geometry, Box):
        x0, y0, x1, y1 = geometry.x, geometry.y, geometry.x2, geometry.y2
        pts = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]], np.float64)
        conn = np.array([1, 1, 1, 1, 0], np.uint8)
        return pts, conn
    if isinstance(geometry, Polygon):
        parts = []
        conns = []
        for r in geometry.rings:
            a = np.asarray(r, np.float64).reshape(-1, 2)
            # Counter-clockwise rings, so winding fill unions overlapping shapes of a colour.
            if _signed_area(a) < 0:
                a = a[::-1]
            parts.append(np.vstack([a, a[:1]]))
            c = np.ones(len(a) + 1, np.uint8)
            c[-1] = 0
            conns.append(c)
        return np.vstack(parts), np.concatenate(conns)
    return None


def _signed_area(a: np.ndarray) -> float:
    x, y = a[:, 0], a[:, 1]
    return float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) / 2.0


@dataclass(slots=True)
class Change:
    """What an update did: image rectangles whose pixels may differ now."""

    rects: list[Rect]
    order_changed: bool = False


class ShapeModel:
    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        cap = 64
        self.slot_of: dict[int, int] = {}
        self.ids = np.full(cap, -1, np.int64)
        self.boxes = np.zeros((cap, 4), np.float64)  # x0, y0, x1, y1
        self.valid = np.zeros(cap, bool)
        self.kind = np.zeros(cap, np.int8)
        self.label = np.full(cap, -1, np.int64)
        self.z = np.zeros(cap, np.int64)
        self.hidden = np.zeros(cap, bool)
        self.locked = np.zeros(cap, bool)
        self.alpha = np.ones(cap, np.float32)  # per-object opacity (attributes["_opacity"])
        self.start = np.zeros(cap, np.int64)
        self.count = np.zeros(cap, np.int64)
        self.n_slots = 0
        self._free: list[int] = []
        self.xy = np.zeros((1024, 2), np.float64)
        self.conn = np.zeros(1024, np.uint8)
        self.used = 0
        self.garbage = 0
        self.masks: set[int] = set()  # slots holding masks / keypoints (drawn separately)
        self.keypoints: set[int] = set()
        self.grid = GridIndex()
        self.grid.rebuild(self.boxes, self.valid)

    # -- loading -------------------------------------------------------------------------
    def load(self, annotations: list[Annotation]) -> None:
        """Fill every array from scratch, vectorised (10k polygons in tens of ms)."""
        self.clear()
        n = len(annotations)
        self._grow_slots(n)
        self.n_slots = n
        rings: list[tuple[float, ...]] = []
        owner: list[int] = []
        other: list[int] = []  # masks, keypoints, tags: per-slot metadata the slow way
        ids = np.empty(n, np.int64)
        labels = np.empty(n, np.int64)
        zs = np.empty(n, np.int64)
        hidden = np.empty(n, bool)
        locked = np.empty(n, bool)
        kinds = np.zeros(n, np.int8)
        alpha = np.ones(n, np.float32)
        for i, a in enumerate(annotations):
            if OPACITY_KEY in a.attributes:
                alpha[i] = opacity_of(a.attributes)
            ids[i] = a.id
            labels[i] = a.label_id
            zs[i] = a.z
            hidden[i] = a.hidden
            locked[i] = a.locked
            g = a.geometry
            if type(g) is Polygon:
                kinds[i] = KIND_POLY
                rings.extend(g.rings)
                owner.extend([i] * len(g.rings))
            elif type(g) is Box:
                kinds[i] = KIND_BOX
                rings.append((g.x, g.y, g.x2, g.y, g.x2, g.y2, g.x, g.y2))
                owner.append(i)
            else:
                other.append(i)
        self.ids[:n] = ids
        self.label[:n] = labels
        self.z[:n] = zs
        self.hidden[:n] = hidden
        self.locked[:n] = locked
        self.kind[:n] = kinds
        self.alpha[:n] = alpha
        self.slot_of = dict(zip(ids.tolist(), range(n), strict=True))
        for i in other:
            self._set_meta(i, annotations[i])
        if rings:
            self._load_rings(rings, np.asarray(owner, np.int64))
        self.grid.rebuild(self.boxes, self.valid)

    def _load_rings(self, rings: list[tuple[float, ...]], owner: np.ndarray) -> None:
        lens = np.fromiter(map(len, rings), np.int64, len(rings)) // 2
        total = int(lens.sum())
        flat = np.fromiter(chain.from_iterable(rings), np.float64, 2 * total).reshape(-1, 2)
        starts = np.cumsum(lens) - lens
        ring_of = np.repeat(np.arange(len(rings)), lens)
        local = np.arange(total) - starts[ring_of]
        # Signed area per ring (shoelace with the next point wrapping inside its ring).
        nxt = np.where(local == lens[ring_of] - 1, starts[ring_of], np.arange(total) + 1)
        x, y = flat[:, 0], flat[:, 1]
        area2 = np.add.reduceat(x * y[nxt] - x[nxt] * y, starts)
        # Counter-clockwise rings, so winding fill unions overlapping shapes of a colour.
        flip = (area2 < 0)[ring_of]
        src = np.where(flip, starts[ring_of] + lens[ring_of] - 1 - local, np.arange(total))
        # Output: each ring followed by a copy of its first point (closed), conn 0 there.
        out_lens = lens + 1
        out_starts = np.cumsum(out_lens) - out_lens
        m = int(out_lens.sum())
        xy = np.zeros((max(1024, 2 * m), 2), np.float64)
        conn = np.zeros(len(xy), np.uint8)
        dst = out_starts[ring_of] + local
        xy[dst] = flat[src]
        conn[dst] = 1
        close = out_starts + lens
        xy[close] = xy[out_starts]
        self.xy, self.conn, self.used, self.garbage = xy, conn, m, 0
        # Rings of one annotation are consecutive: its block starts at its first ring.
        n = self.n_slots
        first = np.full(n, -1, np.int64)
        first[owner[::-1]] = out_starts[::-1]
        has = first >= 0
        self.start[:n][has] = first[has]
        self.count[:n] = np.bincount(owner, weights=out_lens, minlength=n).astype(np.int64)
        # Boxes from the points.
        ring_box = np.empty((len(rings), 4))
        ring_box[:, 0] = np.minimum.reduceat(x, starts)
        ring_box[:, 1] = np.minimum.reduceat(y, starts)
        ring_box[:, 2] = np.maximum.reduceat(x, starts)
        ring_box[:, 3] = np.maximum.reduceat(y, starts)
        b = np.empty((n, 4))
        b[:, :2] = np.inf
        b[:, 2:] = -np.inf
        np.minimum.at(b[:, 0], owner, ring_box[:, 0])
        np.minimum.at(b[:, 1], owner, ring_box[:, 1])
        np.maximum.at(b[:, 2], owner, ring_box[:, 2])
        np.maximum.at(b[:, 3], owner, ring_box[:, 3])
        self.boxes[:n][has] = b[has]
        self.valid[:n][has] = True

    def _set_meta(self, s: int, a: Annotation) -> None:
        assert a.id is not None
        g = a.geometry
        kind = _KIND.get(type(g), KIND_NONE)
        self.slot_of[a.id] = s
        self.ids[s] = a.id
        self.kind[s] = kind
        self.label[s] = a.label_id
        self.z[s] = a.z
        self.hidden[s] = a.hidden
        self.locked[s] = a.locked
        self.alpha[s] = opacity_of(a.attributes)
        self.count[s] = 0
        self.masks.discard(s)
        self.keypoints.discard(s)
        if kind == KIND_MASK:
            self.masks.add(s)
        elif kind == KIND_KPT:
            self.keypoints.add(s)
        if kind == KIND_NONE:
            self.valid[s] = False
            return
        x, y, w, h = g.bbox()
        if kind == KIND_KPT and not g.labeled():  # type: ignore[union-attr]
            self.valid[s] = False
            return
        self.boxes[s] = (x, y, x + w, y + h)
        self.valid[s] = True

    def _grow_slots(self, n: int) -> None:
        cap = len(self.ids)
        if n <= cap:
            return
        new = max(n, cap * 2)
        for name in (
            "ids",
            "valid",
            "kind",
            "label",
            "z",
            "hidden",
            "locked",
            "alpha",
            "start",
            "count",
        ):
            old = getattr(self, name)
            arr = np.zeros(new, old.dtype)
            if name in ("ids", "label"):
                arr[:] = -1
            elif name == "alpha":
                arr[:] = 1.0
            arr[:cap] = old
            setattr(self, name, arr)
        boxes = np.zeros((new, 4), np.float64)
        boxes[:cap] = self.boxes
        self.boxes = boxes
        self.grid.attach(self.boxes, self.valid)

    # -- incremental updates ---------------------------------------------------------
    def upsert(self, a: Annotation) -> Change:
        assert a.id is not None
        rects: list[Rect] = []
        s = self.slot_of.get(a.id)
        order_changed = False
        if s is None:
            s = self._free.pop() if self._free else self.n_slots
            if s == self.n_slots:
                self._grow_slots(s + 1)
                self.n_slots += 1
            order_changed = True
        else:
            if self.valid[s]:
                rects.append(tuple(self.boxes[s]))  # type: ignore[arg-type]
            order_changed = self.z[s] != a.z
            self.garbage += int(self.count[s])
        self._set_meta(s, a)
        r = ring_arrays(a.geometry)
        if r is not None:
            self._append_points(s, r[0], r[1])
        if self.valid[s]:
            rects.append(tuple(self.boxes[s]))  # type: ignore[arg-type]
        self.grid.touch(s)
        return Change(rects, order_changed)

    def remove(self, ann_id: int) -> Change:
        s = self.slot_of.pop(ann_id, None)
        if s is None:
            return Change([])
        rects = [tuple(self.boxes[s])] if self.valid[s] else []
        self.valid[s] = False
        self.ids[s] = -1
        self.garbage += int(self.count[s])
        self.count[s] = 0
        self.masks.discard(s)
        self.keypoints.discard(s)
        self._free.append(s)
        self.grid.touch(s)
        return Change(rects, True)  # type: ignore[arg-type]

    def _append_points(self, s: int, pts: np.ndarray, conn: np.ndarray) -> None:
        k = len(pts)
        if self.used + k > len(self.xy):
            if self.garbage > self.used // 2:
                self._compact()
            if self.used + k > len(self.xy):
                new = max(len(self.xy) * 2, self.used + k)
                xy = np.zeros((new, 2), np.float64)
                xy[: self.used] = self.xy[: self.used]
                cn = np.zeros(new, np.uint8)
                cn[: self.used] = self.conn[: self.used]
                self.xy, self.conn = xy, cn
        self.xy[self.used : self.used + k] = pts
        self.conn[self.used : self.used + k] = conn
        self.start[s] = self.used
        self.count[s] = k
        self.used += k

    def _compact(self) -> None:
        live = np.flatnonzero(self.count[: self.n_slots] > 0)
        idx = self.gather_index(live)
        self.xy[: len(idx)] = self.xy[idx]
        self.conn[: len(idx)] = self.conn[idx]
        counts = self.count[live]
        self.start[live] = np.cumsum(counts) - counts
        self.used = len(idx)
        self.garbage = 0

    # -- reading -----------------------------------------------------------------------
    def gather_index(self, slots: np.ndarray) -> np.ndarray:
        """Indices into ``xy`` of the outline points of ``slots``, in order."""
        counts = self.count[slots]
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, np.int64)
        starts = self.start[slots]
        offsets = np.cumsum(counts) - counts
        return np.repeat(starts - offsets, counts) + np.arange(total)

    def points(self, ann_id: int) -> np.ndarray:
        s = self.slot_of[ann_id]
        a = int(self.start[s])
        return self.xy[a : a + int(self.count[s])]

    def query(self, rect: Rect) -> np.ndarray:
        return self.grid.query(*rect)

    def slots_of(self, ids: object) -> np.ndarray:
        return np.fromiter(
            (self.slot_of[i] for i in ids if i in self.slot_of),  # type: ignore[attr-defined]
            np.int64,
        )

    def box(self, ann_id: int) -> Rect | None:
        s = self.slot_of.get(ann_id)
        if s is None or not self.valid[s]:
            return None
        return tuple(self.boxes[s])  # type: ignore[return-value]

    def union_box(self, ids: object) -> Rect | None:
        slots = self.slots_of(ids)
        slots = slots[self.valid[slots]] if len(slots) else slots
        if len(slots) == 0:
            return None
        b = self.boxes[slots]
        return (
            float(b[:, 0].min()),
            float(b[:, 1].min()),
            float(b[:, 2].max()),
            float(b[:, 3].max()),
        )
