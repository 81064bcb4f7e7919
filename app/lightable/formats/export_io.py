"""From a project to files: choose what to export, plan it, write it atomically.

``collect_dataset`` turns a selection of the project (images, labels, splits,
annotations or one model run's predictions) into a ``Dataset``;
``plan_export`` lists what the target format cannot hold before anything is
written (the GUI shows it); ``export_dataset`` writes into a temporary folder
next to OUT and renames it into place only when the writer has finished.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Text, func, select, type_coerce

from lightable.core.errors import BadInputError, LightableError
from lightable.core.geometry import Polygon, geometry_from_dict
from lightable.formats import registry
from lightable.formats.model import (
    Dataset,
    DatasetImage,
    DatasetLabel,
    DatasetObject,
    ExportOptions,
    MediaMode,
    Report,
)
from lightable.formats.rows import paused_gc
from lightable.formats.stored import from_text
from lightable.store import schema

if TYPE_CHECKING:
    from lightable.store.project import Project

__all__ = [
    "ExportOptions",
    "collect_dataset",
    "export_dataset",
    "place_media",
    "plan_dataset",
    "plan_export",
]

# Attributes the import folds into annotation attributes; they become fields again.
_FIELD_ATTRS = ("iscrowd", "group", "score")


def collect_dataset(project: Project, options: ExportOptions, fmt: str | None = None) -> Dataset:
    """The part of the project that ``options`` selects, as a ``Dataset``.

    ``fmt`` picks which source ids of the labels to carry (a label imported from
    COCO category 18 exports as category 18 again).
    """
    labels = project.labels.all()
    if options.labels is not None:
        names = {lb.name for lb in labels}
        unknown = [n for n in options.labels if n not in names]
        if unknown:
            raise LightableError(f"no label called {', '.join(repr(n) for n in unknown)}")
        wanted = set(options.labels)
        labels = [lb for lb in labels if lb.name in wanted]
    by_id = {int(lb.id or 0): lb for lb in labels}
    ds = Dataset(
        format=fmt or "",
        predictions=options.run_id is not None,
        name=project.name,
        source=project.url,
    )
    for lb in labels:
        ids = lb.attributes.get("source_ids") or {}
        ds.labels.append(
            DatasetLabel(
                name=lb.name,
                color=lb.color,
                source_id=ids.get(fmt) if fmt else None,
                skeleton=lb.skeleton,
                supercategory=lb.attributes.get("supercategory"),
            )
        )

    images = _select_images(project, options)
    roots = project.roots()
    used = {r["root_id"] for r in images}
    root_paths = {rid: Path(roots[rid]) for rid in used if rid in roots}
    if len(root_paths) <= 1:
        base = next(iter(root_paths.values())) if root_paths else Path(".")
    else:
        try:
            base = Path(os.path.commonpath([str(p) for p in root_paths.values()]))
        except ValueError as exc:
            raise LightableError(
                "the selected images lie on different drives; export them separately"
            ) from exc
    ds.root = str(base)
    index: dict[int, DatasetImage] = {}
    for r in images:
        root = root_paths.get(r["root_id"])
        if root is None:
            continue
        path = r["path"] if root == base else (root / r["path"]).relative_to(base).as_posix()
        im = DatasetImage(
            path=path,
            width=r["width"] or None,
            height=r["height"] or None,
            split=r["split"],
            source_id=r["id"],
        )
        index[r["id"]] = im
        ds.images.append(im)

    if options.run_id is not None:
        _collect_predictions(project, options, index, by_id)
    else:
        _collect_annotations(project, index, by_id)
    if not options.include_empty:
        ds.images = [im for im in ds.images if im.objects]
    return ds


def _select_images(project: Project, options: ExportOptions) -> list[dict[str, Any]]:
    t = schema.images
    cols = (t.c.id, t.c.root_id, t.c.path, t.c.width, t.c.height, t.c.split)
    ids: list[int] | None = None
    if options.image_ids is not None:
        ids = list(options.image_ids)
    elif options.query is not None:
        ids = project.images.ordered_ids(options.query)
    rows: list[dict[str, Any]] = []
    with project.engine.connect() as conn:
        if ids is None:
            q = select(*cols).where(t.c.missing.is_(False)).order_by(t.c.root_id, t.c.path)
            rows = [dict(r._mapping) for r in conn.execute(q)]
        else:
            got: dict[int, dict[str, Any]] = {}
            for i in range(0, len(ids), 900):
                for r in conn.execute(select(*cols).where(t.c.id.in_(ids[i : i + 900]))):
                    got[r.id] = dict(r._mapping)
            rows = [got[i] for i in ids if i in got]
    if options.splits is not None:
        splits = set(options.splits)
        rows = [r for r in rows if (r["split"] or "") in splits]
    return rows


def _geometry(d: Any) -> Any:
    """Geometry of a stored row. Polygons skip re-validating every coordinate (they were
    validated when stored; this is the hot loop of a million-annotation export)."""
    if type(d) is dict and d.get("type") == "polygon":
        rings = d.get("rings")
        if (
            type(rings) is list
            and rings
            and all(type(r) is list and len(r) >= 6 and not len(r) % 2 for r in rings)
        ):
            p = object.__new__(Polygon)
            object.__setattr__(p, "rings", tuple(tuple(r) for r in rings))
            return p
    return geometry_from_dict(d)


def _raw_json(t: Any) -> tuple[Any, Any]:
    """The geometry and attributes columns without SQLAlchemy's per-value JSON processing
    (decoded in ``_object``; SQLite hands back text, PostgreSQL drivers may decode)."""
    return (
        type_coerce(t.c.geometry, Text).label("geometry"),
        type_coerce(t.c.attributes, Text).label("attributes"),
    )


def _json(v: Any) -> Any:
    if isinstance(v, str):
        return {} if v == "{}" else json.loads(v)
    return v


def _object(row: Any, label: str, score: float | None = None) -> DatasetObject:
    attrs = dict(_json(row.attributes) or {})
    iscrowd = bool(attrs.pop("iscrowd", False))
    group = attrs.pop("group", None)
    s = attrs.pop("score", None)
    return DatasetObject(
        label=label,
        geometry=from_text(row.geometry) or _geometry(_json(row.geometry)),
        attributes=attrs,
        score=score if score is not None else s,
        group=group,
        iscrowd=iscrowd,
    )


def _rows_for(
    project: Project, table: Any, cols: tuple[Any, ...], index: dict[int, Any], *where: Any
) -> Any:
    """Rows of ``table`` for the images in ``index``: one ordered scan when that is most of
    the project, chunked IN queries otherwise."""
    with project.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(schema.images)).scalar() or 0
        if len(index) * 2 >= total:
            q = select(*cols).where(*where).order_by(table.c.image_id, table.c.id)
            for r in conn.execute(q):
                if r.image_id in index:
                    yield r
            return
        ids = sorted(index)
        for i in range(0, len(ids), 900):
            q = (
                select(*cols)
                .where(table.c.image_id.in_(ids[i : i + 900]), *where)
                .order_by(table.c.image_id, table.c.id)
            )
            yield from conn.execute(q)


def _collect_annotations(
    project: Project, index: dict[int, DatasetImage], labels: dict[int, Any]
) -> None:
    t = schema.annotations
    cols = (t.c.id, t.c.image_id, t.c.label_id, *_raw_json(t), t.c.x, t.c.y, t.c.w, t.c.h, t.c.area)
    for r in _rows_for(project, t, cols, index):
        lb = labels.get(r.label_id)
        if lb is None:
            continue
        obj = _object(r, lb.name)
        obj.source_id = r.id
        if r.area is not None:
            obj.extent = (r.x, r.y, r.w, r.h, r.area)
        index[r.image_id].objects.append(obj)


def _collect_predictions(
    project: Project, options: ExportOptions, index: dict[int, DatasetImage], labels: dict[int, Any]
) -> None:
    t = schema.predictions
    with project.engine.connect() as conn:
        exists = conn.execute(
            select(schema.model_runs.c.id).where(schema.model_runs.c.id == options.run_id)
        ).first()
    if exists is None:
        raise LightableError(f"no model run with id {options.run_id}")
    cols = (
        t.c.id,
        t.c.image_id,
        t.c.label_id,
        t.c.class_name,
        t.c.geometry,
        t.c.attributes,
        t.c.score,
    )
    where = (t.c.run_id == options.run_id, t.c.score >= options.threshold)
    names = {lb.name for lb in labels.values()}
    for r in _rows_for(project, t, cols, index, *where):
        if r.label_id is not None:
            lb = labels.get(r.label_id)
            if lb is None:
                continue
            name = lb.name
        else:
            name = r.class_name
            if name not in names:
                continue
        obj = _object(r, name, float(r.score))
        obj.source_id = r.id
        index[r.image_id].objects.append(obj)


# -- planning -----------------------------------------------------------------------------


def plan_dataset(spec: registry.FormatSpec, ds: Dataset, options: ExportOptions) -> Report:
    """What ``spec``'s writer will convert or leave out of ``ds``, before writing."""
    report = Report()
    kinds = Counter(str(o.geometry.kind) for im in ds.images for o in im.objects)
    if spec.plan is not None:
        spec.plan(ds, report, options)
    else:
        for kind, n in sorted(kinds.items()):
            if kind not in {str(k) for k in spec.holds}:
                report.warning(
                    spec.name, f"{n} {kind} objects cannot be held by {spec.title}; left out"
                )
    if ds.predictions and not spec.predictions:
        report.warning(
            spec.name, f"{spec.title} has no place for scores; predictions written as labels"
        )
    n_obj = sum(kinds.values())
    report.stats.update(images=len(ds.images), objects=n_obj, labels=len(ds.labels))
    report.info(spec.name, f"{len(ds.images)} images, {n_obj} objects, {len(ds.labels)} labels")
    return report


def plan_export(project: Project, fmt: str, options: ExportOptions | None = None) -> Report:
    """The report ``export_dataset`` would start with (for the export dialog)."""
    options = options or ExportOptions()
    spec = _writer_spec(fmt)
    return plan_dataset(spec, collect_dataset(project, options, spec.name), options)


def _writer_spec(fmt: str) -> registry.FormatSpec:
    spec = registry.get(fmt)
    if spec.writer is None:
        raise LightableError(f"format {spec.name} can be imported but not exported")
    return spec


# -- writing ------------------------------------------------------------------------------


def export_dataset(
    project: Project,
    fmt: str,
    out_dir: str | os.PathLike[str],
    options: ExportOptions | None = None,
    dataset: Dataset | None = None,
) -> Report:
    """Write the selection into ``out_dir`` atomically; returns the report (plan first)."""
    options = options or ExportOptions()
    spec = _writer_spec(fmt)
    with paused_gc():
        ds = dataset if dataset is not None else collect_dataset(project, options, spec.name)
        report = plan_dataset(spec, ds, options)
        write_dataset(spec, ds, Path(out_dir), report, options)
    return report


def write_dataset(
    spec: registry.FormatSpec, ds: Dataset, out: Path, report: Report, options: ExportOptions
) -> None:
    """Run ``spec``'s writer in a temporary folder next to ``out`` and move it into place."""
    out = out.expanduser().resolve()
    if out.exists():
        if not out.is_dir():
            raise LightableError(f"{out}: exists and is not a folder")
        if any(out.iterdir()) and not options.overwrite:
            raise LightableError(f"{out}: folder is not empty (choose another or overwrite)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        assert spec.writer is not None
        spec.writer(ds, tmp, report, options)
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    report.info(str(out), f"wrote {spec.title}")


def place_media(
    ds: Dataset, im: DatasetImage, out_dir: Path, dst_rel: str, mode: MediaMode, report: Report
) -> bool:
    """Copy or link an image's file to ``out_dir/dst_rel``; False (and a warning) if missing."""
    if mode == MediaMode.NONE:
        return False
    src = Path(ds.root) / im.path
    dst = out_dir / dst_rel
    if not src.is_file():
        report.warning(str(src), "image file not found; not copied")
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    if mode == MediaMode.LINK:
        with contextlib.suppress(OSError):
            os.symlink(src.resolve(), dst)
            return True
    shutil.copy2(src, dst)
    return True


def require_size(im: DatasetImage, fmt: str) -> tuple[int, int]:
    """(width, height) of an image for formats that need it; BadInputError when unknown."""
    if not im.width or not im.height:
        raise BadInputError(im.path, f"image size unknown; {fmt} needs it (is the file missing?)")
    return int(im.width), int(im.height)
