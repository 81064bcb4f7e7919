from __future__ import annotations

import numpy as np
import pytest

from lightable.imaging.masks import encode
from lightable.ml.matching import (
    AGREED,
    CLASS_CONFUSION,
    DUPLICATE,
    POOR_LOCALISATION,
    POSSIBLY_MISSING,
    POSSIBLY_SPURIOUS,
    Obj,
    box_iou,
    iou_matrix,
    match,
)


def test_box_iou_by_hand() -> None:
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[5, 0, 15, 10], [0, 0, 10, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(box_iou(a, b), [[50 / 150, 1.0, 0.0]])
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 3)


def test_mask_iou_replaces_box_iou() -> None:
    m1 = np.zeros((20, 20), np.uint8)
    m1[0:10, 0:10] = 1
    m2 = np.zeros((20, 20), np.uint8)
    m2[0:10, 0:5] = 1  # same bbox region overlap: half of m1
    g = Obj(1, "a", (0, 0, 10, 10), mask=encode(m1))
    p = Obj(2, "a", (0, 0, 10, 10), 0.9, mask=encode(m2))
    assert iou_matrix([g], [p])[0, 0] == pytest.approx(0.5)
    # Without masks the boxes are identical.
    assert iou_matrix([Obj(1, "a", (0, 0, 10, 10))], [Obj(2, "a", (0, 0, 10, 10))])[0, 0] == 1.0


def _verdicts(pairs) -> dict:
    return {(p.gt, p.pred): p.verdict for p in pairs}


def test_every_verdict() -> None:
    gts = [
        Obj(10, "cat", (0, 0, 10, 10)),  # agreed
        Obj(11, "dog", (20, 0, 30, 10)),  # confused: model says cat
        Obj(12, "cat", (40, 0, 50, 10)),  # shifted: IoU 0.33 with its prediction
        Obj(13, "cat", (60, 0, 70, 10)),  # nothing predicted: spurious?
    ]
    preds = [
        Obj(1, "cat", (0, 0, 10, 10), 0.9),
        Obj(2, "cat", (20, 0, 30, 10), 0.8),
        Obj(3, "cat", (45, 0, 55, 10), 0.9),
        Obj(4, "cat", (80, 0, 90, 10), 0.95),  # no label under it: missing?
        Obj(5, "dog", (0, 0, 10, 10.5), 0.4),  # second class on an agreed object
        Obj(6, "cat", (100, 0, 110, 10), 0.2),  # low score, nothing there: background
    ]
    v = _verdicts(match(gts, preds))
    assert v[(0, 0)] == AGREED
    assert v[(1, 1)] == CLASS_CONFUSION
    assert v[(2, 2)] == POOR_LOCALISATION
    assert v[(3, None)] == POSSIBLY_SPURIOUS
    assert v[(None, 3)] == POSSIBLY_MISSING
    assert v[(None, 4)] == DUPLICATE
    assert v[(None, 5)] == "background"
    assert len(v) == 7  # every object in exactly one pair


def test_same_class_wins_over_higher_iou_other_class() -> None:
    gts = [Obj(1, "cat", (0, 0, 10, 10)), Obj(2, "dog", (1, 0, 11, 10))]
    preds = [Obj(3, "dog", (0, 0, 10, 10), 0.9)]
    pairs = match(gts, preds)
    assert {(p.gt, p.pred): p.verdict for p in pairs}[(1, 0)] == AGREED


def test_matched_but_loose_is_poor_localisation() -> None:
    # IoU 0.6 >= 0.5 matches, but under loc_iou 0.75.
    gts = [Obj(1, "cat", (0, 0, 10, 10))]
    preds = [Obj(2, "cat", (0, 0, 10, 6), 0.9)]
    (pair,) = match(gts, preds)
    assert pair.verdict == POOR_LOCALISATION and pair.iou == pytest.approx(0.6)
