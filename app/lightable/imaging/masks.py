"""Binary masks <-> COCO RLE (pycocotools does the work in C)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from lightable.core.errors import ValidationError
from lightable.core.geometry import Mask, Polygon


def encode(binary: np.ndarray) -> Mask:
    """A 2-D boolean/uint8 array (H x W) to a Mask with its bbox and area."""
    if binary.ndim != 2:
        raise ValidationError(f"mask: expected a 2-D array, got shape {binary.shape}")
    rle = mask_utils.encode(np.asfortranarray(binary.astype(np.uint8, copy=False)))
    return _from_rle(rle)


def decode(m: Mask) -> np.ndarray:
    """The mask as an H x W uint8 array of 0/1."""
    return mask_utils.decode(to_rle(m))


def to_rle(m: Mask) -> dict[str, Any]:
    return {"size": [m.height, m.width], "counts": m.counts.encode("ascii")}


def from_coco(
    segmentation: dict[str, Any], height: int | None = None, width: int | None = None
) -> Mask:
    """A COCO RLE object, compressed (string counts) or uncompressed (list counts)."""
    try:
        size = segmentation["size"]
        counts = segmentation["counts"]
        h, w = int(size[0]), int(size[1])
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ValidationError(f"RLE: malformed ({exc})") from exc
    if h <= 0 or w <= 0:
        raise ValidationError(f"RLE: bad size {size}")
    if isinstance(counts, list):
        if any((not isinstance(c, int)) or c < 0 for c in counts):
            raise ValidationError("RLE: counts must be non-negative integers")
        if sum(counts) != h * w:
            raise ValidationError(f"RLE: counts sum to {sum(counts)}, expected {h}*{w}={h * w}")
        rle = mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    elif isinstance(counts, str | bytes):
        rle = {
            "size": [h, w],
            "counts": counts.encode("ascii") if isinstance(counts, str) else counts,
        }
    else:
        raise ValidationError("RLE: counts must be a list or a string")
    return _from_rle(rle)


def from_polygon(poly: Polygon, height: int, width: int) -> Mask:
    """Rasterise a polygon (all rings, union) into a mask of the image's size."""
    rles = mask_utils.frPyObjects([list(r) for r in poly.rings], height, width)
    return _from_rle(mask_utils.merge(rles))


def iou(a: Sequence[Mask], b: Sequence[Mask]) -> np.ndarray:
    """Pairwise IoU matrix (len(a) x len(b)) computed on the RLEs."""
    if not a or not b:
        return np.zeros((len(a), len(b)))
    return np.asarray(
        mask_utils.iou([to_rle(m) for m in a], [to_rle(m) for m in b], [0] * len(b)), dtype=float
    )


def _from_rle(rle: dict[str, Any]) -> Mask:
    counts = rle["counts"]
    counts_s = counts.decode("ascii") if isinstance(counts, bytes) else counts
    bbox = tuple(float(v) for v in mask_utils.toBbox(rle))
    area = float(mask_utils.area(rle))
    h, w = (int(v) for v in rle["size"])
    return Mask(h, w, counts_s, _bbox=bbox, _area=area)  # type: ignore[arg-type]
