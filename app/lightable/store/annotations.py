"""Annotation rows: each interactive edit is one short transaction plus an event."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from lightable.core.geometry import geometry_from_dict
from lightable.core.model import Annotation, Source
from lightable.store import schema

if TYPE_CHECKING:
    from lightable.store.project import Project

T = schema.annotations


def row_to_annotation(r: Any) -> Annotation:
    return Annotation(
        id=r.id,
        image_id=r.image_id,
        label_id=r.label_id,
        geometry=geometry_from_dict(r.geometry, trusted=True),
        attributes=dict(r.attributes or {}),
        source=Source(r.source),
        author_id=r.author_id,
        prediction_id=r.prediction_id,
        z=r.z,
        hidden=bool(r.hidden),
        locked=bool(r.locked),
        version=r.version,
    )


def annotation_row(a: Annotation) -> dict[str, Any]:
    x, y, w, h = a.geometry.bbox()
    row: dict[str, Any] = {
        "image_id": a.image_id,
        "label_id": a.label_id,
        "kind": str(a.geometry.kind),
        "geometry": a.geometry.to_dict(),
        "x": x,
        "y": y,
        "w": w,
        "h": h,
        "area": a.geometry.area(),
        "attributes": a.attributes,
        "source": str(a.source),
        "author_id": a.author_id,
        "prediction_id": a.prediction_id,
        "z": a.z,
        "hidden": a.hidden,
        "locked": a.locked,
        "version": a.version,
    }
    if a.id is not None:
        row["id"] = a.id
    return row


class AnnotationRepo:
    def __init__(self, project: Project) -> None:
        self.p = project

    def for_image(self, image_id: int) -> list[Annotation]:
        with self.p.engine.connect() as conn:
            rows = conn.execute(select(T).where(T.c.image_id == image_id).order_by(T.c.z, T.c.id))
            return [row_to_annotation(r) for r in rows]

    def get(self, ann_id: int) -> Annotation | None:
        with self.p.engine.connect() as conn:
            r = conn.execute(select(T).where(T.c.id == ann_id)).first()
        return row_to_annotation(r) if r else None

    def count(self) -> int:
        with self.p.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(T)).scalar())

    def insert_many(self, anns: Sequence[Annotation], conn: Any = None) -> None:
        """Bulk insert (imports, demo); ids are assigned back onto the objects."""
        if conn is None:
            with self.p.engine.begin() as c:
                self.insert_many(anns, c)
            return
        rows = [annotation_row(a) for a in anns]
        # Rows that already carry an id (undo, copies) keep it; the rest get theirs
        # back in order from one executemany with RETURNING.
        fresh = [(a, r) for a, r in zip(anns, rows, strict=True) if "id" not in r]
        kept = [r for r in rows if "id" in r]
        if kept:
            conn.execute(T.insert(), kept)
        if fresh:
            res = conn.execute(
                T.insert().returning(T.c.id, sort_by_parameter_order=True), [r for _, r in fresh]
            )
            for (a, _), new_id in zip(fresh, res.scalars().all(), strict=True):
                a.id = int(new_id)

    def add(self, a: Annotation, conn: Any = None) -> Annotation:
        """Insert one annotation (keeping ``a.id`` if set, so undo restores the same row)."""
        if conn is None:
            with self.p.engine.begin() as c:
                return self.add(a, c)
        a.id = int(conn.execute(T.insert().values(**annotation_row(a))).inserted_primary_key[0])
        return a

    def replace(self, a: Annotation, conn: Any = None) -> None:
        """Write every field of ``a`` over its row."""
        if conn is None:
            with self.p.engine.begin() as c:
                self.replace(a, c)
            return
        row = annotation_row(a)
        row.pop("id", None)
        row["updated_at"] = func.now()
        conn.execute(T.update().where(T.c.id == a.id).values(**row))

    def delete(self, ann_id: int, conn: Any = None) -> None:
        if conn is None:
            with self.p.engine.begin() as c:
                self.delete(ann_id, c)
            return
        conn.execute(T.delete().where(T.c.id == ann_id))
