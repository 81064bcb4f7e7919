"""Data-engine scores per image and run: writes, and the queues the browser and
the canvas follow (most uncertain unlabeled images first, most likely mistakes
first).

Rows come from two writers: the pre-label job writes ``uncertainty`` (it needs
the raw model output) and the scoring job writes ``mistakenness`` and the
per-object verdicts in ``details["objects"]`` (it needs the human labels,
which change, so it re-runs without the model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import ColumnElement, and_, exists, or_, select, update

from lightable.store import schema

if TYPE_CHECKING:
    from lightable.store.project import Project

S = schema.image_scores
I = schema.images  # noqa: E741
A = schema.annotations

ScoreKey = Literal["uncertainty", "mistakenness"]


@dataclass(frozen=True, slots=True)
class ImageScore:
    run_id: int
    image_id: int
    uncertainty: float | None
    mistakenness: float | None
    details: dict[str, Any]


# An image whose status says a person finished it counts as labeled even with no
# annotation ("nothing to label here" is a label).
LABELED_STATUSES = ("done", "review")


def has_labels(image_id_col: Any = None) -> ColumnElement[bool]:
    """SQL: the image is labeled: it has an annotation, or its status is done/review.

    Used in queries joined to ``images``.
    """
    col = image_id_col if image_id_col is not None else I.c.id
    return or_(exists(select(A.c.id).where(A.c.image_id == col)), I.c.status.in_(LABELED_STATUSES))


def score_column(run_id: int, key: ScoreKey) -> Any:
    """A correlated scalar subquery giving the image's score in ``run_id``, for
    ``ImageQuery`` sorting/filtering (NULL where the run has no score)."""
    col = S.c.uncertainty if key == "uncertainty" else S.c.mistakenness
    return select(col).where(S.c.run_id == run_id, S.c.image_id == I.c.id).scalar_subquery()


class ScoreRepo:
    def __init__(self, project: Project) -> None:
        self.p = project

    # -- writing ----------------------------------------------------------------
    def set_mistakenness(
        self, run_id: int, rows: Sequence[tuple[int, float | None, dict[str, Any]]]
    ) -> None:
        """(image_id, mistakenness, details to merge) in one transaction; inserts missing rows.

        Keys of the existing details that the scorer does not write (the
        uncertainty's) are kept.
        """
        if not rows:
            return
        ids = [r[0] for r in rows]
        with self.p.engine.begin() as conn:
            existing: dict[int, dict[str, Any]] = {}
            for i in range(0, len(ids), 900):
                for r in conn.execute(
                    select(S.c.image_id, S.c.details).where(
                        S.c.run_id == run_id, S.c.image_id.in_(ids[i : i + 900])
                    )
                ):
                    existing[r.image_id] = dict(r.details or {})
            for image_id, m, det in rows:
                if image_id in existing:
                    merged = {**existing[image_id], **det}
                    conn.execute(
                        update(S)
                        .where(S.c.run_id == run_id, S.c.image_id == image_id)
                        .values(mistakenness=m, details=merged)
                    )
                else:
                    conn.execute(
                        S.insert().values(
                            run_id=run_id, image_id=image_id, mistakenness=m, details=det
                        )
                    )
        from lightable.store.project import Change

        self.p.notify(Change("scores.changed", tuple(ids), {"run_id": run_id}))

    # -- reading ------------------------------------------------------------------
    def get(self, run_id: int, image_id: int) -> ImageScore | None:
        with self.p.engine.connect() as conn:
            r = conn.execute(
                select(S).where(S.c.run_id == run_id, S.c.image_id == image_id)
            ).first()
        return _row(r) if r else None

    def for_run(self, run_id: int) -> dict[int, ImageScore]:
        with self.p.engine.connect() as conn:
            return {
                r.image_id: _row(r) for r in conn.execute(select(S).where(S.c.run_id == run_id))
            }

    def ranked(
        self,
        run_id: int,
        key: ScoreKey = "uncertainty",
        unlabeled_first: bool | None = None,
        unlabeled_only: bool = False,
        limit: int | None = None,
    ) -> list[int]:
        """Image ids of the run, highest score first (ties: lowest id first).

        ``uncertainty`` puts unlabeled images first by default (label what the
        model is unsure about and nobody has labeled yet); ``mistakenness`` lists
        only images that have a score (scored images have human labels).
        Missing and broken images are left out.
        """
        col = S.c.uncertainty if key == "uncertainty" else S.c.mistakenness
        if unlabeled_first is None:
            unlabeled_first = key == "uncertainty"
        labeled = has_labels(S.c.image_id)
        conds: list[Any] = [
            S.c.run_id == run_id,
            col.is_not(None),
            I.c.missing.is_(False),
            I.c.status != "broken",
        ]
        if unlabeled_only:
            conds.append(~labeled)
        order: list[Any] = []
        if unlabeled_first and not unlabeled_only:
            order.append(labeled.asc())  # False (unlabeled) sorts first
        order += [col.desc(), S.c.image_id.asc()]
        q = select(S.c.image_id).join(I, I.c.id == S.c.image_id).where(*conds).order_by(*order)
        if limit is not None:
            q = q.limit(limit)
        with self.p.engine.connect() as conn:
            return [r[0] for r in conn.execute(q)]

    def next_in_queue(
        self,
        run_id: int,
        current_image_id: int | None,
        key: ScoreKey = "uncertainty",
        unlabeled_only: bool | None = None,
        min_score: float | None = None,
    ) -> int | None:
        """The image after ``current_image_id`` in the queue (score desc, id asc).

        One indexed query. The uncertainty queue skips labeled images by default,
        so labeling an image takes it out of the queue; the current image's own
        score is the keyset, so skipping an image without labeling it moves on.
        """
        col = S.c.uncertainty if key == "uncertainty" else S.c.mistakenness
        if unlabeled_only is None:
            unlabeled_only = key == "uncertainty"
        conds: list[Any] = [
            S.c.run_id == run_id,
            col.is_not(None),
            I.c.missing.is_(False),
            I.c.status != "broken",
        ]
        if unlabeled_only:
            conds.append(~has_labels(S.c.image_id))  # the query joins images
        if min_score is not None:
            conds.append(col >= min_score)
        if current_image_id is not None:
            with self.p.engine.connect() as conn:
                cur = conn.execute(
                    select(col).where(S.c.run_id == run_id, S.c.image_id == current_image_id)
                ).scalar()
            if cur is not None:
                conds.append(or_(col < cur, and_(col == cur, S.c.image_id > current_image_id)))
            else:
                conds.append(S.c.image_id != current_image_id)
        q = (
            select(S.c.image_id)
            .join(I, I.c.id == S.c.image_id)
            .where(*conds)
            .order_by(col.desc(), S.c.image_id.asc())
            .limit(1)
        )
        with self.p.engine.connect() as conn:
            r = conn.execute(q).first()
        return int(r[0]) if r else None

    def objects(self, run_id: int, image_id: int) -> list[dict[str, Any]]:
        """Per-object verdicts of the scoring job for one image."""
        s = self.get(run_id, image_id)
        return list((s.details or {}).get("objects", [])) if s else []


def _row(r: Any) -> ImageScore:
    return ImageScore(r.run_id, r.image_id, r.uncertainty, r.mistakenness, dict(r.details or {}))
