"""Model-versus-human matching on one image (numpy; masks through RLE IoU).

Every human object and every prediction ends up in exactly one :class:`Pair`
with a verdict:

- ``agreed``: same class, IoU >= ``iou`` (0.5) and >= ``loc_iou`` (0.75);
- ``poor_localisation``: same class, ``near_iou`` (0.1) <= IoU < ``loc_iou``;
- ``class_confusion``: IoU >= ``iou`` but a different class;
- ``possibly_missing``: a prediction with score >= ``missing_score`` and no human
  object under it (a label someone forgot);
- ``possibly_spurious``: a human object no prediction explains;
- ``duplicate`` / ``background``: predictions that need no action (a second box
  on an object already matched, or a low-score unmatched prediction).

Passes, each greedy by prediction score (COCO's order): same class at IoU >=
``iou``; then any class at IoU >= ``iou`` (confusions); then same class at
``near_iou`` <= IoU (badly placed boxes that the 0.5 rule would report as one
missing plus one spurious label). Unmatched predictions overlapping an already
matched human object (torchvision emits one box per class for an object) are
duplicates, not missing labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lightable.core.geometry import Mask

AGREED = "agreed"
POOR_LOCALISATION = "poor_localisation"
CLASS_CONFUSION = "class_confusion"
POSSIBLY_MISSING = "possibly_missing"
POSSIBLY_SPURIOUS = "possibly_spurious"
DUPLICATE = "duplicate"
BACKGROUND = "background"
VERDICTS = (AGREED, POOR_LOCALISATION, CLASS_CONFUSION, POSSIBLY_MISSING, POSSIBLY_SPURIOUS)


@dataclass(frozen=True, slots=True)
class Obj:
    """A human object or a prediction, reduced to what matching needs."""

    id: int | None
    label: str  # class key compared between the two sides (label id or name)
    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    score: float = 1.0
    mask: Mask | None = None


@dataclass(slots=True)
class Pair:
    verdict: str
    gt: int | None  # index into the human objects
    pred: int | None  # index into the predictions
    iou: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MatchParams:
    iou: float = 0.5
    loc_iou: float = 0.75
    near_iou: float = 0.1
    missing_score: float = 0.7


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of x1 y1 x2 y2 boxes: (N, 4) x (M, 4) -> (N, M)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(union > 0, inter / union, 0.0)
    return out


def iou_matrix(gts: Sequence[Obj], preds: Sequence[Obj]) -> np.ndarray:
    """Box IoU, replaced by mask IoU (on the RLEs) where both objects have masks."""
    m = box_iou(np.array([g.box for g in gts]), np.array([p.box for p in preds]))
    gi = [i for i, g in enumerate(gts) if g.mask is not None]
    pi = [j for j, p in enumerate(preds) if p.mask is not None]
    if gi and pi:
        from lightable.imaging.masks import iou as mask_iou

        # Only pairs whose boxes touch can have mask overlap; skip the RLE work otherwise.
        sub = m[np.ix_(gi, pi)]
        if (sub > 0).any():
            mi = mask_iou([gts[i].mask for i in gi], [preds[j].mask for j in pi])  # type: ignore[misc]
            m[np.ix_(gi, pi)] = mi
    return m


def match(
    gts: Sequence[Obj],
    preds: Sequence[Obj],
    params: MatchParams = MatchParams(),
    ious: np.ndarray | None = None,
) -> list[Pair]:
    if ious is None:
        ious = iou_matrix(gts, preds)
    order = sorted(range(len(preds)), key=lambda j: (-preds[j].score, j))
    gt_used = np.zeros(len(gts), dtype=bool)
    pred_used = np.zeros(len(preds), dtype=bool)
    pairs: list[Pair] = []

    def greedy(lo: float, hi: float, same_class: bool | None) -> list[tuple[int, int]]:
        found = []
        for j in order:
            if pred_used[j]:
                continue
            best, best_iou = -1, lo
            for i in range(len(gts)):
                if gt_used[i]:
                    continue
                v = ious[i, j]
                if v < lo or v >= hi:
                    continue
                same = gts[i].label == preds[j].label
                if same_class is not None and same != same_class:
                    continue
                if v > best_iou or (best < 0 and v >= lo):
                    best, best_iou = i, v
            if best >= 0:
                gt_used[best] = True
                pred_used[j] = True
                found.append((best, j))
        return found

    for i, j in greedy(params.iou, 2.0, True):
        v = float(ious[i, j])
        pairs.append(Pair(AGREED if v >= params.loc_iou else POOR_LOCALISATION, i, j, v))
    for i, j in greedy(params.iou, 2.0, False):
        pairs.append(Pair(CLASS_CONFUSION, i, j, float(ious[i, j])))
    for i, j in greedy(params.near_iou, params.iou, True):
        pairs.append(Pair(POOR_LOCALISATION, i, j, float(ious[i, j])))

    matched_gt = gt_used.copy()
    for j in order:
        if pred_used[j]:
            continue
        col = ious[:, j] if len(gts) else np.zeros(0)
        over_matched = bool(len(col) and (col[matched_gt] >= params.iou).any())
        if over_matched:
            pairs.append(Pair(DUPLICATE, None, j, float(col[matched_gt].max())))
        elif preds[j].score >= params.missing_score:
            pairs.append(Pair(POSSIBLY_MISSING, None, j, float(col.max()) if len(col) else 0.0))
        else:
            pairs.append(Pair(BACKGROUND, None, j, float(col.max()) if len(col) else 0.0))
    for i in range(len(gts)):
        if not gt_used[i]:
            row = ious[i]
            pairs.append(Pair(POSSIBLY_SPURIOUS, i, None, float(row.max()) if len(row) else 0.0))
    return pairs
