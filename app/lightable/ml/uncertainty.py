"""How unsure the model is about an image (numpy only; no torch, no store).

Classifiers (softmax probabilities p over C classes, sorted p1 >= p2 >= ...):

    entropy        H = -sum p_i ln p_i,  normalised Hn = H / ln C  in [0, 1]
    margin         M = p1 - p2                                        in [0, 1]
    uncertainty    U = 1 - M

  Margin ranks images for labelling better than entropy in most active-learning
  studies (entropy is dominated by the long tail of a 1000-class softmax), so it
  drives U; both are kept in the details.

Detectors (scores s_i of every raw detection, before any threshold), with an
uncertain band [lo, hi] (default 0.3 .. 0.7) and the binary entropy
h(s) = -s log2 s - (1 - s) log2 (1 - s) (1 at s = 0.5, 0.88 at 0.3 and 0.7):

    candidates     C = {i : s_i >= lo}          (below lo is background clutter)
    band           B = {i : lo <= s_i <= hi}
    share          S = |B| / |C|                (0 when C is empty)
    weight         W = sum_{i in B} h(s_i)      ("coin flips" in the image)
    uncertainty    U = S * (1 - exp(-W))

  S says how much of what the model sees it is unsure about; W how much of it
  there is. One coin-flip box alone gives U = 0.63; ten confident boxes and one
  coin flip give 0.06; five coin flips give 0.99. An image with no candidates
  scores 0 (nothing to correct).

Semantic segmentation (per-pixel softmax): U = mean over pixels of (1 - margin).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

DEFAULT_BAND = (0.3, 0.7)


def classification_uncertainty(probs: np.ndarray) -> tuple[float, dict[str, Any]]:
    p = np.asarray(probs, dtype=np.float64).ravel()
    if p.size == 0:
        return 0.0, {"entropy": 0.0, "entropy_norm": 0.0, "margin": 1.0}
    total = p.sum()
    if total > 0:
        p = p / total
    nz = p[p > 0]
    h = float(-(nz * np.log(nz)).sum())
    hn = h / math.log(p.size) if p.size > 1 else 0.0
    if p.size > 1:
        top2 = np.partition(p, p.size - 2)[-2:]
        margin = float(top2[1] - top2[0])
    else:
        margin = float(p[0])
    return float(1.0 - margin), {
        "entropy": round(h, 6),
        "entropy_norm": round(hn, 6),
        "margin": round(margin, 6),
        "top1": round(float(p.max()), 6),
    }


def binary_entropy(s: np.ndarray) -> np.ndarray:
    s = np.clip(np.asarray(s, dtype=np.float64), 1e-12, 1 - 1e-12)
    return -(s * np.log2(s) + (1 - s) * np.log2(1 - s))


def detection_uncertainty(
    scores: np.ndarray, band: tuple[float, float] = DEFAULT_BAND
) -> tuple[float, dict[str, Any]]:
    lo, hi = band
    s = np.asarray(scores, dtype=np.float64).ravel()
    cand = s[s >= lo]
    if cand.size == 0:
        return 0.0, {"share": 0.0, "weight": 0.0, "band": [lo, hi], "n_band": 0, "n": 0}
    in_band = cand[cand <= hi]
    share = in_band.size / cand.size
    weight = float(binary_entropy(in_band).sum()) if in_band.size else 0.0
    u = share * (1.0 - math.exp(-weight))
    return float(u), {
        "share": round(share, 6),
        "weight": round(weight, 6),
        "band": [lo, hi],
        "n_band": int(in_band.size),
        "n": int(cand.size),
    }


def segmentation_uncertainty(mean_margin: float) -> tuple[float, dict[str, Any]]:
    m = float(min(1.0, max(0.0, mean_margin)))
    return 1.0 - m, {"margin_mean": round(m, 6)}
