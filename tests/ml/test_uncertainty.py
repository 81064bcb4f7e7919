from __future__ import annotations

import math

import numpy as np
import pytest

from lightable.ml.uncertainty import (
    binary_entropy,
    classification_uncertainty,
    detection_uncertainty,
    segmentation_uncertainty,
)


def test_classifier_entropy_and_margin_by_hand() -> None:
    u, d = classification_uncertainty(np.array([0.7, 0.2, 0.1]))
    h = -(0.7 * math.log(0.7) + 0.2 * math.log(0.2) + 0.1 * math.log(0.1))
    assert d["entropy"] == pytest.approx(h, abs=1e-6)
    assert d["entropy_norm"] == pytest.approx(h / math.log(3), abs=1e-6)
    assert d["margin"] == pytest.approx(0.5)
    assert u == pytest.approx(0.5)


def test_classifier_extremes() -> None:
    u, d = classification_uncertainty(np.array([1.0, 0.0, 0.0, 0.0]))
    assert u == 0.0 and d["entropy"] == 0.0
    u, d = classification_uncertainty(np.full(4, 0.25))
    assert u == pytest.approx(1.0)
    assert d["entropy_norm"] == pytest.approx(1.0)


def test_detection_band_by_hand() -> None:
    # Candidates >= 0.3: 0.95, 0.9, 0.5 (band), 0.4 (band); 0.1 and 0.05 are clutter.
    scores = np.array([0.95, 0.9, 0.5, 0.4, 0.1, 0.05])
    u, d = detection_uncertainty(scores, (0.3, 0.7))
    w = 1.0 + float(binary_entropy(np.array([0.4]))[0])
    assert d["n"] == 4 and d["n_band"] == 2
    assert d["share"] == pytest.approx(0.5)
    assert d["weight"] == pytest.approx(w, abs=1e-6)
    assert u == pytest.approx(0.5 * (1 - math.exp(-w)), abs=1e-6)


def test_detection_cases_in_docstring() -> None:
    assert detection_uncertainty(np.array([0.5]))[0] == pytest.approx(1 - math.exp(-1))
    assert detection_uncertainty(np.array([]))[0] == 0.0
    assert detection_uncertainty(np.array([0.99, 0.98]))[0] == 0.0
    many = detection_uncertainty(np.full(5, 0.5))[0]
    one_among_ten = detection_uncertainty(np.array([0.95] * 10 + [0.5]))[0]
    assert many > 0.99 and one_among_ten < 0.07


def test_segmentation() -> None:
    assert segmentation_uncertainty(0.8)[0] == pytest.approx(0.2)
