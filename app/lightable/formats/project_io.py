"""Between a ``Dataset`` and a project: import in one transaction; export (re-exported
from ``formats.export_io``).

``import_dataset`` prepares everything that needs the disk first (probing image
headers, writing embedded images out), then writes labels, images, annotations
or predictions inside ONE database transaction: anything that raises (a bug,
a cancel, a full disk) rolls all of it back and removes the files it wrote.
``dry_run`` runs the same code and rolls back at the end, so the preview's
counts are exactly what a real import would do.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select

from lightable.core.errors import BadInputError, LightableError, ValidationError
from lightable.core.geometry import Mask, Polygon
from lightable.core.model import (
    Source,
)
from lightable.formats import registry
from lightable.formats.export_io import (
    ExportOptions,
    collect_dataset,
    export_dataset,
    plan_export,
)
from lightable.formats.import_plan import ImportSummary, Plan, prepare, source_key
from lightable.formats.model import Dataset, DatasetImage, DatasetObject, Report, StrictError
from lightable.formats.rows import (
    ANNOTATION_COLUMNS,
    PREDICTION_COLUMNS,
    annotation_tuple,
    annotation_tuples,
    insert_tuples,
    paused_gc,
    prediction_tuple,
)
from lightable.store import schema
from lightable.store.labels import label_row
from lightable.store.project import Change, Project

__all__ = [
    "ExportOptions",
    "ImportSummary",
    "collect_dataset",
    "export_dataset",
    "import_dataset",
    "import_path",
    "plan_export",
    "read_dataset",
]

BATCH = 20_000  # rows per executemany: big enough to amortise, small enough to cancel


class ProgressState(Protocol):
    """What import needs from ``lightable.jobs.base.JobState`` (formats may not import jobs)."""

    def set_total(self, total: int | None) -> None: ...
    def set_message(self, message: str) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def check(self) -> None: ...


# -- reading --------------------------------------------------------------------------


def read_dataset(
    path: str | os.PathLike[str],
    fmt: str = "auto",
    report: Report | None = None,
    options: dict[str, Any] | None = None,
) -> Dataset:
    """Run a format's reader (``fmt="auto"`` detects it and says so in the report)."""
    report = report if report is not None else Report()
    p = Path(path).expanduser()
    if not p.exists():
        raise BadInputError(p, "not found")
    if fmt == "auto":
        from lightable.formats.detect import detect_format

        fmt, conf, reason = detect_format(p)
        report.info(str(p), f"detected format {fmt} ({reason}, confidence {conf:.2f})")
    spec = registry.get(fmt)
    if spec.reader is None:
        raise LightableError(f"format {spec.name} can be exported but not imported")
    reader: Callable[..., Dataset] = spec.reader
    try:
        ds = reader(p, report, **options) if options else reader(p, report)
    except TypeError as exc:
        if options and "unexpected keyword" in str(exc):
            raise LightableError(f"format {spec.name}: unknown option ({exc})") from None
        raise
    ds.format = ds.format or spec.name
    ds.source = ds.source or str(p)
    ds.name = ds.name or p.stem
    return ds


def import_path(
    project: Project,
    path: str | os.PathLike[str],
    fmt: str = "auto",
    *,
    strict: bool = False,
    dry_run: bool = False,
    options: dict[str, Any] | None = None,
    state: ProgressState | None = None,
) -> ImportSummary:
    """Read and import in one call (what the CLI and File > Import do)."""
    report = Report(strict=strict)
    ds = read_dataset(path, fmt, report, options)
    return import_dataset(project, ds, strict=strict, report=report, dry_run=dry_run, state=state)


# -- importing ------------------------------------------------------------------------


def import_dataset(
    project: Project,
    dataset: Dataset,
    strict: bool = False,
    report: Report | None = None,
    *,
    dry_run: bool = False,
    run_name: str | None = None,
    state: ProgressState | None = None,
) -> ImportSummary:
    """Write ``dataset`` into ``project`` in one transaction; see the module docstring.

    ``strict``: any error (from the reader or found here) stops the import with
    ``StrictError`` before anything is written. Otherwise the valid part is
    imported and the summary's report lists what was skipped.
    """
    t0 = time.perf_counter()
    report = report if report is not None else Report()
    report.strict = strict
    if strict and report.errors:
        raise StrictError(report.errors[0])
    summary = ImportSummary(
        format=dataset.format, source=dataset.source, dry_run=dry_run, report=report
    )
    if state is not None:
        state.set_message("checking images")
    with paused_gc():
        plan = prepare(project, dataset, report, summary, dry_run)
        try:
            _write(project, dataset, plan, report, summary, dry_run, run_name, state)
        except BaseException:
            for f in plan.written_files:
                f.unlink(missing_ok=True)
            raise
    if dry_run:
        for f in plan.written_files:
            f.unlink(missing_ok=True)
    summary.skipped = len(report.errors)
    summary.seconds = time.perf_counter() - t0
    if not dry_run:
        ids = tuple(sorted(set(plan.matched.values())))
        project.notify(Change("images.added" if summary.images_added else "images.changed", ids))
        if summary.labels_created:
            project.notify(Change("labels.changed"))
        if summary.annotations:
            project.notify(Change("annotations.changed", ids, {"import": dataset.format}))
        if summary.run_id is not None:
            project.notify(Change("predictions.changed", (), {"run_id": summary.run_id}))
    return summary


# -- the transaction ---------------------------------------------------------------------


def _write(
    project: Project,
    ds: Dataset,
    plan: Plan,
    report: Report,
    summary: ImportSummary,
    dry_run: bool,
    run_name: str | None,
    state: ProgressState | None,
) -> None:
    src = ds.source or ds.format
    with project.engine.connect() as conn:
        trans = conn.begin()
        try:
            _write_roots(project, conn, plan)
            _write_labels(conn, plan)
            image_ids = _write_images(conn, plan, ds)
            if state is not None:
                state.set_message("writing annotations")
                state.set_total(ds.object_count())
            if ds.predictions:
                _write_predictions(conn, ds, plan, image_ids, report, summary, src, run_name, state)
            else:
                _write_annotations(conn, ds, plan, image_ids, report, summary, src, state)
                _remember_source_ids(conn, ds, image_ids)
            conn.execute(
                schema.events.insert().values(
                    kind="formats.import",
                    entity="dataset",
                    payload={
                        "format": ds.format,
                        "source": ds.source,
                        "images": summary.images_added + summary.images_matched,
                        "annotations": summary.annotations,
                        "predictions": summary.predictions,
                    },
                )
            )
            if report.strict and report.errors:
                raise StrictError(report.errors[0])
        except BaseException:
            trans.rollback()
            raise
        if dry_run:
            trans.rollback()
        else:
            trans.commit()


def _write_roots(project: Project, conn: Any, plan: Plan) -> None:
    t = schema.roots
    for folder in plan.roots_new:
        stored = folder
        if project.folder is not None:
            with contextlib.suppress(ValueError):
                stored = Path(folder).relative_to(project.folder.resolve()).as_posix() or "."
        rid = conn.execute(select(t.c.id).where(t.c.path == stored)).scalar()
        if rid is None:
            rid = conn.execute(t.insert().values(path=stored)).inserted_primary_key[0]
        plan.root_ids[folder] = int(rid)


def _write_labels(conn: Any, plan: Plan) -> None:
    t = schema.labels
    pos = int(conn.execute(select(func.max(t.c.position))).scalar() or 0)
    for lb in plan.labels_new:
        pos += 1
        lb.position = pos
        row = label_row(lb)
        lb.id = int(conn.execute(t.insert().values(**row)).inserted_primary_key[0])
        plan.label_ids[lb.name] = lb.id
    for lb in plan.label_updates:
        conn.execute(t.update().where(t.c.id == lb.id).values(**label_row(lb)))


def _write_images(conn: Any, plan: Plan, ds: Dataset) -> dict[int, int]:
    """Insert new images, update splits; returns dataset index -> image id."""
    t = schema.images
    out = dict(plan.matched)
    rows = []
    for n in plan.new_images:
        row = dict(n.row)
        row["root_id"] = plan.root_ids[n.root_key]
        row["path"] = n.rel
        row["folder"] = n.rel.rpartition("/")[0]
        rows.append(row)
    for chunk in _chunks(rows, BATCH):
        _insert_batch(conn, t, chunk)
    if plan.new_images:
        by_root: dict[int, dict[str, int]] = {}
        for rid in {plan.root_ids[n.root_key] for n in plan.new_images}:
            by_root[rid] = {
                r[0]: r[1] for r in conn.execute(select(t.c.path, t.c.id).where(t.c.root_id == rid))
            }
        for n in plan.new_images:
            out[n.ds_index] = by_root[plan.root_ids[n.root_key]][n.rel]
    if plan.split_updates:
        from sqlalchemy import bindparam

        stmt = t.update().where(t.c.id == bindparam("_id")).values(split=bindparam("_split"))
        items = [{"_id": k, "_split": v} for k, v in plan.split_updates.items()]
        for chunk in _chunks(items, BATCH):
            conn.execute(stmt, chunk)
    return out


def _insert_batch(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """One executemany of dict rows (images); see ``_insert_tuples`` for the bulk tables."""
    if rows:
        conn.execute(table.insert(), rows)


def _insert_tuples(
    conn: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """One driver-level executemany; a module-level seam so tests can interrupt an import."""
    insert_tuples(conn, table, columns, rows)


def _chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _object_attributes(obj: DatasetObject) -> dict[str, Any]:
    attrs = obj.attributes
    if obj.iscrowd or obj.group is not None or (obj.score is not None):
        attrs = dict(attrs)
        if obj.iscrowd:
            attrs["iscrowd"] = True
        if obj.group is not None:
            attrs["group"] = obj.group
        if obj.score is not None:
            attrs["score"] = obj.score
    return attrs


def _iter_objects(
    ds: Dataset, plan: Plan, image_ids: dict[int, int]
) -> Iterable[tuple[int, DatasetImage, DatasetObject]]:
    for i, im in enumerate(ds.images):
        if i in plan.skip_images:
            continue
        image_id = image_ids.get(i)
        if image_id is None:
            continue
        for obj in im.objects:
            yield image_id, im, obj


def _write_annotations(
    conn: Any,
    ds: Dataset,
    plan: Plan,
    image_ids: dict[int, int],
    report: Report,
    summary: ImportSummary,
    src: str,
    state: ProgressState | None,
) -> None:
    batch: list[tuple[int, int, Any, dict[str, Any]]] = []
    label_ids = plan.label_ids
    source = str(Source.IMPORT)

    def flush() -> None:
        rows = annotation_tuples(batch, source)
        _insert_tuples(conn, "annotations", ANNOTATION_COLUMNS, rows)
        summary.annotations += len(rows)
        if state is not None:
            state.advance(len(rows))
            state.check()
        batch.clear()

    for image_id, im, obj in _iter_objects(ds, plan, image_ids):
        label_id = label_ids.get(obj.label)
        if label_id is None:
            continue  # the label itself was refused (reported above)
        g = obj.geometry
        if not isinstance(g, Polygon):
            # Checked one by one so that a bad geometry names its annotation.
            try:
                if isinstance(g, Mask) and g._bbox is None:
                    raise ValidationError("mask without a bounding box")
                annotation_tuple(image_id, label_id, g, {}, source)
            except (ValidationError, TypeError, ValueError) as exc:
                where = f"id {obj.source_id}" if obj.source_id is not None else im.path
                report.error(src, f"annotation skipped: {exc}", where)
                continue
        batch.append((image_id, label_id, g, _object_attributes(obj)))
        if len(batch) >= BATCH:
            flush()
    flush()


def _write_predictions(
    conn: Any,
    ds: Dataset,
    plan: Plan,
    image_ids: dict[int, int],
    report: Report,
    summary: ImportSummary,
    src: str,
    run_name: str | None,
    state: ProgressState | None,
) -> None:
    kinds = {str(o.geometry.kind) for im in ds.images for o in im.objects}
    task = "segmentation" if kinds & {"mask", "polygon"} else "detection"
    if kinds == {"keypoints"}:
        task = "keypoints"
    n_images = len({image_ids[i] for i in image_ids if i not in plan.skip_images})
    run_id = conn.execute(
        schema.model_runs.insert().values(
            name=run_name or f"imported {ds.name or ds.format}",
            model=f"imported:{ds.format}",
            task=task,
            params={"source": ds.source, "format": ds.format},
            status="done",
            images_done=n_images,
            timings={},
            finished_at=func.now(),
        )
    ).inserted_primary_key[0]
    summary.run_id = int(run_id)
    batch: list[tuple[Any, ...]] = []
    for image_id, im, obj in _iter_objects(ds, plan, image_ids):
        where = f"id {obj.source_id}" if obj.source_id is not None else im.path
        score = obj.score if obj.score is not None else 1.0
        if not (0.0 <= score <= 1.0):
            report.error(src, f"prediction skipped: score {score} outside [0, 1]", where)
            continue
        attrs = dict(obj.attributes)
        if obj.iscrowd:
            attrs["iscrowd"] = True
        try:
            row = prediction_tuple(
                summary.run_id,
                image_id,
                plan.label_ids.get(obj.label),
                obj.label,
                obj.geometry,
                score,
                attrs,
            )
        except ValidationError as exc:
            report.error(src, f"prediction skipped: {exc}", where)
            continue
        batch.append(row)
        if len(batch) >= BATCH:
            _insert_tuples(conn, "predictions", PREDICTION_COLUMNS, batch)
            summary.predictions += len(batch)
            if state is not None:
                state.advance(len(batch))
                state.check()
            batch = []
    _insert_tuples(conn, "predictions", PREDICTION_COLUMNS, batch)
    summary.predictions += len(batch)


def _remember_source_ids(conn: Any, ds: Dataset, image_ids: dict[int, int]) -> None:
    """Keep source image id -> image id so a later results file of this format finds them."""
    mapping = {
        str(im.source_id): image_ids[i]
        for i, im in enumerate(ds.images)
        if im.source_id is not None and i in image_ids
    }
    if not mapping:
        return
    t = schema.meta
    key = source_key(ds.format)
    old = conn.execute(select(t.c.value).where(t.c.key == key)).scalar() or {}
    merged = {**old, **mapping}
    conn.execute(t.delete().where(t.c.key == key))
    conn.execute(t.insert().values(key=key, value=merged))
