from __future__ import annotations

import numpy as np
import pytest

from lightable.ml.matching import Obj
from lightable.ml.mistakes import (
    Calibration,
    CalibrationBuilder,
    MistakeParams,
    _isotonic,
    classification_verdict,
    fiftyone_mistakenness,
    score_image,
)


def test_clean_image_scores_zero() -> None:
    v = score_image([Obj(1, "a", (0, 0, 10, 10))], [Obj(2, "a", (0, 0, 10, 10), 0.6)])
    assert v.mistakenness == 0.0
    assert v.objects[0]["verdict"] == "agreed"


def test_by_hand() -> None:
    gts = [
        Obj(1, "dog", (0, 0, 10, 10)),  # confused with cat 0.8; model gave dog 0.25 there
        Obj(2, "cat", (40, 0, 50, 10)),  # shifted, IoU 1/3
    ]
    preds = [
        Obj(11, "cat", (0, 0, 10, 10), 0.8),
        Obj(12, "dog", (0, 0, 10, 10), 0.25),
        Obj(13, "cat", (45, 0, 55, 10), 0.9),
        Obj(14, "cat", (80, 0, 90, 10), 0.95),  # missing label
    ]
    v = score_image(gts, preds)
    # Same-class pass first: dog 0.25 matches the dog label (agreed), so cat 0.8
    # there is a duplicate, not a confusion.
    ps = {(o["annotation_id"], o["prediction_id"]): (o["verdict"], o["p"]) for o in v.objects}
    assert ps[(1, 12)] == ("agreed", 0.0)
    loc = 0.9 * (0.75 - 1 / 3) / (0.75 - 0.25)
    assert ps[(2, 13)][0] == "poor_localisation"
    assert ps[(2, 13)][1] == pytest.approx(loc, abs=1e-4)
    assert ps[(None, 14)] == ("possibly_missing", 0.95)
    assert v.mistakenness == pytest.approx(1 - (1 - loc) * (1 - 0.95), abs=1e-4)


def test_confusion_probability_uses_support_for_human_class() -> None:
    gts = [Obj(1, "dog", (0, 0, 10, 10))]
    preds = [Obj(11, "cat", (0, 0, 10, 10), 0.8), Obj(12, "dog", (30, 0, 40, 10), 0.5)]
    v = score_image(gts, preds, MistakeParams())
    (conf,) = [o for o in v.objects if o["verdict"] == "class_confusion"]
    assert conf["p"] == pytest.approx(0.8)  # no dog support at that place
    spur = score_image([Obj(1, "dog", (0, 0, 10, 10))], [])
    assert spur.mistakenness == pytest.approx(0.3)


def test_fiftyone_reference_formula() -> None:
    gts = [Obj(1, "dog", (0, 0, 10, 10)), Obj(2, "cat", (20, 0, 30, 10))]
    preds = [Obj(11, "cat", (0, 0, 10, 10), 0.8), Obj(12, "cat", (20, 0, 30, 8), 0.6)]
    r = fiftyone_mistakenness(gts, preds)
    # wrong class, c = 0.8: (1 * 0.8 + 1) / 2; right class, c = 0.6: (-0.6 + 1) / 2
    assert r["mistakenness"] == pytest.approx(0.9)
    # loc for the cat pair: IoU 0.8, i = 2 * 0.2 = 0.4 -> (0.6 * (0.8 - 1) + 1) / 2 = 0.44
    assert r["mistakenness_loc"] == pytest.approx(max(0.44, (0.8 * (2 * 0 - 1) + 1) / 2))
    assert r["possible_missing"] == 0 and r["possible_spurious"] == 0
    assert fiftyone_mistakenness([Obj(1, "a", (0, 0, 1, 1))], [])["mistakenness"] == -1.0


def test_classification_verdict() -> None:
    v = classification_verdict(["dog"], [("cat", 0.7), ("dog", 0.2)])
    assert v.mistakenness == pytest.approx(0.7 * 0.8)
    assert v.objects[0]["fiftyone"] == pytest.approx(0.85)
    assert classification_verdict(["cat"], [("cat", 0.7)]).mistakenness == 0.0


def test_isotonic_fit() -> None:
    np.testing.assert_allclose(
        _isotonic(np.array([0.1, 0.5, 0.3, 0.9]), np.ones(4)), [0.1, 0.4, 0.4, 0.9]
    )


def test_calibration_from_a_run_by_hand() -> None:
    b = CalibrationBuilder()
    # 40 images: a labeled object the model finds at 0.9 with the right class, and
    # a 0.35 false positive; every 4th image the model misses a second object.
    for k in range(40):
        gts = [Obj(1, "a", (0, 0, 10, 10))] + (
            [Obj(2, "a", (50, 50, 60, 60))] if k % 4 == 0 else []
        )
        b.add(gts, [Obj(11, "a", (0, 0, 10, 10), 0.9), Obj(12, "a", (80, 80, 90, 90), 0.35)])
    cal = b.build()
    assert cal.miss_rate == pytest.approx(10 / 50)
    # bin 0.90-0.95: 40 hits of 40, smoothed towards 0.925 with 5 pseudo-counts;
    # the empty bin above (5 pseudo-counts at 0.975) is lower, so isotonic pools them.
    pooled = (40 + 5 * 0.925 + 5 * 0.975) / 50
    assert cal.prec(0.9) == pytest.approx(pooled) == cal.prec(0.97)
    assert cal.prec(0.35) < 0.15  # never a real object at 0.35 (pooled with the empty bins below)
    curve = [cal.prec(x / 100) for x in range(100)]
    assert curve == sorted(curve)
    assert cal.agree(0.9) == pytest.approx(pooled)
    # With it: a confident unmatched prediction is a likely missing label, an
    # unexplained label is suspicious in proportion to how rarely the model misses.
    v = score_image([], [Obj(13, "a", (0, 0, 10, 10), 0.9)], calibration=cal)
    q = cal.prec(0.9)
    assert v.mistakenness == pytest.approx(0.05 * q / (0.05 * q + 1 - q))
    s = score_image([Obj(1, "a", (0, 0, 10, 10))], [], calibration=cal)
    assert s.mistakenness == pytest.approx(0.05 / (0.05 + 0.2 * 0.95))
    assert Calibration().prec(0.42) == 0.42  # uncalibrated: the raw score
