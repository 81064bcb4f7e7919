"""Shared helpers for the editing tests (store, e2e, bench): a small project and snapshots."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import select

from lightable.core.geometry import Box, Keypoints, Polygon, Tag
from lightable.core.model import Annotation, Image, Label, Source
from lightable.store import schema
from lightable.store.project import Project

# Columns that legitimately differ after undo: timestamps, and version, which only goes up.
VOLATILE = {"created_at", "updated_at", "added_at", "version"}


def make_world(
    project: Project,
    n_images: int = 3,
    size: tuple[int, int] = (640, 480),
    imported: bool = False,
) -> dict:
    """Images img0..imgN-1 (no files needed) and labels cat, dog, car.

    ``imported`` adds annotations of every kind to each image, written outside any
    history (as an import would): undoing everything must leave them exactly as they were.
    """
    root = project.add_root(project.folder or ".")
    w, h = size
    project.images.insert_many(
        [Image(path=f"img{i}.jpg", root_id=root, width=w, height=h) for i in range(n_images)]
    )
    labels = [project.labels.add(Label(name=n)) for n in ("cat", "dog", "car")]
    ids = project.images.ordered_ids()
    if imported:
        from lightable.imaging import masks

        m = np.zeros((h, w), np.uint8)
        m[h // 4 : h // 2, w // 4 : w // 2] = 1
        geoms = [
            Box(1.5, 2.25, w / 3, h / 3),
            Polygon.from_points([(0.1, 0.2), (w / 2, 1.0), (w / 3, h / 2)]),
            Keypoints(((3.0, 4.0, 2), (5.5, 6.5, 1), (0.0, 0.0, 0))),
            masks.encode(m),
            Tag(),
        ]
        anns = [
            Annotation(i, labels[k % 3].id, g, attributes={"k": k}, source=Source.IMPORT, z=k % 2)
            for i in ids
            for k, g in enumerate(geoms)
        ]
        project.annotations.insert_many(anns)  # type: ignore[arg-type]
    return {"images": ids, "labels": [lb.id for lb in labels]}


def snapshot(
    project: Project, tables: tuple[str, ...] = ("annotations", "labels", "images")
) -> dict:
    """Every row of the editable tables, minus volatile columns, keyed by table and id."""
    out: dict[str, Any] = {}
    with project.engine.connect() as conn:
        for name in tables:
            t = schema.metadata.tables[name]
            rows = conn.execute(select(t).order_by(t.c.id)).mappings().all()
            out[name] = {r["id"]: {k: v for k, v in r.items() if k not in VOLATILE} for r in rows}
    return out


def versions(project: Project) -> dict[int, int]:
    t = schema.annotations
    with project.engine.connect() as conn:
        return {r.id: r.version for r in conn.execute(select(t.c.id, t.c.version))}
