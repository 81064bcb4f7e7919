"""core.rle must produce exactly what pycocotools produces (counts string, bbox, area)."""

from __future__ import annotations

import numpy as np
import pytest

from lightable.core.errors import ValidationError
from lightable.core.rle import MaskRuns, counts_to_string, string_to_counts
from lightable.imaging import masks


def reference(a: np.ndarray) -> tuple:
    m = masks.encode(a)
    return (m.counts, m.bbox(), m.area())


@pytest.mark.parametrize("seed", range(4))
def test_incremental_encoding_matches_pycocotools(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for trial in range(60):
        h, w = (int(v) for v in rng.integers(1, 30, 2))
        a = (rng.random((h, w)) < rng.random()).astype(np.uint8)
        ref = masks.encode(a)
        # Start from the pixels or from the string, with or without the pixels materialised.
        runs = MaskRuns.from_array(a) if trial % 2 else MaskRuns.from_string(h, w, ref.counts)
        if trial % 3 == 0:
            runs.array()
        assert runs.encode() == reference(a)
        for _ in range(5):
            ph, pw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
            y0, x0 = int(rng.integers(0, h - ph + 1)), int(rng.integers(0, w - pw + 1))
            patch = (rng.random((ph, pw)) < rng.random()).astype(np.uint8)
            prev = runs.write(x0, y0, patch)
            assert np.array_equal(prev, a[y0 : y0 + ph, x0 : x0 + pw])
            a[y0 : y0 + ph, x0 : x0 + pw] = patch
            assert runs.encode() == reference(a)
        assert np.array_equal(runs.array(), a)
        assert np.array_equal(runs.array(), masks.decode(masks.encode(a)))


def test_string_codec_roundtrip() -> None:
    rng = np.random.default_rng(9)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        counts = rng.integers(0, 2**31, n) if rng.random() < 0.3 else rng.integers(0, 70, n)
        s = counts_to_string(counts)
        assert np.array_equal(string_to_counts(s), counts)
    a = np.zeros((300, 200), np.uint8)
    a[10:250, 30:180] = 1
    s = masks.encode(a).counts
    assert counts_to_string(string_to_counts(s)) == s
    with pytest.raises(ValidationError, match="malformed"):
        string_to_counts("ab~")
    with pytest.raises(ValidationError, match="add up"):
        MaskRuns.from_string(10, 10, counts_to_string(np.array([5, 5])))


def test_edge_cases() -> None:
    for a in [np.zeros((5, 4), np.uint8), np.ones((5, 4), np.uint8), np.eye(6, dtype=np.uint8)]:
        assert MaskRuns.from_array(a).encode() == reference(a)
    a = np.zeros((4, 4), np.uint8)
    a[:, 1:3] = 1  # runs crossing columns: full-height bbox rule
    assert MaskRuns.from_array(a).encode() == reference(a)
    runs = MaskRuns.from_array(np.zeros((3, 3), np.uint8))
    runs.write(0, 0, np.full((3, 3), 7, np.uint8))  # non-zero means set
    assert runs.encode() == reference(np.ones((3, 3), np.uint8))
    with pytest.raises(ValidationError, match="outside"):
        runs.write(2, 2, np.ones((2, 2)))
    assert counts_to_string(np.array([], dtype=np.int64)) == ""
    # Zero-length runs in the middle (uncompressed COCO input may have them) cancel out.
    z = MaskRuns.from_string(1, 6, counts_to_string(np.array([2, 0, 1, 3])))
    assert z.array().tolist() == [[0, 0, 0, 1, 1, 1]]


def test_large_mask_never_materialised_for_writes() -> None:
    a = np.zeros((3000, 4000), np.uint8)
    a[5:2990, 7:3995] = 1
    a[1500, 2000] = 0
    ref = masks.encode(a)
    runs = MaskRuns.from_string(3000, 4000, ref.counts)
    runs.write(3990, 0, np.ones((3000, 10), np.uint8))
    a[:, 3990:] = 1
    assert runs.encode() == reference(a)
    assert runs.nbytes < 100_000  # toggles only: the 12 MB of pixels were never built
