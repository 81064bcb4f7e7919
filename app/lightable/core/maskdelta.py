"""Compact storage of a binary mask patch for the undo history.

A brush stroke changes a small rectangle of a possibly huge mask (6000 x 4000 =
24 MB as uint8). History keeps only that rectangle, one bit per pixel and
deflated, so an unlimited history of strokes stays small.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from lightable.core.errors import ValidationError


@dataclass(frozen=True, slots=True)
class PackedPatch:
    """A 2-D 0/1 array, bit-packed and zlib-compressed."""

    height: int
    width: int
    data: bytes

    @classmethod
    def pack(cls, patch: np.ndarray) -> PackedPatch:
        if patch.ndim != 2:
            raise ValidationError(f"mask patch: expected a 2-D array, got shape {patch.shape}")
        bits = np.packbits(np.asarray(patch, dtype=bool), axis=None)
        # Level 1: strokes compress very well already; speed matters more than the last bytes.
        return cls(int(patch.shape[0]), int(patch.shape[1]), zlib.compress(bits.tobytes(), 1))

    def unpack(self) -> np.ndarray:
        """The patch as a C-ordered H x W uint8 array of 0/1."""
        n = self.height * self.width
        bits = np.frombuffer(zlib.decompress(self.data), dtype=np.uint8)
        return np.unpackbits(bits, count=n).reshape(self.height, self.width)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def nbytes(self) -> int:
        return len(self.data)


def shift_region(
    mask: np.ndarray, bbox: tuple[float, float, float, float], dx: int, dy: int
) -> tuple[int, int, np.ndarray] | None:
    """The patch that moves a mask's content by (dx, dy), clipped to the mask.

    Returns (x0, y0, patch) covering the union of the old and new extent, or
    None when nothing changes. Only that rectangle is touched, so moving a
    small object on a huge mask stays cheap.
    """
    h, w = mask.shape
    bx, by, bw, bh = bbox
    if bw <= 0 or bh <= 0 or (dx == 0 and dy == 0):
        return None
    x1, y1 = int(np.floor(bx)), int(np.floor(by))
    x2, y2 = int(np.ceil(bx + bw)), int(np.ceil(by + bh))
    rx0, ry0 = max(0, min(x1, x1 + dx)), max(0, min(y1, y1 + dy))
    rx1, ry1 = min(w, max(x2, x2 + dx)), min(h, max(y2, y2 + dy))
    if rx1 <= rx0 or ry1 <= ry0:
        return None
    patch = np.zeros((ry1 - ry0, rx1 - rx0), dtype=np.uint8)
    # Source rectangle (the object's extent) clipped so its destination stays inside the mask.
    sx0, sy0 = max(x1, 0, -dx), max(y1, 0, -dy)
    sx1, sy1 = min(x2, w, w - dx), min(y2, h, h - dy)
    if sx1 > sx0 and sy1 > sy0:
        patch[sy0 + dy - ry0 : sy1 + dy - ry0, sx0 + dx - rx0 : sx1 + dx - rx0] = mask[
            sy0:sy1, sx0:sx1
        ]
    return rx0, ry0, patch
