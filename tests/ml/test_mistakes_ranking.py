"""A generated data set with injected label errors and simulated predictions: the
mistakenness ranking must put most injected errors at the top (recall at the top 5%).

FiftyOne Brain's formula is scored on the same data for comparison; both numbers
are printed (run with -s to see them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lightable.core.geometry import Box
from lightable.core.model import Annotation, Image, ImageStatus, Label, Prediction
from lightable.jobs.scoring import score_run
from lightable.store.predictions import PredictionRepo, ScoreRow
from lightable.store.scores import ScoreRepo

N_IMAGES = 1000
ERROR_SHARE = 0.05
SIZE = 200
CLASSES = ["car", "person", "bike", "dog", "sign"]


def _clip_box(x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
    x = min(max(0.0, x), SIZE - 2)
    y = min(max(0.0, y), SIZE - 2)
    return x, y, max(1.0, min(w, SIZE - x)), max(1.0, min(h, SIZE - y))


# (misses, wrong class, clutter per image): a decent detector and a weak one.
MODELS = {"decent": (0.05, 0.03, 0.3), "weak": (0.10, 0.06, 0.4)}


def _world(rng: np.random.Generator, model: str = "decent"):
    """True objects per image, the model's predictions of them, and the human labels
    with errors injected into ERROR_SHARE of the images (one error each)."""
    miss, wrong_class, clutter = MODELS[model]
    truth, preds = [], []
    for _ in range(N_IMAGES):
        objs = []
        for _ in range(rng.integers(1, 6)):
            w, h = rng.uniform(20, 60, 2)
            x, y = rng.uniform(0, SIZE - w), rng.uniform(0, SIZE - h)
            objs.append((int(rng.integers(len(CLASSES))), (x, y, w, h)))
        truth.append(objs)
        p = []
        for c, (x, y, w, h) in objs:
            if rng.random() < miss:
                continue
            jit = rng.normal(0, 0.04, 4) * np.array([w, h, w, h])
            box = _clip_box(x + jit[0], y + jit[1], w + jit[2], h + jit[3])
            if rng.random() < wrong_class:
                wrong = (c + int(rng.integers(1, len(CLASSES)))) % len(CLASSES)
                p.append((wrong, box, float(rng.beta(4, 3))))
            else:
                p.append((c, box, float(rng.beta(8, 2))))
            if rng.random() < 0.3:  # a second, weaker class on the same box
                other = (c + int(rng.integers(1, len(CLASSES)))) % len(CLASSES)
                p.append((other, box, float(rng.beta(2, 6))))
        for _ in range(rng.poisson(clutter)):  # false positives, mostly low scores
            w, h = rng.uniform(15, 50, 2)
            p.append((int(rng.integers(len(CLASSES))), _clip_box(*rng.uniform(0, SIZE - 50, 2), w, h),
                      float(rng.beta(2, 5))))  # fmt: skip
        preds.append([q for q in p if q[2] >= 0.3])  # what a run at threshold 0.3 stores
    human = [list(o) for o in truth]
    candidates = [i for i, o in enumerate(truth) if o]
    errors: dict[int, str] = {}
    for i in rng.choice(candidates, int(N_IMAGES * ERROR_SHARE), replace=False):
        kind = ("swapped", "dropped", "shifted")[len(errors) % 3]
        j = int(rng.integers(len(human[i])))
        c, (x, y, w, h) = human[i][j]
        if kind == "swapped":
            human[i][j] = ((c + int(rng.integers(1, len(CLASSES)))) % len(CLASSES), (x, y, w, h))
        elif kind == "dropped":
            del human[i][j]
        else:
            f = rng.uniform(0.35, 0.6)
            dx, dy = rng.choice([-1, 1], 2) * np.array([w, h]) * f * rng.permutation([1.0, 0.4])
            human[i][j] = (c, _clip_box(x + dx, y + dy, w, h))
        errors[int(i)] = kind
    return human, preds, errors


def _recall(ranking: list[int], errors: dict[int, str], top: int) -> float:
    return len(set(ranking[:top]) & set(errors)) / len(errors)


@pytest.mark.parametrize(("model", "at_least"), [("decent", 0.55), ("weak", 0.45)])
def test_mistakenness_ranks_injected_errors_first(
    project, tmp_path: Path, model: str, at_least: float
) -> None:
    rng = np.random.default_rng(7)
    human, preds, errors = _world(rng, model)
    labels = [project.labels.add(Label(c)).id for c in CLASSES]
    rid = project.add_root(tmp_path)
    project.images.insert_many([
        Image(path=f"{i:05d}.jpg", root_id=rid, width=SIZE, height=SIZE, status=ImageStatus.DONE)
        for i in range(N_IMAGES)
    ])  # fmt: skip
    ids = project.images.ordered_ids()  # name order == generation order
    anns = [Annotation(ids[i], labels[c], Box(*b)) for i, objs in enumerate(human) for c, b in objs]
    project.annotations.insert_many(anns)
    repo = PredictionRepo(project)
    run = repo.create_run("sim", "simulated", "detection", None, {}, "cpu")
    for start in range(0, N_IMAGES, 250):
        batch = range(start, start + 250)
        rows = [(Prediction(run, ids[i], Box(*b), s, labels[c], CLASSES[c]), None)
                for i in batch for c, b, s in preds[i]]  # fmt: skip
        repo.write_batch(run, rows, [ScoreRow(ids[i]) for i in batch])
    summary = score_run(project, run)
    assert summary.scored == N_IMAGES

    top = int(N_IMAGES * ERROR_SHARE)
    err_ids = {ids[i]: k for i, k in errors.items()}
    ours = ScoreRepo(project).ranked(run, "mistakenness")
    scores = ScoreRepo(project).for_run(run)
    fo = sorted(scores, key=lambda i: (-scores[i].details["fiftyone"]["mistakenness"], i))
    r_ours, r_fo = _recall(ours, err_ids, top), _recall(fo, err_ids, top)
    by_kind = {
        k: len([i for i in ours[:top] if err_ids.get(i) == k])
        / sum(1 for v in errors.values() if v == k)
        for k in ("swapped", "dropped", "shifted")
    }
    print(f"\n{model} model: recall@top5%: lightable {r_ours:.2f} ({by_kind}), fiftyone formula {r_fo:.2f}; "
          f"recall@top10%: {_recall(ours, err_ids, 2 * top):.2f} vs {_recall(fo, err_ids, 2 * top):.2f}")  # fmt: skip
    assert r_ours >= at_least, r_ours
    assert r_ours >= r_fo + 0.15
    # The verdicts name the injected kinds of error.
    verdicts = {i: {o["verdict"] for o in scores[i].details["objects"]} for i in err_ids}
    for i, kind in err_ids.items():
        expect = {
            "swapped": "class_confusion",
            "dropped": "possibly_missing",
            "shifted": "poor_localisation",
        }[kind]
        if i in ours[:top]:
            assert expect in verdicts[i] or kind == "shifted", (kind, verdicts[i])
