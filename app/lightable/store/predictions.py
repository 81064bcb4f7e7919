"""Model runs and their predictions.

A run writes in batches: one transaction per batch holds the batch's
predictions, one ``image_scores`` row per processed image (its uncertainty, and
the run's "done" marker for that image, so a resumed run skips it even when it
produced no prediction) and the run's progress counter. Killing the process
loses at most the batch in flight.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update

from lightable.core.errors import LightableError
from lightable.core.geometry import geometry_from_dict
from lightable.core.model import Prediction
from lightable.store import schema

if TYPE_CHECKING:
    from lightable.store.project import Project

P = schema.predictions
R = schema.model_runs
S = schema.image_scores

RUN_STATUSES = ("running", "done", "cancelled", "failed")


@dataclass(slots=True)
class ModelRun:
    id: int
    name: str
    model: str
    task: str
    weights_sha256: str | None
    params: dict[str, Any]
    device: str | None
    status: str
    images_done: int
    timings: dict[str, Any]
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(slots=True)
class ScoreRow:
    """An ``image_scores`` row as the job writes it."""

    image_id: int
    uncertainty: float | None = None
    mistakenness: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _row_to_run(r: Any) -> ModelRun:
    return ModelRun(
        id=r.id,
        name=r.name,
        model=r.model,
        task=r.task,
        weights_sha256=r.weights_sha256,
        params=dict(r.params or {}),
        device=r.device,
        status=r.status,
        images_done=r.images_done,
        timings=dict(r.timings or {}),
        started_at=r.started_at,
        finished_at=r.finished_at,
    )


def row_to_prediction(r: Any) -> Prediction:
    return Prediction(
        id=r.id,
        run_id=r.run_id,
        image_id=r.image_id,
        label_id=r.label_id,
        class_name=r.class_name,
        geometry=geometry_from_dict(r.geometry),
        score=float(r.score),
        attributes=dict(r.attributes or {}),
    )


def prediction_row(
    p: Prediction, box: tuple[float, float, float, float] | None = None
) -> dict[str, Any]:
    x, y, w, h = box if box is not None else p.geometry.bbox()
    return {
        "run_id": p.run_id,
        "image_id": p.image_id,
        "label_id": p.label_id,
        "class_name": p.class_name,
        "kind": str(p.geometry.kind),
        "geometry": p.geometry.to_dict(),
        "score": float(p.score),
        "attributes": p.attributes,
        "x": x,
        "y": y,
        "w": w,
        "h": h,
    }


class PredictionRepo:
    def __init__(self, project: Project) -> None:
        self.p = project

    # -- runs ------------------------------------------------------------------
    def create_run(
        self,
        name: str,
        model: str,
        task: str,
        weights_sha256: str | None,
        params: dict[str, Any],
        device: str | None,
    ) -> int:
        with self.p.engine.begin() as conn:
            rid = conn.execute(
                R.insert().values(
                    name=name[:200],
                    model=model[:500],
                    task=task,
                    weights_sha256=weights_sha256,
                    params=params,
                    device=device,
                    status="running",
                    images_done=0,
                    timings={},
                )
            ).inserted_primary_key[0]
        self._notify_runs(int(rid))
        return int(rid)

    def get_run(self, run_id: int) -> ModelRun | None:
        with self.p.engine.connect() as conn:
            r = conn.execute(select(R).where(R.c.id == run_id)).first()
        return _row_to_run(r) if r else None

    def require_run(self, run_id: int) -> ModelRun:
        run = self.get_run(run_id)
        if run is None:
            raise LightableError(f"model run {run_id} does not exist")
        return run

    def runs(self) -> list[ModelRun]:
        with self.p.engine.connect() as conn:
            return [_row_to_run(r) for r in conn.execute(select(R).order_by(R.c.id.desc()))]

    def update_run(self, run_id: int, **values: Any) -> None:
        allowed = {"status", "timings", "device", "params", "images_done", "finished_at", "name"}
        bad = set(values) - allowed
        if bad:
            raise ValueError(f"update_run: unknown fields {bad}")
        if values.get("status") in ("done", "cancelled", "failed") and "finished_at" not in values:
            values["finished_at"] = func.now()
        with self.p.engine.begin() as conn:
            conn.execute(update(R).where(R.c.id == run_id).values(**values))
        self._notify_runs(run_id)

    def delete_run(self, run_id: int) -> None:
        with self.p.engine.begin() as conn:
            # Explicit deletes: SQLite honours ON DELETE CASCADE only with foreign keys on.
            conn.execute(delete(S).where(S.c.run_id == run_id))
            conn.execute(delete(P).where(P.c.run_id == run_id))
            conn.execute(delete(R).where(R.c.id == run_id))
        self._notify_runs(run_id)

    # -- batch writes ----------------------------------------------------------
    def write_batch(
        self,
        run_id: int,
        predictions: Sequence[tuple[Prediction, tuple[float, float, float, float] | None]],
        scores: Sequence[ScoreRow],
    ) -> None:
        """One transaction: the predictions, the images' score rows (done markers), progress."""
        pred_rows = [prediction_row(p, box) for p, box in predictions]
        score_rows = [
            {
                "run_id": run_id,
                "image_id": s.image_id,
                "uncertainty": s.uncertainty,
                "mistakenness": s.mistakenness,
                "details": s.details,
            }
            for s in scores
        ]
        with self.p.engine.begin() as conn:
            if pred_rows:
                conn.execute(P.insert(), pred_rows)
            if score_rows:
                ids = [s["image_id"] for s in score_rows]
                # A retried batch replaces what an interrupted attempt left.
                conn.execute(delete(S).where(S.c.run_id == run_id, S.c.image_id.in_(ids)))
                conn.execute(S.insert(), score_rows)
            conn.execute(
                update(R)
                .where(R.c.id == run_id)
                .values(images_done=R.c.images_done + len(score_rows))
            )
        if score_rows:
            from lightable.store.project import Change

            self.p.notify(
                Change(
                    "predictions.added",
                    tuple(s["image_id"] for s in score_rows),
                    {"run_id": run_id, "count": len(pred_rows)},
                )
            )

    def done_image_ids(self, run_id: int) -> set[int]:
        """Images the run has finished (a score row is written with each image's batch)."""
        with self.p.engine.connect() as conn:
            return {r[0] for r in conn.execute(select(S.c.image_id).where(S.c.run_id == run_id))}

    def clear_images(self, run_id: int, image_ids: Iterable[int]) -> None:
        """Forget partial results for these images (before they are predicted again)."""
        ids = list(image_ids)
        with self.p.engine.begin() as conn:
            for i in range(0, len(ids), 900):
                chunk = ids[i : i + 900]
                conn.execute(delete(P).where(P.c.run_id == run_id, P.c.image_id.in_(chunk)))

    # -- reading ---------------------------------------------------------------
    def for_image(
        self, image_id: int, run_id: int | None = None, min_score: float = 0.0
    ) -> list[Prediction]:
        """Predictions of one image, best first (the canvas's proposals)."""
        q = select(P).where(P.c.image_id == image_id, P.c.score >= min_score)
        if run_id is not None:
            q = q.where(P.c.run_id == run_id)
        with self.p.engine.connect() as conn:
            rows = conn.execute(q.order_by(P.c.score.desc(), P.c.id))
            return [row_to_prediction(r) for r in rows]

    def for_images(
        self, run_id: int, image_ids: Sequence[int], min_score: float = 0.0
    ) -> dict[int, list[Prediction]]:
        out: dict[int, list[Prediction]] = {i: [] for i in image_ids}
        ids = list(image_ids)
        with self.p.engine.connect() as conn:
            for i in range(0, len(ids), 900):
                rows = conn.execute(
                    select(P)
                    .where(
                        P.c.run_id == run_id,
                        P.c.image_id.in_(ids[i : i + 900]),
                        P.c.score >= min_score,
                    )
                    .order_by(P.c.image_id, P.c.score.desc(), P.c.id)
                )
                for r in rows:
                    out[r.image_id].append(row_to_prediction(r))
        return out

    def get(self, prediction_id: int) -> Prediction | None:
        with self.p.engine.connect() as conn:
            r = conn.execute(select(P).where(P.c.id == prediction_id)).first()
        return row_to_prediction(r) if r else None

    def count(self, run_id: int | None = None) -> int:
        q = select(func.count()).select_from(P)
        if run_id is not None:
            q = q.where(P.c.run_id == run_id)
        with self.p.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0)

    def image_ids_with_predictions(self, run_id: int) -> list[int]:
        with self.p.engine.connect() as conn:
            rows = conn.execute(
                select(P.c.image_id).where(P.c.run_id == run_id).distinct().order_by(P.c.image_id)
            )
            return [r[0] for r in rows]

    def _notify_runs(self, run_id: int) -> None:
        from lightable.store.project import Change

        self.p.notify(Change("model_runs.changed", (), {"run_id": run_id}))
