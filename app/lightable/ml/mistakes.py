"""Mistakenness: how likely the human labels of an image need fixing.

Reference: FiftyOne Brain's ``compute_mistakenness``. For a human object matched
(class-agnostic, IoU >= 0.5) to a prediction with confidence c, with m = +1
when the classes differ and -1 when they agree:

    class mistakenness     (m * c + 1) / 2
    loc mistakenness       (c * (2 i - 1) + 1) / 2,  i = (1 - IoU) / (1 - 0.5)
    image mistakenness     max class mistakenness over matched objects (-1 if none)

plus counts of "possible missing" (unmatched predictions with c > 0.95) and
"possible spurious" (unmatched human objects) that do not enter the image score.

What Lightable does instead. First the run is calibrated on itself
(:class:`Calibration`, built from every scored image of the run): because
most human labels are right, the run measures how its own scores behave:

    prec(s)    share of predictions with score ~s that land on a human object
               (duplicates left out): P(a prediction at s is a real object)
    agree(s)   share of matched predictions with score ~s whose class is the
               human's: P(the model's class is right at s)
    m          share of human objects no prediction explains (the miss rate)

(20 score bins, Laplace-smoothed towards s, made monotone by isotonic
regression; a lone image uses prec(s) = agree(s) = s.) Then per object an
error probability p (see ``matching`` for the verdicts; s = prediction score):

    agreed              p = 0
    poor localisation   p = prec(s) * clip((loc_iou - IoU) / (loc_iou - full_loc_iou), 0, 1)
                        (loc_iou 0.75, full_loc_iou 0.25)
    class confusion     p = post(agree(s)) * (1 - s_h), s_h = the best score the
                        model gave the human's class on that object (0 when none)
    possibly missing    p = post(prec(s)) for an unmatched, non-duplicate prediction
                        (reported as possibly missing when p >= 0.5)
    possibly spurious   p = pi / (pi + m (1 - pi)), pi = 0.05 the prior share of
                        wrong labels: an unexplained label is suspicious in
                        proportion to how rarely the model misses (0.3 uncalibrated)
    image mistakenness  M = 1 - prod_k (1 - p_k)   (noisy-OR over objects)

where post(q) = pi q / (pi q + (1 - q)) is Bayes' rule: the model disagrees
with the label either because the label is wrong (prior pi, and the model right
with probability q) or because the model is wrong (1 - q). A disagreement at a
score where the model is almost never wrong is almost surely a label error; at
a score where it is wrong one time in five it is most likely the model's. (A
lone image, uncalibrated, uses q itself.) Localisation keeps prec(s): a box
that far off is a problem whoever drew it.

Why it ranks better (tests/ml/test_mistakes_ranking.py measures both on
injected errors): FiftyOne's image score ignores dropped labels, spurious
labels and shifted boxes (they never become matched pairs), calls every agreed
low-confidence match half a mistake ((1 - c) / 2), and scores a confusion at
least 0.5 even when the model's own support for the human's class is as high
as for its own. Raw scores are not comparable across kinds of error (a 0.75
detector score is near-certain for one model and a coin flip for another);
calibrating on the run makes "missing" and "confused" probabilities of the
same thing. The noisy-OR lets several moderate problems in one image add up
while one sure problem still ranks high.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lightable.ml.matching import (
    AGREED,
    BACKGROUND,
    CLASS_CONFUSION,
    DUPLICATE,
    POOR_LOCALISATION,
    POSSIBLY_MISSING,
    POSSIBLY_SPURIOUS,
    MatchParams,
    Obj,
    Pair,
    box_iou,
    iou_matrix,
    match,
)

FIFTYONE_MISSING_CONFIDENCE = 0.95
FIFTYONE_IOU = 0.5


@dataclass(frozen=True, slots=True)
class MistakeParams:
    match: MatchParams = field(default_factory=MatchParams)
    full_loc_iou: float = 0.25
    label_error_prior: float = 0.05
    spurious_prior: float = 0.3  # when the run's miss rate is unknown


_BINS = 20


def _isotonic(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pool-adjacent-violators: the non-decreasing fit of y with weights w."""
    vals: list[float] = []
    wts: list[float] = []
    sizes: list[int] = []
    for yi, wi in zip(y, w, strict=True):
        vals.append(float(yi))
        wts.append(float(wi))
        sizes.append(1)
        while len(vals) > 1 and vals[-2] > vals[-1]:
            wsum = wts[-2] + wts[-1]
            v = (vals[-2] * wts[-2] + vals[-1] * wts[-1]) / wsum if wsum > 0 else vals[-1]
            n = sizes[-2] + sizes[-1]
            del vals[-2:], wts[-2:], sizes[-2:]
            vals.append(v)
            wts.append(wsum)
            sizes.append(n)
    return np.repeat(np.array(vals), sizes)


@dataclass(slots=True)
class Calibration:
    """How the run's scores behave against the human labels (see the module docs)."""

    precision: np.ndarray | None = None  # per score bin
    agreement: np.ndarray | None = None
    miss_rate: float | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def _bin(s: float) -> int:
        return min(_BINS - 1, max(0, int(s * _BINS)))

    def prec(self, s: float) -> float:
        return float(self.precision[self._bin(s)]) if self.precision is not None else s

    def agree(self, s: float) -> float:
        return float(self.agreement[self._bin(s)]) if self.agreement is not None else s

    def to_dict(self) -> dict[str, Any]:
        r = lambda a: [round(float(v), 4) for v in a] if a is not None else None  # noqa: E731
        return {"precision": r(self.precision), "agreement": r(self.agreement),
                "miss_rate": self.miss_rate, **self.counts}  # fmt: skip


class CalibrationBuilder:
    """Accumulates a run's statistics image by image (memory: a few arrays of 20 bins)."""

    def __init__(self, params: MistakeParams = MistakeParams()) -> None:
        self.params = params
        self.p_hit = np.zeros(_BINS)
        self.p_n = np.zeros(_BINS)
        self.a_hit = np.zeros(_BINS)
        self.a_n = np.zeros(_BINS)
        self.gts = 0
        self.unexplained = 0

    def add(self, gts: Sequence[Obj], preds: Sequence[Obj]) -> None:
        ious = iou_matrix(gts, preds)
        pairs = match(gts, preds, self.params.match, ious)
        self.gts += len(gts)
        for pair in pairs:
            if pair.verdict == POSSIBLY_SPURIOUS:
                self.unexplained += 1
            if pair.pred is None or pair.verdict == DUPLICATE:
                continue
            b = Calibration._bin(preds[pair.pred].score)
            self.p_n[b] += 1
            if pair.gt is not None:
                self.p_hit[b] += 1
                if pair.iou >= self.params.match.iou:
                    self.a_n[b] += 1
                    self.a_hit[b] += pair.verdict != CLASS_CONFUSION

    def build(self, pseudo: float = 5.0) -> Calibration:
        centers = (np.arange(_BINS) + 0.5) / _BINS

        def fit(hit: np.ndarray, n: np.ndarray) -> np.ndarray | None:
            if n.sum() < 20:
                return None  # too little data: raw scores are the better guess
            est = (hit + pseudo * centers) / (n + pseudo)
            return _isotonic(est, n + pseudo)

        miss = self.unexplained / self.gts if self.gts >= 20 else None
        return Calibration(
            fit(self.p_hit, self.p_n),
            fit(self.a_hit, self.a_n),
            miss,
            {"predictions": int(self.p_n.sum()), "human_objects": self.gts},
        )


@dataclass(slots=True)
class ImageVerdict:
    mistakenness: float
    objects: list[dict[str, Any]]
    counts: dict[str, int]


def object_probability(
    pair: Pair,
    gts: Sequence[Obj],
    preds: Sequence[Obj],
    params: MistakeParams,
    ious: np.ndarray,
    cal: Calibration,
) -> float:
    m = params.match
    v = pair.verdict
    if v in (AGREED, DUPLICATE):
        return 0.0
    if v == POOR_LOCALISATION:
        s = preds[pair.pred].score  # type: ignore[index]
        frac = (m.loc_iou - pair.iou) / max(1e-9, m.loc_iou - params.full_loc_iou)
        return float(cal.prec(s) * min(1.0, max(0.0, frac)))
    if v == CLASS_CONFUSION:
        s = preds[pair.pred].score  # type: ignore[index]
        human = gts[pair.gt].label  # type: ignore[index]
        support = 0.0
        for j, p in enumerate(preds):
            if p.label == human and ious[pair.gt, j] >= m.iou:
                support = max(support, p.score)
        q = cal.agree(s)
        if cal.agreement is not None:
            q = _posterior(q, params.label_error_prior)
        return float(q * (1.0 - support))
    if v in (POSSIBLY_MISSING, BACKGROUND):
        q = cal.prec(preds[pair.pred].score)  # type: ignore[index]
        if cal.precision is not None:
            q = _posterior(q, params.label_error_prior)
        return float(q)
    if v == POSSIBLY_SPURIOUS:
        if cal.miss_rate is None:
            return float(params.spurious_prior)
        pi = params.label_error_prior
        return float(pi / (pi + max(1e-3, cal.miss_rate) * (1.0 - pi)))
    return 0.0


def _posterior(q: float, pi: float) -> float:
    """P(the label is wrong | the model disagrees), when the model is right with
    probability q and labels are wrong with prior pi: pi q / (pi q + (1 - q))."""
    return pi * q / (pi * q + (1.0 - q)) if q < 1.0 else 1.0


def score_image(
    gts: Sequence[Obj],
    preds: Sequence[Obj],
    params: MistakeParams = MistakeParams(),
    calibration: Calibration | None = None,
) -> ImageVerdict:
    """Per-object verdicts and the image's mistakenness (an image with neither human
    objects nor predictions scores 0)."""
    cal = calibration or Calibration()
    ious = iou_matrix(gts, preds)
    pairs = match(gts, preds, params.match, ious)
    objects: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    keep_prob = 1.0
    for pair in pairs:
        p = object_probability(pair, gts, preds, params, ious, cal)
        if pair.verdict in (BACKGROUND, POSSIBLY_MISSING):
            # A leftover prediction is a missing label when it is more likely than not real.
            pair.verdict = POSSIBLY_MISSING if p >= 0.5 else BACKGROUND
            if pair.verdict == BACKGROUND:
                p = 0.0
        counts[pair.verdict] = counts.get(pair.verdict, 0) + 1
        keep_prob *= 1.0 - p
        if pair.verdict in (
            AGREED,
            POOR_LOCALISATION,
            CLASS_CONFUSION,
            POSSIBLY_MISSING,
            POSSIBLY_SPURIOUS,
        ):
            objects.append(
                {
                    "verdict": pair.verdict,
                    "annotation_id": gts[pair.gt].id if pair.gt is not None else None,
                    "prediction_id": preds[pair.pred].id if pair.pred is not None else None,
                    "iou": round(pair.iou, 4),
                    "p": round(p, 4),
                }
            )
    objects.sort(key=lambda o: -o["p"])
    return ImageVerdict(float(1.0 - keep_prob), objects, counts)


def fiftyone_mistakenness(gts: Sequence[Obj], preds: Sequence[Obj]) -> dict[str, Any]:
    """FiftyOne Brain's detection mistakenness (confidence variant), for comparison.

    Class-agnostic greedy matching at IoU 0.5 in score order; returns the image
    score (max class mistakenness over matched human objects, -1 when none) and
    the missing/spurious counts it reports beside it.
    """
    ious = box_iou(np.array([g.box for g in gts]), np.array([p.box for p in preds]))
    order = sorted(range(len(preds)), key=lambda j: -preds[j].score)
    used = np.zeros(len(gts), dtype=bool)
    matched_pred = np.zeros(len(preds), dtype=bool)
    scores: list[float] = []
    loc: list[float] = []
    for j in order:
        best, best_iou = -1, FIFTYONE_IOU
        for i in range(len(gts)):
            if not used[i] and ious[i, j] >= best_iou:
                best, best_iou = i, ious[i, j]
        if best < 0:
            continue
        used[best] = True
        matched_pred[j] = True
        c = preds[j].score
        m = -1.0 if gts[best].label == preds[j].label else 1.0
        scores.append((m * c + 1.0) / 2.0)
        i_ = (1.0 / (1.0 - FIFTYONE_IOU)) * (1.0 - best_iou)
        loc.append((c * (2.0 * i_ - 1.0) + 1.0) / 2.0)
    missing = sum(
        1
        for j in range(len(preds))
        if not matched_pred[j] and preds[j].score > FIFTYONE_MISSING_CONFIDENCE
    )
    return {
        "mistakenness": max(scores) if scores else -1.0,
        "mistakenness_loc": max(loc) if loc else -1.0,
        "possible_missing": missing,
        "possible_spurious": int((~used).sum()),
    }


def classification_verdict(
    human: Sequence[str], predicted: Sequence[tuple[str, float]]
) -> ImageVerdict:
    """Tags: human class keys vs the model's (class key, probability) top-k, best first.

    Agreed when the model's top class is one of the human's; otherwise a
    confusion with p = s_top * (1 - max_h s_h) (s_h: the model's probability of a
    human class, 0 outside its top-k). FiftyOne: (m * c + 1) / 2 in details.
    """
    if not predicted or not human:
        return ImageVerdict(0.0, [], {})
    top, s = predicted[0]
    probs = dict(predicted)
    if top in human:
        p = 0.0
        verdict = AGREED
    else:
        support = max(probs.get(h, 0.0) for h in human)
        p = float(s * (1.0 - support))
        verdict = CLASS_CONFUSION
    m = -1.0 if top in human else 1.0
    obj = {"verdict": verdict, "human": list(human), "predicted": top, "p": round(p, 4),
           "fiftyone": round((m * s + 1.0) / 2.0, 4)}  # fmt: skip
    return ImageVerdict(p, [obj], {verdict: 1})
