"""Pixel operations behind the raster tools (no Qt)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lightable.core.errors import ValidationError
from lightable.core.geometry import Polygon
from lightable.imaging import maskops, masks


def _exact_capsule(h: int, w: int, ax: float, ay: float, bx: float, by: float, r: float):
    """Reference: every pixel whose centre is within r of the segment (brute force)."""
    x = np.arange(w) + 0.5
    y = (np.arange(h) + 0.5)[:, None]
    dx, dy = bx - ax, by - ay
    ll = dx * dx + dy * dy
    t = np.clip(((x - ax) * dx + (y - ay) * dy) / ll, 0, 1) if ll > 0 else np.zeros((h, w))
    return (((x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2) <= r * r + 1e-9).astype(np.uint8)


def test_capsule_stamp_matches_distance_and_reports_touched_rect() -> None:
    rng = np.random.default_rng(7)
    for k in range(400):
        ax, ay, bx, by = rng.uniform(-10, 70, 4)
        r = rng.uniform(0, 15)
        if k % 4 == 0:
            bx, by = ax, ay  # a dab
        elif k % 4 == 1:
            by = ay  # horizontal
        elif k % 4 == 2:
            bx = ax  # vertical
        m = np.zeros((60, 64), np.uint8)
        rect = maskops.stamp_capsule(m, ax, ay, bx, by, r)
        assert np.array_equal(m, _exact_capsule(60, 64, ax, ay, bx, by, r)), k
        if m.any():
            ys, xs = np.nonzero(m)
            assert rect == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        else:
            assert rect is None


def test_capsule_stamp_touches_only_its_rect_and_erases() -> None:
    m = np.ones((40, 50), np.uint8)
    rect = maskops.stamp_capsule(m, 10.0, 10.0, 30.0, 10.0, 3.0, value=0)
    assert rect == (7, 7, 33, 13)
    x0, y0, x1, y1 = rect
    outside = m.copy()
    outside[y0:y1, x0:x1] = 1
    assert outside.all()  # nothing outside the reported rectangle changed
    assert m[10, 20] == 0 and m[10, 5] == 1
    assert maskops.stamp_capsule(m, -100, -100, -90, -90, 5) is None


def test_flood_fill_respects_tolerance_and_contiguity() -> None:
    img = np.zeros((50, 80, 3), np.uint8)
    img[:, :40] = (200, 20, 20)
    img[10:20, 10:20] = (210, 25, 18)  # close to the red
    img[30:40, 10:20] = (20, 20, 200)  # blue island
    img[:, 60:] = (200, 20, 20)  # red again, but not connected
    x0, y0, patch = maskops.flood_fill(img, 2, 2, tolerance=0)
    full = np.zeros((50, 80), np.uint8)
    full[y0 : y0 + patch.shape[0], x0 : x0 + patch.shape[1]] = patch
    assert full.sum() == 50 * 40 - 100 - 100
    assert full[15, 15] == 0 and full[35, 15] == 0 and full[5, 70] == 0

    x0, y0, patch = maskops.flood_fill(img, 2, 2, tolerance=12)
    full[:] = 0
    full[y0 : y0 + patch.shape[0], x0 : x0 + patch.shape[1]] = patch
    assert full.sum() == 50 * 40 - 100  # the near-red square joins, the blue one does not
    assert (x0, y0) == (0, 0) and patch.shape == (50, 40)
    assert maskops.flood_fill(img, 500, 2) is None


def test_flood_fill_accepts_gray_rgba_and_16_bit() -> None:
    gray = np.zeros((20, 20), np.uint16)
    gray[:, 10:] = 65535
    x0, _, patch = maskops.flood_fill(gray, 15, 5, tolerance=3)
    assert x0 == 10 and patch.sum() == 200
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[:10, :, :3] = 255
    _, y0, patch = maskops.flood_fill(rgba, 3, 15, tolerance=3)
    assert y0 == 10 and patch.sum() == 200
    with pytest.raises(ValidationError):
        maskops.flood_fill(gray, 1, 1, connectivity=6)


def test_contours_of_a_mask_with_a_hole_keep_the_hole() -> None:
    m = np.zeros((60, 80), np.uint8)
    m[10:40, 10:50] = 1
    m[20:30, 20:30] = 0  # a hole
    m[24:26, 24:26] = 1  # an island inside the hole
    poly = maskops.mask_to_polygon(m, tolerance=0)
    assert poly is not None
    assert len(poly.rings) == 2  # the keyholed square and the island
    back = masks.decode(masks.from_polygon(poly, 60, 80))
    assert np.array_equal(back, m)
    # Corners land on pixel edges: the outer square is exactly [10, 50] x [10, 40].
    xs = [c for r in poly.rings for c in r[0::2]]
    ys = [c for r in poly.rings for c in r[1::2]]
    assert (min(xs), max(xs), min(ys), max(ys)) == (10, 50, 10, 40)
    filled = maskops.mask_to_polygon(m, tolerance=0, keep_holes=False)
    assert filled is not None and filled.area() == 30 * 40 + 4  # the island is its own ring


def test_mask_polygon_mask_roundtrip_within_one_pixel() -> None:
    rng = np.random.default_rng(3)
    kernel = np.ones((3, 3), np.uint8)
    for _ in range(15):
        m = np.zeros((100, 120), np.uint8)
        for _ in range(5):
            c = tuple(int(v) for v in rng.integers(5, 110, 2))
            cv2.circle(m, c, int(rng.integers(3, 20)), 1, -1)
        for _ in range(2):
            c = tuple(int(v) for v in rng.integers(5, 110, 2))
            cv2.circle(m, c, int(rng.integers(2, 6)), 0, -1)
        inner = cv2.erode(m, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
        outer = cv2.dilate(m, kernel)
        for tol in (0.0, 1.0):
            poly = maskops.mask_to_polygon(m, tolerance=tol)
            assert poly is not None
            back = maskops.polygon_to_mask(poly, 100, 120)
            diff = back != m
            # Every disagreement is on the boundary band (within one pixel of an edge).
            assert not (diff & ((inner == 1) | (outer == 0))).any()
            if tol == 0:
                assert diff.sum() <= 2
            # ... and polygon -> mask -> polygon moves no edge by more than a pixel.
            again = maskops.mask_to_polygon(back, tolerance=tol)
            assert again is not None
            back2 = maskops.polygon_to_mask(again, 100, 120)
            inner2 = cv2.erode(back, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
            outer2 = cv2.dilate(back, kernel)
            assert not ((back2 != back) & ((inner2 == 1) | (outer2 == 0))).any()
            if tol == 0:
                assert again == poly


def test_polygon_to_mask_uses_pixel_edges() -> None:
    square = Polygon.from_points([(2, 3), (12, 3), (12, 8), (2, 8)])
    m = maskops.polygon_to_mask(square, 20, 20)
    assert m.sum() == 50 and m[3, 2] == 1 and m[8, 2] == 0 and m[3, 12] == 0
    poly = maskops.mask_to_polygon(m, tolerance=0)
    assert poly is not None and poly.bbox() == (2, 3, 10, 5) and poly.area() == 50


def test_tiny_and_empty_masks() -> None:
    m = np.zeros((10, 10), np.uint8)
    assert maskops.mask_to_polygon(m) is None
    m[3, 3] = 1
    poly = maskops.mask_to_polygon(m)
    assert poly is not None and poly.bbox() == (3, 3, 1, 1)
    m[3, 3:8] = 1  # a one-pixel line
    poly = maskops.mask_to_polygon(m)
    assert poly is not None and poly.bbox() == (3, 3, 5, 1)
    assert np.array_equal(maskops.polygon_to_mask(poly, 10, 10), m)


def test_lasso_patch_is_clipped_to_the_image() -> None:
    pts = [(-5.0, -5.0), (15.0, -5.0), (15.0, 6.0), (-5.0, 6.0)]
    x0, y0, patch = maskops.polygon_patch(pts, 10, 10)
    assert (x0, y0) == (0, 0) and patch.shape == (7, 10)
    assert patch.sum() == 60  # rows 0..5 fully, row 6 not (its centres lie below y = 6)
    assert maskops.polygon_patch([(1, 1), (2, 2)], 10, 10) is None
    assert maskops.polygon_patch([(50, 50), (60, 50), (60, 60)], 10, 10) is None


def test_combine_patch_modes() -> None:
    target = np.zeros((10, 10), np.uint8)
    target[2:6, 2:6] = 1
    patch = np.ones((4, 4), np.uint8)
    rect, before, after = maskops.combine_patch(target, 4, 4, patch, "add")
    assert rect == (4, 4, 8, 8) and before.sum() == 4 and after.sum() == 16
    rect, before, after = maskops.combine_patch(target, 4, 4, patch, "subtract")
    assert after.sum() == 0 and before.sum() == 4
    assert maskops.combine_patch(target, 2, 2, np.ones((2, 2), np.uint8), "add") is None
    # Clipped at the border.
    rect, _, after = maskops.combine_patch(target, 8, 8, patch, "replace")
    assert rect == (8, 8, 10, 10) and after.shape == (2, 2)
    with pytest.raises(ValidationError):
        maskops.combine_patch(target, 0, 0, patch, "xor")
