"""The dashboard's numbers: SQL aggregates over indexed columns.

Every figure carries what a chart needs to click through to the exact images
(label ids, statuses, splits), so the UI can turn a bar into an ImageQuery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select

from lightable.store import schema

if TYPE_CHECKING:
    from lightable.store.project import Project

# Object size buckets in COCO's sense (area in pixels).
SIZE_BUCKETS = (("small", 0.0, 32.0**2), ("medium", 32.0**2, 96.0**2), ("large", 96.0**2, None))


def project_stats(p: Project) -> dict[str, Any]:
    a, lb, im = schema.annotations, schema.labels, schema.images
    live = im.c.missing.is_(False)
    with p.engine.connect() as conn:
        per_label = conn.execute(
            select(
                lb.c.id,
                lb.c.name,
                lb.c.color,
                func.count(a.c.id),
                func.count(func.distinct(a.c.image_id)),
            )
            .select_from(lb.outerjoin(a, a.c.label_id == lb.c.id))
            .group_by(lb.c.id, lb.c.name, lb.c.color)
            .order_by(func.count(a.c.id).desc(), lb.c.name)
        ).all()
        per_label_kind = conn.execute(
            select(a.c.label_id, a.c.kind, func.count()).group_by(a.c.label_id, a.c.kind)
        ).all()
        by_status = conn.execute(
            select(im.c.status, func.count()).where(live).group_by(im.c.status)
        ).all()
        by_split = conn.execute(
            select(func.coalesce(im.c.split, ""), func.count()).where(live).group_by(im.c.split)
        ).all()
        per_image = (
            select(im.c.id.label("image_id"), func.count(a.c.id).label("n"))
            .select_from(im.outerjoin(a, a.c.image_id == im.c.id))
            .where(live, im.c.status != "broken")
            .group_by(im.c.id)
            .subquery()
        )
        bucket = case(
            (per_image.c.n == 0, "0"),
            (per_image.c.n <= 2, "1-2"),
            (per_image.c.n <= 5, "3-5"),
            (per_image.c.n <= 10, "6-10"),
            (per_image.c.n <= 20, "11-20"),
            else_="21+",
        )
        density = dict(conn.execute(select(bucket, func.count()).group_by(bucket)).all())
        size_case = case(
            (a.c.area < SIZE_BUCKETS[0][2], "small"),
            (a.c.area < SIZE_BUCKETS[1][2], "medium"),
            else_="large",
        )
        sizes = conn.execute(
            select(a.c.label_id, size_case, func.count())
            .where(a.c.kind.in_(["box", "polygon", "mask"]))
            .group_by(a.c.label_id, size_case)
        ).all()
        sources = dict(conn.execute(select(a.c.source, func.count()).group_by(a.c.source)).all())
    kinds: dict[int, dict[str, int]] = {}
    for label_id, kind, n in per_label_kind:
        kinds.setdefault(label_id, {})[kind] = int(n)
    size_by_label: dict[int, dict[str, int]] = {}
    for label_id, b, n in sizes:
        size_by_label.setdefault(label_id, {})[b] = int(n)
    order = ["0", "1-2", "3-5", "6-10", "11-20", "21+"]
    return {
        "labels": [
            {
                "label_id": r[0],
                "name": r[1],
                "color": r[2],
                "annotations": int(r[3]),
                "images": int(r[4]),
                "by_kind": kinds.get(r[0], {}),
                "by_size": size_by_label.get(r[0], {}),
            }
            for r in per_label
        ],
        "images_by_status": {k: int(v) for k, v in sorted(by_status)},
        "images_by_split": {k or "(none)": int(v) for k, v in sorted(by_split)},
        "annotations_per_image": {k: int(density.get(k, 0)) for k in order},
        "annotations_by_source": {k: int(v) for k, v in sorted(sources.items())},
    }
