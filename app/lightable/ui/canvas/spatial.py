"""A uniform-grid spatial index over annotation bounding boxes (numpy only).

The grid is stored as CSR: every (cell, slot) pair sorted by cell, so the
slots of one row of cells are one contiguous slice found by ``searchsorted``.
Edits do not rebuild it: an edited slot is marked stale in the grid and kept
in a small "recent" list that queries test directly; the grid is rebuilt
(vectorised, a few ms at 10k shapes) only when that list grows large. A query
therefore costs O(cells touched + candidates), independent of the total.
"""

from __future__ import annotations

import math

import numpy as np


class GridIndex:
    def __init__(self) -> None:
        self.cell = 256.0
        self._gw = 1
        self._gh = 1
        self._keys = np.zeros(0, np.int64)  # sorted cell keys of (cell, slot) pairs
        self._slots = np.zeros(0, np.int64)
        self._stale = np.zeros(0, bool)  # per slot: grid entries out of date
        self._recent: set[int] = set()
        # Boxes as x0, y0, x1, y1 per slot; owned by the caller, refreshed via set_boxes.
        self._boxes = np.zeros((0, 4), np.float64)
        self._valid = np.zeros(0, bool)

    # -- building ----------------------------------------------------------------------
    def rebuild(self, boxes: np.ndarray, valid: np.ndarray) -> None:
        """Index every valid slot. ``boxes``/``valid`` are the caller's live arrays."""
        self._boxes = boxes
        self._valid = valid
        self._recent.clear()
        n = len(valid)
        self._stale = np.zeros(n, bool)
        slots = np.flatnonzero(valid)
        if len(slots) == 0:
            self._keys = np.zeros(0, np.int64)
            self._slots = np.zeros(0, np.int64)
            return
        b = boxes[slots]
        w = b[:, 2] - b[:, 0]
        h = b[:, 3] - b[:, 1]
        # Cells about twice the typical object: most objects touch 1-4 cells.
        typical = float(np.median(np.maximum(w, h)))
        self.cell = float(min(2048.0, max(32.0, 2.0 * typical)))
        x_max = float(b[:, 2].max())
        y_max = float(b[:, 3].max())
        self._gw = max(1, math.floor(max(x_max, 0.0) / self.cell) + 1)
        self._gh = max(1, math.floor(max(y_max, 0.0) / self.cell) + 1)
        cx0, cy0, cx1, cy1 = self._cells(b)
        nx = cx1 - cx0 + 1
        ny = cy1 - cy0 + 1
        count = nx * ny
        total = int(count.sum())
        owner = np.repeat(np.arange(len(slots)), count)
        # Position of each pair inside its object's block of cells.
        first = np.repeat(np.cumsum(count) - count, count)
        k = np.arange(total) - first
        nxo = nx[owner]
        cx = cx0[owner] + k % nxo
        cy = cy0[owner] + k // nxo
        keys = cy * self._gw + cx
        order = np.argsort(keys, kind="stable")
        self._keys = keys[order]
        self._slots = slots[owner[order]]

    def _cells(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        c = self.cell
        cx0 = np.clip(np.floor(b[:, 0] / c), 0, self._gw - 1).astype(np.int64)
        cy0 = np.clip(np.floor(b[:, 1] / c), 0, self._gh - 1).astype(np.int64)
        cx1 = np.clip(np.floor(b[:, 2] / c), 0, self._gw - 1).astype(np.int64)
        cy1 = np.clip(np.floor(b[:, 3] / c), 0, self._gh - 1).astype(np.int64)
        return cx0, cy0, cx1, cy1

    def attach(self, boxes: np.ndarray, valid: np.ndarray) -> None:
        """The caller reallocated its arrays (grew); same content."""
        self._boxes = boxes
        self._valid = valid
        if len(self._stale) < len(valid):
            self._stale = np.concatenate(
                [self._stale, np.zeros(len(valid) - len(self._stale), bool)]
            )

    def touch(self, slot: int) -> None:
        """Slot ``slot`` changed (added, moved, removed): query it directly until a rebuild."""
        if slot < len(self._stale):
            self._stale[slot] = True
        self._recent.add(slot)
        if len(self._recent) > max(256, len(self._slots) // 8):
            self.rebuild(self._boxes, self._valid)

    # -- queries -----------------------------------------------------------------------
    def query(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        """Slots whose box intersects the rectangle (unordered, unique)."""
        parts: list[np.ndarray] = []
        if len(self._keys):
            c = self.cell
            cx0 = min(self._gw - 1, max(0, math.floor(x0 / c)))
            cx1 = min(self._gw - 1, max(0, math.floor(x1 / c)))
            cy0 = min(self._gh - 1, max(0, math.floor(y0 / c)))
            cy1 = min(self._gh - 1, max(0, math.floor(y1 / c)))
            if cx1 >= cx0 and cy1 >= cy0:
                rows = np.arange(cy0, cy1 + 1, dtype=np.int64) * self._gw
                lo = np.searchsorted(self._keys, rows + cx0, "left")
                hi = np.searchsorted(self._keys, rows + cx1, "right")
                for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
                    if b > a:
                        parts.append(self._slots[a:b])
        if parts:
            cand = np.unique(np.concatenate(parts))
            cand = cand[~self._stale[cand]]
        else:
            cand = np.zeros(0, np.int64)
        if self._recent:
            rec = np.fromiter(self._recent, np.int64, len(self._recent))
            cand = np.concatenate([cand, rec])
        if len(cand) == 0:
            return cand
        cand = cand[self._valid[cand]]
        b = self._boxes[cand]
        hit = (b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0)
        return cand[hit]
