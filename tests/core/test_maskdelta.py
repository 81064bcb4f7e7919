from __future__ import annotations

import numpy as np

from lightable.core import commands as C
from lightable.core.maskdelta import PackedPatch, shift_region


def test_packed_patch_roundtrip_and_size() -> None:
    rng = np.random.default_rng(1)
    for shape in [(1, 1), (7, 13), (64, 64), (300, 5)]:
        a = (rng.random(shape) < 0.3).astype(np.uint8)
        p = PackedPatch.pack(a)
        assert np.array_equal(p.unpack(), a) and p.shape == shape
    stroke = np.zeros((200, 200), np.uint8)
    yy, xx = np.ogrid[:200, :200]
    stroke[(yy - 100) ** 2 + (xx - 100) ** 2 < 90**2] = 1
    assert PackedPatch.pack(stroke).nbytes < 1000  # 40,000 pixels; a 200x200 uint8 copy is 40 KB


def test_paint_mask_holds_only_its_patches() -> None:
    before = np.zeros((50, 80), np.uint8)
    after = np.ones((50, 80), np.uint8)
    cmd = C.PaintMask(7, 10, 20, before, after)
    assert np.array_equal(cmd.after, after) and np.array_equal(cmd.before, before)
    assert cmd.rect == (10, 20, 80, 50)
    assert cmd.nbytes < 400


def test_shift_region_moves_content_and_clips() -> None:
    m = np.zeros((10, 12), np.uint8)
    m[2:4, 3:6] = 1
    x0, y0, patch = shift_region(m, (3, 2, 3, 2), 2, 1)  # type: ignore[misc]
    out = m.copy()
    out[y0 : y0 + patch.shape[0], x0 : x0 + patch.shape[1]] = patch
    expect = np.zeros_like(m)
    expect[3:5, 5:8] = 1
    assert np.array_equal(out, expect)
    x0, y0, patch = shift_region(m, (3, 2, 3, 2), 8, 0)  # type: ignore[misc]
    out = m.copy()
    out[y0 : y0 + patch.shape[0], x0 : x0 + patch.shape[1]] = patch
    assert out.sum() == 2 and out[2:4, 11].all()  # clipped at the right edge
    assert shift_region(m, (3, 2, 3, 2), 0, 0) is None
    assert shift_region(m, (0, 0, 0, 0), 3, 3) is None
