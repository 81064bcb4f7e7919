"""Database rows for bulk imports, built and inserted without per-row ORM work.

A million-annotation import spends its time here, so boxes and polygons take a
fast path that computes exactly what ``store.annotations.annotation_row`` would
(bbox, area, geometry JSON) with C-level builtins; every other geometry goes
through ``annotation_row`` itself. Rows are inserted with the driver's
``executemany`` and pre-serialised JSON, skipping SQLAlchemy's per-value
processing (the values are the same text SQLAlchemy's JSON type would store).
"""

from __future__ import annotations

import contextlib
import gc
import json
import operator
from collections.abc import Iterator
from itertools import chain
from typing import Any

from lightable.core.geometry import Box, Geometry, Polygon
from lightable.core.model import Annotation, Source
from lightable.store.annotations import annotation_row

_dumps = json.JSONEncoder(ensure_ascii=True, separators=(", ", ": ")).encode
_mul = operator.mul

ANNOTATION_COLUMNS = (
    "image_id", "label_id", "kind", "geometry", "x", "y", "w", "h", "area",
    "attributes", "source", "z", "hidden", "locked", "version",
)  # fmt: skip
PREDICTION_COLUMNS = (
    "run_id", "image_id", "label_id", "class_name", "kind", "geometry", "score",
    "attributes", "x", "y", "w", "h",
)  # fmt: skip


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: building millions of containers otherwise
    triggers collections that rescan the whole growing heap (a quarter of a big import)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def ring_area(r: tuple[float, ...] | list[float]) -> float:
    """Shoelace area of one flat ring (as ``Polygon.area`` computes it, in C-level loops)."""
    xs, ys = r[0::2], r[1::2]
    xs1 = xs[1:] + xs[:1]
    ys1 = ys[1:] + ys[:1]
    return abs(sum(map(_mul, xs, ys1)) - sum(map(_mul, xs1, ys))) / 2.0


def polygon_area(p: Polygon) -> float:
    return sum(ring_area(r) for r in p.rings)


def polygon_bbox(p: Polygon) -> tuple[float, float, float, float]:
    if len(p.rings) == 1:
        r = p.rings[0]
        xs, ys = r[0::2], r[1::2]
        x0, y0 = min(xs), min(ys)
        return (x0, y0, max(xs) - x0, max(ys) - y0)
    return p.bbox()


def geometry_json(g: Geometry) -> tuple[str, tuple[float, float, float, float], float]:
    """(geometry JSON, bbox, area) of a geometry, fast for boxes and polygons."""
    if isinstance(g, Polygon):
        raw = getattr(g, "rings_json", None)
        if raw is not None:
            return '{"type": "polygon", "rings": ' + raw + "}", polygon_bbox(g), polygon_area(g)
        rings = g.rings
        body = _dumps(rings[0]) if len(rings) == 1 else None
        js = (
            '{"type": "polygon", "rings": [' + body + "]}"
            if body is not None
            else _dumps(g.to_dict())
        )
        return js, polygon_bbox(g), polygon_area(g)
    if type(g) is Box:
        return (
            '{"type": "box", "xywh": ' + _dumps([g.x, g.y, g.w, g.h]) + "}",
            (g.x, g.y, g.w, g.h),
            g.w * g.h,
        )
    return _dumps(g.to_dict()), g.bbox(), g.area()


def annotation_tuple(
    image_id: int, label_id: int, g: Geometry, attrs: dict[str, Any], source: str
) -> tuple[Any, ...]:
    """A row in ``ANNOTATION_COLUMNS`` order."""
    if isinstance(g, Polygon | Box):
        js, (x, y, w, h), area = geometry_json(g)
        return (
            image_id, label_id, str(g.kind), js, x, y, w, h, area,
            _dumps(attrs) if attrs else "{}", source, 0, False, False, 1,
        )  # fmt: skip
    row = annotation_row(
        Annotation(
            image_id=image_id,
            label_id=label_id,
            geometry=g,
            attributes=attrs,
            source=Source(source),
        )
    )
    return (
        row["image_id"], row["label_id"], row["kind"], _dumps(row["geometry"]),
        row["x"], row["y"], row["w"], row["h"], row["area"],
        _dumps(row["attributes"]) if row["attributes"] else "{}",
        row["source"], row["z"], row["hidden"], row["locked"], row["version"],
    )  # fmt: skip


def prediction_tuple(
    run_id: int,
    image_id: int,
    label_id: int | None,
    class_name: str,
    g: Geometry,
    score: float,
    attrs: dict[str, Any],
) -> tuple[Any, ...]:
    js, (x, y, w, h), _area = geometry_json(g)
    return (
        run_id, image_id, label_id, class_name, str(g.kind), js, float(score),
        _dumps(attrs) if attrs else "{}", x, y, w, h,
    )  # fmt: skip


def polygon_stats(polys: list[Polygon]) -> list[tuple[float, float, float, float, float]]:
    """(x, y, w, h, area) of many single-ring polygons at once with numpy.

    The same sums as ``polygon_bbox``/``polygon_area`` (float rounding aside), but one
    vectorised pass per batch instead of a Python loop per polygon.
    """
    import numpy as np

    if not polys:
        return []
    rings = [p.rings[0] for p in polys]
    lengths = np.fromiter((len(r) for r in rings), dtype=np.int64, count=len(rings))
    flat = np.fromiter(chain.from_iterable(rings), dtype=np.float64, count=int(lengths.sum()))
    xs, ys = flat[0::2], flat[1::2]
    npts = lengths // 2
    starts = np.zeros(len(rings), dtype=np.int64)
    np.cumsum(npts[:-1], out=starts[1:])
    nxt = np.arange(xs.size, dtype=np.int64) + 1
    nxt[starts + npts - 1] = starts  # each ring wraps to its first point
    cross = xs * ys[nxt] - xs[nxt] * ys
    area = np.abs(np.add.reduceat(cross, starts)) / 2.0
    x0 = np.minimum.reduceat(xs, starts)
    y0 = np.minimum.reduceat(ys, starts)
    x1 = np.maximum.reduceat(xs, starts)
    y1 = np.maximum.reduceat(ys, starts)
    return list(
        zip(
            x0.tolist(),
            y0.tolist(),
            (x1 - x0).tolist(),
            (y1 - y0).tolist(),
            area.tolist(),
            strict=True,
        )
    )


def _polygon_json(g: Polygon) -> str:
    """The stored geometry JSON of a single-ring polygon (its source text when it has it)."""
    raw = getattr(g, "rings_json", None)
    if raw is not None:
        return '{"type": "polygon", "rings": ' + raw + "}"
    return '{"type": "polygon", "rings": [' + _dumps(g.rings[0]) + "]}"


def annotation_tuples(
    items: list[tuple[int, int, Geometry, dict[str, Any]]], source: str
) -> list[tuple[Any, ...]]:
    """Rows for many (image_id, label_id, geometry, attributes): single-ring polygons get
    their bbox/area from one numpy pass, everything else from ``annotation_tuple``."""
    simple = [
        i for i, it in enumerate(items) if isinstance(it[2], Polygon) and len(it[2].rings) == 1
    ]
    stats = polygon_stats([items[i][2] for i in simple])  # type: ignore[misc]
    by_index = dict(zip(simple, stats, strict=True))
    out = []
    for i, (image_id, label_id, g, attrs) in enumerate(items):
        st = by_index.get(i)
        if st is None:
            out.append(annotation_tuple(image_id, label_id, g, attrs, source))
            continue
        x, y, w, h, area = st
        out.append(
            (
                image_id, label_id, "polygon",
                _polygon_json(g),  # type: ignore[arg-type]
                x, y, w, h, area,
                _dumps(attrs) if attrs else "{}", source, 0, False, False, 1,
            )
        )  # fmt: skip
    return out


def _placeholders(conn: Any, n: int) -> str:
    style = conn.dialect.paramstyle
    if style == "qmark":
        return ", ".join("?" * n)
    if style in ("format", "pyformat"):
        return ", ".join(["%s"] * n)
    if style == "numeric":
        return ", ".join(f":{i + 1}" for i in range(n))
    raise NotImplementedError(f"bulk insert: paramstyle {style}")


def insert_tuples(
    conn: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """``executemany`` of plain tuples on the connection's driver cursor (same transaction)."""
    if not rows:
        return
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({_placeholders(conn, len(columns))})"
    conn.exec_driver_sql(sql, rows)
