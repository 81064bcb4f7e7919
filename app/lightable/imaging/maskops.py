"""Pixel operations behind the raster tools: brush stamps, flood fill, lasso, contours.

Qt-free (numpy + OpenCV + pycocotools). Conventions, shared with
``core.geometry``: image coordinates have their origin at the top-left corner
of the top-left pixel, so pixel (row i, column j) covers [j, j+1) x [i, i+1)
and its centre is (j + 0.5, i + 0.5). A pixel belongs to a shape when its
centre does. Rectangles are half-open ``(x0, y0, x1, y1)`` in pixels.

Masks are 2-D uint8 arrays of 0/1, C-ordered, indexed ``[row, column]``.

Polygons and holes: ``core.geometry.Polygon`` rings are *parts* (their union is
the object), not holes. ``mask_to_polygon`` therefore keeps a hole by cutting a
zero-width channel from the outer ring to the hole ("keyhole"), traversing the
hole the other way round; every rasteriser used here (pycocotools, even-odd)
leaves the hole empty, so mask -> polygon -> mask keeps it. Contours are traced
through the centres of the boundary pixels and then pushed out by half a pixel,
so the polygon follows the pixel edges and its area matches the pixel count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from lightable.core.commands import (
    AddAnnotation,
    Batch,
    Command,
    DeleteAnnotations,
    PaintMask,
    ReshapeAnnotation,
)
from lightable.core.errors import ValidationError
from lightable.core.geometry import Box, Geometry, Mask, Polygon
from lightable.core.model import Annotation
from lightable.imaging import masks

if TYPE_CHECKING:
    from lightable.core.document import ImageDocument

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1, half-open

# A hole or part smaller than this many pixels is dropped by mask_to_polygon (speckle).
DEFAULT_MIN_AREA = 1.0


# -- rectangles -----------------------------------------------------------------------


def union_rect(a: Rect | None, b: Rect | None) -> Rect | None:
    """The smallest rectangle holding both (None is the empty rectangle)."""
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def clip_rect(r: Rect, width: int, height: int) -> Rect | None:
    """``r`` clipped to a width x height image; None when nothing is left."""
    x0, y0 = max(0, r[0]), max(0, r[1])
    x1, y1 = min(width, r[2]), min(height, r[3])
    if x1 <= x0 or y1 <= y0:
        return None
    return (x0, y0, x1, y1)


def nonzero_rect(mask: np.ndarray) -> Rect | None:
    """Bounding rectangle of the set pixels, or None for an empty mask.

    Accepts C- or Fortran-ordered arrays (the store keeps masks column-major)
    without copying them.
    """
    m = _u8(mask)
    transposed = not m.flags.c_contiguous and m.T.flags.c_contiguous
    if transposed:
        m = m.T
    elif not m.flags.c_contiguous:
        m = np.ascontiguousarray(m)
    x, y, w, h = cv2.boundingRect(m)
    if w == 0 or h == 0:
        return None
    if transposed:
        x, y, w, h = y, x, h, w
    return (x, y, x + w, y + h)


# -- brush ----------------------------------------------------------------------------


def capsule_rect(
    ax: float, ay: float, bx: float, by: float, radius: float, width: int, height: int
) -> Rect | None:
    """The pixels a capsule stamp may touch, clipped to the image."""
    r = max(float(radius), 0.0)
    x0 = math.floor(min(ax, bx) - r)
    y0 = math.floor(min(ay, by) - r)
    x1 = math.ceil(max(ax, bx) + r) + 1
    y1 = math.ceil(max(ay, by) + r) + 1
    return clip_rect((x0, y0, x1, y1), width, height)


def capsule_spans(
    ax: float, ay: float, bx: float, by: float, radius: float, y0: int, y1: int
) -> tuple[np.ndarray, np.ndarray]:
    """For rows y0..y1-1, the column interval [left, right) whose pixel centres lie
    within ``radius`` of the segment a-b (left >= right: the row is not touched).

    A capsule is convex, so each row meets it in one interval: the union of the
    rows' intersections with the two end disks and the swept band. Computed for
    all rows at once; cost grows with the rows, not the area.
    """
    r = max(float(radius), 0.0)
    yc = np.arange(y0, y1, dtype=np.float64) + 0.5
    lo = np.full(yc.shape, np.inf)
    hi = np.full(yc.shape, -np.inf)
    for cx, cy in ((ax, ay), (bx, by)):
        d2 = r * r - (yc - cy) ** 2
        ok = d2 >= 0
        half = np.sqrt(np.where(ok, d2, 0.0))
        lo = np.where(ok, np.minimum(lo, cx - half), lo)
        hi = np.where(ok, np.maximum(hi, cx + half), hi)
    dx, dy = bx - ax, by - ay
    length = math.hypot(dx, dy)
    if length > 1e-9:
        ux, uy = dx / length, dy / length
        ry = yc - ay
        # Band = {p: 0 <= (p-a).u <= L} and {p: |(p-a) x u| <= r}; each is an x-interval per row.
        b_lo = np.full(yc.shape, -np.inf)
        b_hi = np.full(yc.shape, np.inf)
        if abs(ux) > 1e-12:
            e1 = (0.0 - ry * uy) / ux + ax
            e2 = (length - ry * uy) / ux + ax
            b_lo, b_hi = np.maximum(b_lo, np.minimum(e1, e2)), np.minimum(b_hi, np.maximum(e1, e2))
        else:
            along = ry * uy
            inside = (along >= 0) & (along <= length)
            b_hi = np.where(inside, b_hi, -np.inf)
        if abs(uy) > 1e-12:
            e1 = (ry * ux - r) / uy + ax
            e2 = (ry * ux + r) / uy + ax
            b_lo, b_hi = np.maximum(b_lo, np.minimum(e1, e2)), np.minimum(b_hi, np.maximum(e1, e2))
        else:
            inside = np.abs(ry * ux) <= r
            b_hi = np.where(inside, b_hi, -np.inf)
        ok = b_hi >= b_lo
        lo = np.where(ok, np.minimum(lo, b_lo), lo)
        hi = np.where(ok, np.maximum(hi, b_hi), hi)
    # Pixel j is in when its centre j + 0.5 lies in [lo, hi].
    left = np.ceil(np.where(np.isfinite(lo), lo, 0.0) - 0.5)
    right = np.floor(np.where(np.isfinite(hi), hi, -1.0) - 0.5) + 1
    empty = ~(np.isfinite(lo) & np.isfinite(hi))
    right = np.where(empty, left, right)
    return left.astype(np.int64), right.astype(np.int64)


def stamp_capsule(
    mask: np.ndarray,
    ax: float,
    ay: float,
    bx: float,
    by: float,
    radius: float,
    value: int = 1,
) -> Rect | None:
    """Set every pixel within ``radius`` of segment a-b to ``value``, in place.

    Returns the rectangle actually written (None when the capsule misses the
    mask). Only the touched rows are visited, so one brush segment on a
    6000 x 4000 mask costs about the same as on a small one.
    """
    height, width = mask.shape
    rect = capsule_rect(ax, ay, bx, by, radius, width, height)
    if rect is None:
        return None
    _, y0, _, y1 = rect
    left, right = capsule_spans(ax, ay, bx, by, radius, y0, y1)
    np.clip(left, 0, width, out=left)
    np.clip(right, 0, width, out=right)
    rows = np.nonzero(right > left)[0]
    if rows.size == 0:
        return None
    v = np.uint8(value)
    for i in rows.tolist():
        mask[y0 + i, left[i] : right[i]] = v
    return (
        int(left[rows].min()),
        y0 + int(rows[0]),
        int(right[rows].max()),
        y0 + int(rows[-1]) + 1,
    )


# -- polygons <-> pixels --------------------------------------------------------------


def rasterize_rings(rings: Sequence[Sequence[float]], rect: Rect) -> np.ndarray:
    """The union of polygon rings (flat [x0, y0, x1, y1, ...]) as a patch covering ``rect``.

    Uses pycocotools' rasteriser (the one COCO and ``imaging.masks`` use):
    even-odd inside a ring, so keyhole rings keep their holes; rings are unioned.
    """
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    if w <= 0 or h <= 0:
        return np.zeros((max(h, 0), max(w, 0)), np.uint8)
    shifted = []
    for r in rings:
        a = np.asarray(r, dtype=np.float64).reshape(-1, 2) - (x0, y0)
        if len(a) >= 3:
            shifted.append(a.ravel().tolist())
    if not shifted:
        return np.zeros((h, w), np.uint8)
    rles = mask_utils.frPyObjects(shifted, h, w)
    out = mask_utils.decode(mask_utils.merge(rles))
    return np.ascontiguousarray(out)


def rings_rect(rings: Sequence[Sequence[float]], width: int, height: int) -> Rect | None:
    """Pixel rectangle covering rings, clipped to the image."""
    xs = [c for r in rings for c in r[0::2]]
    ys = [c for r in rings for c in r[1::2]]
    if not xs:
        return None
    return clip_rect(
        (math.floor(min(xs)), math.floor(min(ys)), math.ceil(max(xs)) + 1, math.ceil(max(ys)) + 1),
        width,
        height,
    )


def polygon_patch(
    points: Sequence[tuple[float, float]] | np.ndarray, width: int, height: int
) -> tuple[int, int, np.ndarray] | None:
    """Rasterise a closed freehand outline (lasso) clipped to the image.

    Returns (x0, y0, patch) or None when the outline covers no pixel.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 3:
        return None
    ring = pts.ravel().tolist()
    rect = rings_rect([ring], width, height)
    if rect is None:
        return None
    patch = rasterize_rings([ring], rect)
    if not patch.any():
        return None
    return rect[0], rect[1], patch


def polygon_to_mask(poly: Polygon, height: int, width: int) -> np.ndarray:
    """Full-size 0/1 mask of a polygon (union of its rings)."""
    out = np.zeros((height, width), np.uint8)
    rect = rings_rect(poly.rings, width, height)
    if rect is not None:
        x0, y0, x1, y1 = rect
        out[y0:y1, x0:x1] = rasterize_rings(poly.rings, rect)
    return out


def mask_to_polygon(
    mask: np.ndarray,
    tolerance: float = 1.0,
    min_area: float = DEFAULT_MIN_AREA,
    keep_holes: bool = True,
) -> Polygon | None:
    """Outline the set pixels of ``mask`` as a Polygon (None when nothing is left).

    ``tolerance`` is the Douglas-Peucker distance in pixels (0 keeps every
    boundary corner). Each connected part becomes one ring; its holes are
    joined to it with a keyhole cut (``keep_holes=False`` fills them instead).
    Parts and holes under ``min_area`` pixels are dropped.
    """
    rect = nonzero_rect(mask)
    if rect is None:
        return None
    x0, y0, x1, y1 = rect
    # A one-pixel frame so contours never touch the array border.
    crop = np.zeros((y1 - y0 + 2, x1 - x0 + 2), np.uint8)
    crop[1:-1, 1:-1] = mask[y0:y1, x0:x1] != 0
    # RETR_CCOMP puts every outer boundary (islands inside holes too) at the top level.
    contours, hierarchy = cv2.findContours(crop, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    if hierarchy is None:
        return None
    hier = hierarchy[0]
    # Pixel-centre coordinates in the image: column j -> j + 0.5, minus the frame.
    shift = np.array([x0 - 1 + 0.5, y0 - 1 + 0.5])
    holes_of, labels = (
        _holes_by_component(crop, tolerance, shift, min_area) if keep_holes else ({}, None)
    )
    rings: list[tuple[float, ...]] = []
    for i, c in enumerate(contours):
        if hier[i][3] != -1:
            continue  # a hole boundary; holes are traced on the hole pixels instead
        outer = _outline(c, tolerance, shift)
        if outer is None or _area(outer) < min_area:
            continue
        holes: list[np.ndarray] = []
        if labels is not None and holes_of:
            px, py = c[0, 0]
            holes = holes_of.get(int(labels[py, px]), [])
        ring = _bridge_holes(outer, holes)
        rings.append(tuple(float(v) for v in np.round(ring, 3).ravel()))
    if not rings:
        return None
    return Polygon(tuple(rings))


def _holes_by_component(
    crop: np.ndarray, tolerance: float, shift: np.ndarray, min_area: float
) -> tuple[dict[int, list[np.ndarray]], np.ndarray | None]:
    """Hole outlines grouped by the 8-connected component that encloses them.

    Holes are traced on the hole pixels themselves (then pushed half a pixel
    out of them), which keeps their corners square; tracing them on the
    surrounding filled pixels would chamfer every corner.
    """
    empty = (crop == 0).astype(np.uint8)
    outside = np.zeros((crop.shape[0] + 2, crop.shape[1] + 2), np.uint8)
    # Background: the empty pixels 4-connected to the frame; every other empty pixel is a hole.
    cv2.floodFill(empty, outside, (0, 0), 0, 0, 0, 4 | cv2.FLOODFILL_MASK_ONLY | (1 << 8))
    holes = empty & (outside[1:-1, 1:-1] == 0)
    if not holes.any():
        return {}, None
    labels = cv2.connectedComponents(crop, connectivity=8)[1]
    contours, _ = cv2.findContours(holes.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    out: dict[int, list[np.ndarray]] = {}
    for c in contours:
        ring = _outline(c, tolerance, shift)
        if ring is None or _area(ring) < min_area:
            continue
        # The first contour point is the hole's top-left pixel; the one above it is filled.
        px, py = c[0, 0]
        out.setdefault(int(labels[py - 1, px]), []).append(ring)
    return out, labels


def _outline(contour: np.ndarray, tolerance: float, shift: np.ndarray) -> np.ndarray | None:
    """Simplify a contour traced through pixel centres and push it half a pixel
    away from those pixels, onto their outer edges."""
    pts = contour.reshape(-1, 2).astype(np.float64)
    if tolerance > 0 and len(pts) > 3:
        approx = cv2.approxPolyDP(contour, float(tolerance), True).reshape(-1, 2).astype(np.float64)
        if len(approx) >= 3 and abs(_signed_area(approx)) > 1e-9:
            pts = approx
    pts = _drop_straight(_dedupe(pts))
    if len(pts) < 3 or abs(_signed_area(pts)) < 1e-9:
        # A single pixel or a straight one-pixel line: its pixels' bounding square.
        lo, hi = pts.min(axis=0) - 0.5, pts.max(axis=0) + 0.5
        square = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
        return square + shift
    return _offset_ring(pts, 0.5) + shift


def _dedupe(pts: np.ndarray) -> np.ndarray:
    keep = np.any(pts != np.roll(pts, 1, axis=0), axis=1)
    return pts[keep] if keep.any() else pts[:1]


def _drop_straight(pts: np.ndarray) -> np.ndarray:
    """Remove vertices in the middle of a straight run (the chain keeps every pixel)."""
    if len(pts) < 4:
        return pts
    a = pts - np.roll(pts, 1, axis=0)
    b = np.roll(pts, -1, axis=0) - pts
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    dot = (a * b).sum(axis=1)
    keep = (cross != 0) | (dot <= 0)
    return pts[keep] if keep.sum() >= 3 else pts


def _signed_area(pts: np.ndarray) -> float:
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _area(pts: np.ndarray) -> float:
    return abs(_signed_area(pts))


def _offset_ring(pts: np.ndarray, d: float) -> np.ndarray:
    """Move each edge of a closed ring ``d`` outwards, mitred corners;
    corners sharper than ~120 degrees get a square cap (two points) instead of a spike.
    """
    sign = 1.0 if _signed_area(pts) > 0 else -1.0
    nxt = np.roll(pts, -1, axis=0)
    edge = nxt - pts
    length = np.hypot(edge[:, 0], edge[:, 1])
    length[length == 0] = 1.0
    t = edge / length[:, None]  # direction of edge i (from point i to i + 1)
    n = sign * np.stack([t[:, 1], -t[:, 0]], axis=1)  # its normal, away from the fill
    out: list[np.ndarray] = []
    for i in range(len(pts)):
        n_prev, n_next = n[i - 1], n[i]
        t_prev, t_next = t[i - 1], t[i]
        cos = float(np.dot(n_prev, n_next))
        if cos > -0.5:
            out.append(pts[i] + d * (n_prev + n_next) / (1.0 + cos))
        else:
            out.append(pts[i] + d * (n_prev + t_prev))
            out.append(pts[i] + d * (n_next - t_next))
    return np.asarray(out)


def _bridge_holes(outer: np.ndarray, holes: list[np.ndarray]) -> np.ndarray:
    """Join each hole to the ring through its nearest vertex pair (a zero-width cut)."""
    ring = outer
    outer_sign = _signed_area(outer) > 0
    # Biggest holes first: they are the ones a cut must not cross later.
    for hole in sorted(holes, key=_area, reverse=True):
        if (_signed_area(hole) > 0) == outer_sign:
            hole = hole[::-1]
        d2 = ((ring[:, None, :] - hole[None, :, :]) ** 2).sum(axis=2)
        i, j = np.unravel_index(int(np.argmin(d2)), d2.shape)
        walk = np.concatenate([hole[j:], hole[: j + 1]])
        ring = np.concatenate([ring[: i + 1], walk, ring[i:]])
    return ring


# -- flood fill -----------------------------------------------------------------------


def flood_fill(
    image: np.ndarray,
    x: int,
    y: int,
    tolerance: float = 32,
    connectivity: int = 4,
) -> tuple[int, int, np.ndarray] | None:
    """The contiguous region of pixels whose colour is within ``tolerance`` of the seed's.

    Like Photoshop's magic wand (contiguous): every channel of a member pixel
    differs from the seed pixel by at most ``tolerance`` (0-255 scale). Returns
    (x0, y0, patch) covering the region's bounding rectangle, or None when the
    seed is outside the image.
    """
    img = as_uint8_image(image)
    h, w = img.shape[:2]
    if not (0 <= x < w and 0 <= y < h):
        return None
    if connectivity not in (4, 8):
        raise ValidationError(f"flood fill: connectivity must be 4 or 8, got {connectivity}")
    tol = float(min(max(tolerance, 0.0), 255.0))
    diff = (tol,) * (1 if img.ndim == 2 else 3)
    buf = np.zeros((h + 2, w + 2), np.uint8)
    flags = connectivity | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
    _, _, _, (rx, ry, rw, rh) = cv2.floodFill(img, buf, (int(x), int(y)), 0, diff, diff, flags)
    if rw <= 0 or rh <= 0:
        return None
    return rx, ry, buf[ry + 1 : ry + 1 + rh, rx + 1 : rx + 1 + rw].copy()


def as_uint8_image(image: np.ndarray) -> np.ndarray:
    """An image as contiguous 8-bit gray (H x W) or RGB (H x W x 3) for OpenCV."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    elif a.ndim == 3 and a.shape[2] >= 3:
        a = a[:, :, :3]
    elif a.ndim != 2:
        raise ValidationError(f"image: expected H x W or H x W x C pixels, got shape {a.shape}")
    if a.dtype != np.uint8:
        if a.dtype == np.bool_:
            a = a.astype(np.uint8) * 255
        elif np.issubdtype(a.dtype, np.floating):
            a = np.clip(a * (255.0 if a.size and float(np.nanmax(a)) <= 1.0 else 1.0), 0, 255)
            a = a.astype(np.uint8)
        else:
            top = float(np.iinfo(a.dtype).max)
            a = (a.astype(np.float32) * (255.0 / top)).astype(np.uint8)
    return np.ascontiguousarray(a)


# -- combining ------------------------------------------------------------------------


def combine_patch(
    target: np.ndarray, x0: int, y0: int, patch: np.ndarray, mode: str
) -> tuple[Rect, np.ndarray, np.ndarray] | None:
    """Apply ``patch`` onto ``target`` (not modified) with ``mode`` "add", "subtract"
    or "replace"; returns (rect, before, after) for that rectangle, clipped to the
    target, or None when no pixel would change.
    """
    h, w = target.shape
    ph, pw = patch.shape
    rect = clip_rect((x0, y0, x0 + pw, y0 + ph), w, h)
    if rect is None:
        return None
    rx0, ry0, rx1, ry1 = rect
    p = patch[ry0 - y0 : ry1 - y0, rx0 - x0 : rx1 - x0] != 0
    before = target[ry0:ry1, rx0:rx1]
    if mode == "add":
        after = (before != 0) | p
    elif mode == "subtract":
        after = (before != 0) & ~p
    elif mode == "replace":
        after = p
    else:
        raise ValidationError(f"combine: unknown mode {mode!r}")
    after_u8 = after.astype(np.uint8)
    if np.array_equal(after_u8, before):
        return None
    return rect, before.copy(), after_u8


def _u8(mask: np.ndarray) -> np.ndarray:
    return mask if mask.dtype == np.uint8 else (mask != 0).astype(np.uint8)


# -- edits as commands (what the raster tools and the convert actions do) -------------


def _image_size(doc: ImageDocument) -> tuple[int, int]:
    return int(doc.image.height), int(doc.image.width)


def new_region_command(
    doc: ImageDocument,
    label_id: int,
    x0: int,
    y0: int,
    patch: np.ndarray,
    output: str = "mask",
    tolerance: float = 1.0,
    label: str = "",
) -> AddAnnotation | None:
    """A new annotation of ``label_id`` covering ``patch`` at (x0, y0): a mask, or
    with ``output="polygon"`` its outline. None when the region is empty."""
    height, width = _image_size(doc)
    rect = clip_rect((x0, y0, x0 + patch.shape[1], y0 + patch.shape[0]), width, height)
    if rect is None:
        return None
    rx0, ry0, rx1, ry1 = rect
    local = patch[ry0 - y0 : ry1 - y0, rx0 - x0 : rx1 - x0] != 0
    if not local.any():
        return None
    geometry: Geometry
    if output == "polygon":
        poly = mask_to_polygon(local.view(np.uint8), tolerance)
        if poly is None:
            return None
        geometry = poly.translated(rx0, ry0)
    elif output == "mask":
        # Column-major from the start: pycocotools encodes it without a transposing copy.
        full = np.zeros((height, width), np.uint8, order="F")
        full[ry0:ry1, rx0:rx1] = local
        geometry = masks.encode(full)
    else:
        raise ValidationError(f"region: unknown output {output!r} (mask or polygon)")
    ann = Annotation(
        image_id=doc.image_id, label_id=int(label_id), geometry=geometry, z=doc.top_z()
    )
    return AddAnnotation(ann, label=label or f"Add {geometry.kind}")


def region_command(
    doc: ImageDocument,
    ann_id: int,
    x0: int,
    y0: int,
    patch: np.ndarray,
    mode: str,
    tolerance: float = 1.0,
    label: str = "",
) -> Command | None:
    """Add (``mode="add"``) or subtract a region from a mask or polygon annotation.

    Masks change by a ``PaintMask`` delta; polygons are rasterised around the
    region, combined and outlined again (``ReshapeAnnotation``). An object left
    with no pixels is deleted in the same step. None when nothing would change.
    """
    a = doc.annotation(ann_id)
    g = a.geometry
    text = label or ("Add to " if mode == "add" else "Subtract from ") + str(g.kind)
    if isinstance(g, Mask):
        arr = doc.mask_array(ann_id)
        res = combine_patch(arr, x0, y0, patch, mode)
        if res is None:
            return None
        (rx0, ry0, _, _), before, after = res
        paint = PaintMask(ann_id, rx0, ry0, before, after, label=text, image_id=doc.image_id)
        if g.area() - int(before.sum()) + int(after.sum()) <= 0:
            return Batch([paint, DeleteAnnotations([ann_id], doc.image_id)], text, doc.image_id)
        return paint
    if isinstance(g, Polygon | Box):
        poly = g if isinstance(g, Polygon) else _box_polygon(g)
        height, width = _image_size(doc)
        rect = union_rect(
            rings_rect(poly.rings, width, height),
            clip_rect((x0, y0, x0 + patch.shape[1], y0 + patch.shape[0]), width, height),
        )
        if rect is None:
            return None
        base = rasterize_rings(poly.rings, rect)
        res = combine_patch(base, x0 - rect[0], y0 - rect[1], patch, mode)
        if res is None:
            return None
        (lx0, ly0, lx1, ly1), _, after = res
        merged = base.copy()
        merged[ly0:ly1, lx0:lx1] = after
        outline = mask_to_polygon(merged, tolerance)
        if outline is None:
            return DeleteAnnotations([ann_id], doc.image_id, label=text)
        return ReshapeAnnotation(
            ann_id, outline.translated(rect[0], rect[1]), label=text, image_id=doc.image_id
        )
    raise ValidationError(
        f"annotation {ann_id} is a {g.kind}: only masks and polygons take regions"
    )


def mask_to_polygon_command(
    doc: ImageDocument, ann_id: int, tolerance: float = 1.0
) -> ReshapeAnnotation:
    """One undo step turning a mask annotation into a polygon (same id, label, attributes)."""
    a = doc.annotation(ann_id)
    if not isinstance(a.geometry, Mask):
        raise ValidationError(f"annotation {ann_id} is a {a.geometry.kind}, not a mask")
    poly = mask_to_polygon(doc.mask_array(ann_id), tolerance)
    if poly is None:
        raise ValidationError(
            f"annotation {ann_id}: the mask is empty, there is nothing to outline"
        )
    return ReshapeAnnotation(ann_id, poly, label="Convert mask to polygon", image_id=doc.image_id)


def polygon_to_mask_command(doc: ImageDocument, ann_id: int) -> ReshapeAnnotation:
    """One undo step turning a polygon (or box) annotation into a mask of the image's size."""
    a = doc.annotation(ann_id)
    g = a.geometry
    if isinstance(g, Box):
        g = _box_polygon(g)
    if not isinstance(g, Polygon):
        raise ValidationError(f"annotation {ann_id} is a {a.geometry.kind}, not a polygon")
    height, width = _image_size(doc)
    mask = masks.from_polygon(g, height, width)  # straight to RLE: no dense array
    if mask.area() <= 0:
        raise ValidationError(f"annotation {ann_id}: the polygon covers no pixel")
    return ReshapeAnnotation(ann_id, mask, label="Convert polygon to mask", image_id=doc.image_id)


def _box_polygon(b: Box) -> Polygon:
    return Polygon.from_points([(b.x, b.y), (b.x2, b.y), (b.x2, b.y2), (b.x, b.y2)])
