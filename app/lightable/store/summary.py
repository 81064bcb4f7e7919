"""Project-wide counts: SQL aggregates over indexed columns, never a Python scan."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from lightable.store import schema

if TYPE_CHECKING:
    from lightable.store.project import Project


def project_info(p: Project) -> dict[str, Any]:
    im, an, lb, es = schema.images, schema.annotations, schema.labels, schema.escalations
    with p.engine.connect() as conn:
        by_status = dict(
            conn.execute(
                select(im.c.status, func.count())
                .where(im.c.missing.is_(False))
                .group_by(im.c.status)
            ).all()
        )
        missing = conn.execute(select(func.count()).where(im.c.missing.is_(True))).scalar()
        by_kind = dict(conn.execute(select(an.c.kind, func.count()).group_by(an.c.kind)).all())
        n_labels = conn.execute(select(func.count()).select_from(lb)).scalar()
        esc = dict(conn.execute(select(es.c.status, func.count()).group_by(es.c.status)).all())
        runs = conn.execute(select(func.count()).select_from(schema.model_runs)).scalar()
        preds = conn.execute(select(func.count()).select_from(schema.predictions)).scalar()
    n_images = sum(by_status.values())
    return {
        "name": p.name,
        "url": p.url,
        "images": {
            "total": n_images,
            "readable": n_images - by_status.get("broken", 0),
            "broken": by_status.get("broken", 0),
            "missing": int(missing or 0),
            "by_status": {k: int(v) for k, v in sorted(by_status.items())},
        },
        "annotations": {
            "total": int(sum(by_kind.values())),
            "by_kind": {k: int(v) for k, v in sorted(by_kind.items())},
        },
        "labels": int(n_labels or 0),
        "escalations": {
            "total": int(sum(esc.values())),
            "by_status": {k: int(v) for k, v in sorted(esc.items())},
        },
        "model_runs": int(runs or 0),
        "predictions": int(preds or 0),
    }
