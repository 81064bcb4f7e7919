"""Data-engine scores of a model run: model versus human labels, per object and per image.

Reads the run's stored predictions and the current annotations a chunk of
images at a time, matches them (``ml.matching``), scores each image
(``ml.mistakes``) and writes ``image_scores.mistakenness`` with the per-object
verdicts in ``details["objects"]``. Images without human labels get no
mistakenness (NULL): they belong to the uncertainty queue. An image whose
status is done/review counts as labeled even without annotations (a finished
image with a confident prediction on it has a possibly missing label). Re-run it after
labels change; it does not need the model.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from lightable.core.geometry import Geometry, GeometryKind, Keypoints, Mask, Polygon
from lightable.core.model import Annotation, Prediction
from lightable.jobs.base import JobState
from lightable.ml.matching import Obj
from lightable.ml.mistakes import (
    Calibration,
    CalibrationBuilder,
    MistakeParams,
    classification_verdict,
    fiftyone_mistakenness,
    score_image,
)
from lightable.store import schema
from lightable.store.annotations import row_to_annotation
from lightable.store.predictions import PredictionRepo
from lightable.store.scores import LABELED_STATUSES, ScoreRepo

if TYPE_CHECKING:
    from lightable.store.project import Project

_MASK_TASKS = ("instance_segmentation", "semantic_segmentation")


@dataclass(slots=True)
class ScoringSummary:
    run_id: int
    images: int  # images looked at
    scored: int  # images with human labels, given a mistakenness
    verdicts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_run(
    project: Project,
    run_id: int,
    state: JobState | None = None,
    image_ids: Sequence[int] | None = None,
    params: MistakeParams | None = None,
    chunk: int = 500,
) -> ScoringSummary:
    """Two passes over the run's images: the first calibrates the run's scores
    against the human labels (``ml.mistakes.Calibration``, saved in the run's
    params), the second scores and writes every image."""
    state = state or JobState()
    params = params or MistakeParams()
    t0 = time.perf_counter()
    preds_repo = PredictionRepo(project)
    scores = ScoreRepo(project)
    run = preds_repo.require_run(run_id)
    use_masks = run.task in _MASK_TASKS
    if image_ids is None:
        S = schema.image_scores
        with project.engine.connect() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    select(S.c.image_id, S.c.details)
                    .where(S.c.run_id == run_id)
                    .order_by(S.c.image_id)
                )
                if not (r[1] or {}).get("error")
            ]
    else:
        ids = list(image_ids)
    names = {lb.name.lower(): lb.id for lb in project.labels.all()}
    state.set_total(2 * len(ids))
    builder = CalibrationBuilder(params)
    for part, objs in _chunks(project, run_id, ids, chunk, names, use_masks, preds_repo):
        state.check()
        for image in objs.values():
            if image.labeled and (image.gts or image.preds):
                builder.add(image.gts, image.preds)
        state.advance(len(part))
    cal = builder.build()
    preds_repo.update_run(run_id, params={**run.params, "calibration": cal.to_dict()})
    summary = ScoringSummary(run_id, 0, 0)
    for part, objs in _chunks(project, run_id, ids, chunk, names, use_masks, preds_repo):
        state.check()
        rows: list[tuple[int, float | None, dict[str, Any]]] = []
        for image_id in part:
            m, details = _score_one(objs[image_id], params, cal)
            rows.append((image_id, m, details))
            summary.images += 1
            if m is not None:
                summary.scored += 1
                for k, v in details.get("counts", {}).items():
                    summary.verdicts[k] = summary.verdicts.get(k, 0) + v
        scores.set_mistakenness(run_id, rows)
        state.advance(len(part))
    summary.seconds = round(time.perf_counter() - t0, 3)
    return summary


@dataclass(slots=True)
class _ImageObjects:
    labeled: bool
    gts: list[Obj]
    preds: list[Obj]
    tag_human: list[str]
    tag_preds: list[tuple[str, float]]
    tag_annotation_id: int | None


def _chunks(
    project: Project,
    run_id: int,
    ids: list[int],
    chunk: int,
    names: dict[str, int | None],
    use_masks: bool,
    preds_repo: PredictionRepo,
) -> Iterator[tuple[list[int], dict[int, _ImageObjects]]]:
    for i in range(0, len(ids), chunk):
        part = ids[i : i + chunk]
        preds = preds_repo.for_images(run_id, part)
        anns = _annotations(project, part)
        images = project.images.get_many(part)
        out: dict[int, _ImageObjects] = {}
        for image_id in part:
            im = images.get(image_id)
            size = (im.height, im.width) if im is not None else None
            finished = im is not None and str(im.status) in LABELED_STATUSES
            a = anns.get(image_id, [])
            p = preds.get(image_id, [])
            tag_a = [x for x in a if x.geometry.kind == GeometryKind.TAG]
            tag_p = [x for x in p if x.geometry.kind == GeometryKind.TAG]
            out[image_id] = _ImageObjects(
                labeled=bool(a) or finished,
                gts=[
                    _ann_obj(x, size, use_masks) for x in a if x.geometry.kind != GeometryKind.TAG
                ],
                preds=[
                    _pred_obj(x, names, use_masks) for x in p if x.geometry.kind != GeometryKind.TAG
                ],
                tag_human=[_key_of_label(x.label_id) for x in tag_a],
                tag_preds=sorted(
                    ((_pred_key(x, names), x.score) for x in tag_p), key=lambda t: -t[1]
                ),
                tag_annotation_id=tag_a[0].id if tag_a else None,
            )
        yield part, out


def _annotations(project: Project, ids: Sequence[int]) -> dict[int, list[Annotation]]:
    t = schema.annotations
    out: dict[int, list[Annotation]] = {}
    with project.engine.connect() as conn:
        for i in range(0, len(ids), 900):
            for r in conn.execute(
                select(t).where(t.c.image_id.in_(list(ids[i : i + 900])), t.c.hidden.is_(False))
            ):
                out.setdefault(r.image_id, []).append(row_to_annotation(r))
    return out


def _key_of_label(label_id: int | None) -> str:
    return f"L{label_id}"


def _pred_key(p: Prediction, names: dict[str, int | None]) -> str:
    if p.label_id is not None:
        return _key_of_label(p.label_id)
    lid = names.get(p.class_name.lower())
    return _key_of_label(lid) if lid is not None else f"C{p.class_name}"


def _xyxy(b: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x, y, w, h = b
    return (x, y, x + w, y + h)


def _ann_obj(a: Annotation, size: tuple[int, int] | None, use_masks: bool) -> Obj:
    g: Geometry = a.geometry
    mask: Mask | None = None
    if use_masks:
        if isinstance(g, Mask):
            mask = g
        elif isinstance(g, Polygon) and size and size[0] > 0 and size[1] > 0:
            from lightable.imaging.masks import from_polygon

            mask = from_polygon(g, size[0], size[1])
    bbox = mask.bbox() if mask is not None and mask._bbox is not None else g.bbox()
    return Obj(a.id, _key_of_label(a.label_id), _xyxy(bbox), 1.0, mask)


def _pred_obj(p: Prediction, names: dict[str, int | None], use_masks: bool) -> Obj:
    g = p.geometry
    box = p.attributes.get("box") if isinstance(p.attributes, dict) else None
    if isinstance(g, Keypoints) or box is None:
        bbox = g.bbox()
    else:
        bbox = tuple(float(v) for v in box)  # type: ignore[assignment]
    mask = g if use_masks and isinstance(g, Mask) else None
    return Obj(p.id, _pred_key(p, names), _xyxy(bbox), float(p.score), mask)  # type: ignore[arg-type]


def _score_one(
    image: _ImageObjects, params: MistakeParams, cal: Calibration
) -> tuple[float | None, dict[str, Any]]:
    if not image.labeled:
        return None, {"objects": [], "counts": {}, "labeled": False}
    objects: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    keep = 1.0
    details: dict[str, Any] = {"labeled": True}
    if image.tag_human and image.tag_preds:
        v = classification_verdict(image.tag_human, image.tag_preds)
        for o in v.objects:
            o["annotation_id"] = image.tag_annotation_id
        objects += v.objects
        _add(counts, v.counts)
        keep *= 1.0 - v.mistakenness
    if image.gts or image.preds:
        v = score_image(image.gts, image.preds, params, cal)
        objects += v.objects
        _add(counts, v.counts)
        keep *= 1.0 - v.mistakenness
    details["fiftyone"] = fiftyone_mistakenness(image.gts, image.preds)
    details.update({"objects": objects, "counts": counts})
    return float(1.0 - keep), details


def _add(into: dict[str, int], more: dict[str, int]) -> None:
    for k, v in more.items():
        into[k] = into.get(k, 0) + v
