"""Preparing an import: everything that reads the disk or the project before the
transaction (matching images to roots, probing headers, writing embedded images,
resolving labels), so that the transaction itself only writes rows.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from lightable.core.errors import BadInputError, ValidationError
from lightable.core.model import ImageStatus, Label, LabelKind, palette_color
from lightable.formats.model import Dataset, DatasetImage, Report
from lightable.store import schema
from lightable.store.project import Project

MISSING = "file not found"
EMBED_DIR = "imported"  # embedded images are written under <project>/imported/<dataset>/
# Above this many images, files whose size the annotations declare are not opened.
PROBE_LIMIT = 20_000


@dataclass
class ImportSummary:
    format: str
    source: str = ""
    images_added: int = 0  # new image rows
    images_matched: int = 0  # already in the project (annotations added to them)
    images_missing: int = 0  # new rows whose file was not found (status broken, kept)
    images_written: int = 0  # embedded images written into the project folder
    images_unprobed: int = 0  # big imports: size taken from the file, header not read
    annotations: int = 0
    predictions: int = 0
    labels_created: int = 0
    labels_matched: int = 0
    skipped: int = 0  # items skipped because of errors (see the report)
    run_id: int | None = None
    dry_run: bool = False
    seconds: float = 0.0
    report: Report = field(default_factory=Report)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "report"}
        d["seconds"] = round(self.seconds, 3)
        d["report"] = self.report.to_dict()
        return d

    def lines(self) -> list[str]:
        verb = "would import" if self.dry_run else "imported"
        out = [
            f"{verb} {self.format} from {self.source}:",
            f"  images       {self.images_added} new, {self.images_matched} already in the project"
            + (f", {self.images_missing} files not found" if self.images_missing else ""),
        ]
        if self.predictions or self.run_id is not None:
            out.append(f"  predictions  {self.predictions} (model run {self.run_id})")
        else:
            out.append(f"  annotations  {self.annotations}")
        out.append(f"  labels       {self.labels_created} new, {self.labels_matched} existing")
        if self.skipped:
            out.append(f"  skipped      {self.skipped} (see the report)")
        return out


@dataclass
class _NewImage:
    ds_index: int
    root_key: str  # absolute root folder (new or existing)
    rel: str
    row: dict[str, Any]


@dataclass
class Plan:
    """What the transaction will write, worked out before it starts."""

    roots_new: list[str] = field(default_factory=list)  # absolute folders to register
    root_ids: dict[str, int] = field(default_factory=dict)  # absolute folder -> id (existing)
    placement: list[tuple[str, str] | None] = field(default_factory=list)  # per ds image
    matched: dict[int, int] = field(default_factory=dict)  # ds index -> image id
    new_images: list[_NewImage] = field(default_factory=list)
    split_updates: dict[int, str] = field(default_factory=dict)  # image id -> split
    written_files: list[Path] = field(default_factory=list)
    label_ids: dict[str, int] = field(default_factory=dict)  # name -> id (existing)
    labels_new: list[Label] = field(default_factory=list)
    label_updates: list[Label] = field(default_factory=list)
    skip_images: set[int] = field(default_factory=set)


def prepare(
    project: Project, ds: Dataset, report: Report, summary: ImportSummary, dry_run: bool
) -> Plan:
    plan = Plan()
    _prepare_images(project, ds, report, plan, summary, dry_run)
    if ds.predictions and ds.images and len(plan.skip_images) == len(ds.images):
        raise BadInputError(
            ds.source or ds.format,
            f"none of the {len(ds.images)} images of these predictions is in the project; "
            "import the ground truth first, or pass it with --gt",
        )
    _prepare_labels(project, ds, report, plan, summary)
    return plan


def _prepare_labels(
    project: Project, ds: Dataset, report: Report, plan: Plan, summary: ImportSummary
) -> None:
    existing = {lb.name: lb for lb in project.labels.all()}
    by_source: dict[str, Label] = {}
    for lb in existing.values():
        sid = (lb.attributes.get("source_ids") or {}).get(ds.format)
        if sid is not None:
            by_source[str(sid)] = lb
    declared = {lb.name: lb for lb in ds.labels}
    # Labels used by objects but not declared by the reader are created too.
    used: dict[str, None] = {}
    for i, im in enumerate(ds.images):
        if i not in plan.skip_images:
            for obj in im.objects:
                used.setdefault(obj.label)
    names = list(declared) + [n for n in used if n not in declared]
    if ds.predictions:
        # Predictions create only the labels they use (a results file names no taxonomy).
        names = [n for n in names if n in used]
    renames: dict[str, str] = {}
    n_total = len(existing)
    for name in names:
        dl = declared.get(name)
        if dl is not None and dl.placeholder and dl.source_id is not None:
            hit = by_source.get(str(dl.source_id))
            if hit is not None:
                renames[name] = hit.name
                plan.label_ids[hit.name] = int(hit.id or 0)
                summary.labels_matched += 1
                continue
        lb = existing.get(name.strip())
        if lb is not None:
            plan.label_ids[name] = int(lb.id or 0)
            summary.labels_matched += 1
            _merge_label(lb, dl, ds.format, report, plan)
            continue
        try:
            new = _new_label(name, dl, ds.format, n_total)
        except ValidationError as exc:
            report.error(ds.source or ds.format, f"label {name[:60]!r}: {exc}")
            continue
        n_total += 1
        plan.labels_new.append(new)
        summary.labels_created += 1
    if renames:
        for im in ds.images:
            for obj in im.objects:
                if obj.label in renames:
                    obj.label = renames[obj.label]


def _new_label(name: str, dl: Any, fmt: str, index: int) -> Label:
    color = palette_color(index)
    attrs: dict[str, Any] = {}
    skeleton = None
    if dl is not None:
        if dl.color and re.fullmatch(r"#[0-9a-fA-F]{6}", dl.color):
            color = dl.color.lower()
        if dl.source_id is not None:
            attrs["source_ids"] = {fmt: dl.source_id}
        if dl.supercategory:
            attrs["supercategory"] = dl.supercategory
        skeleton = dl.skeleton
    kind = LabelKind.KEYPOINTS if skeleton is not None else LabelKind.ANY
    return Label(name=name, color=color, kind=kind, attributes=attrs, skeleton=skeleton)


def _merge_label(lb: Label, dl: Any, fmt: str, report: Report, plan: Plan) -> None:
    """Keep the project's label; add a skeleton or source id it did not have yet."""
    if dl is None:
        return
    changed = False
    if dl.skeleton is not None:
        if lb.skeleton is None:
            lb.skeleton = dl.skeleton
            changed = True
        elif len(lb.skeleton.names) != len(dl.skeleton.names):
            report.warning(
                fmt,
                f"label {lb.name!r}: the project's skeleton has {len(lb.skeleton.names)} points, "
                f"the file's {len(dl.skeleton.names)}; kept the project's",
            )
    if dl.source_id is not None:
        ids = dict(lb.attributes.get("source_ids") or {})
        if fmt not in ids:
            ids[fmt] = dl.source_id
            lb.attributes = {**lb.attributes, "source_ids": ids}
            changed = True
    if changed:
        plan.label_updates.append(lb)


def _image_roots(project: Project) -> list[tuple[str, int]]:
    """Existing roots as (absolute normalised folder, id), deepest first."""
    roots = [(os.path.normpath(str(p.resolve())), rid) for rid, p in project.roots().items()]
    roots.sort(key=lambda r: -len(r[0]))
    return roots


def _prepare_images(
    project: Project,
    ds: Dataset,
    report: Report,
    plan: Plan,
    summary: ImportSummary,
    dry_run: bool,
) -> None:
    from lightable.imaging.probe import probe_image

    src = ds.source or ds.format
    roots = _image_roots(project)
    plan.root_ids = {r: rid for r, rid in roots}
    ds_root = os.path.normpath(str(Path(ds.root).expanduser().resolve())) if ds.root else ""
    embed_root = _embed_root(project, ds, ds_root)
    known: dict[str, dict[str, tuple[int, int, int, bool]]] = {}
    missing_examples: list[str] = []
    by_source = _source_index(project, ds) if ds.predictions else {}
    seen: dict[tuple[str, str], int] = {}
    quick = len(ds.images) > PROBE_LIMIT

    for i, im in enumerate(ds.images):
        if not im.path:
            # Results files name images only by id: find the project image.
            image_id = by_source.get(str(im.source_id)) if im.source_id is not None else None
            if image_id is None:
                report.error(
                    src,
                    f"image id {im.source_id} is not in the project (import its annotations "
                    "first, or pass the ground-truth file with --gt)",
                    f"image_id {im.source_id}",
                )
                plan.skip_images.add(i)
                plan.placement.append(None)
                continue
            plan.matched[i] = image_id
            plan.placement.append(None)
            continue
        if not ds_root:
            raise BadInputError(src, "the reader gave no root folder for the image paths")
        abs_path = os.path.normpath(os.path.join(ds_root, im.path))
        if not (abs_path == ds_root or abs_path.startswith(ds_root + os.sep)):
            report.error(src, f"image path {im.path!r} escapes the import root", im.path)
            plan.skip_images.add(i)
            plan.placement.append(None)
            continue
        root_key, rel = _place(abs_path, ds_root, roots)
        header = im.header
        exists = header is not None or os.path.isfile(abs_path)
        if not exists and im.embedded is not None:
            root_key, rel = embed_root, im.path
            target = os.path.join(embed_root, rel)
            if not dry_run:
                written = _write_embedded(Path(target), im.embedded, src, report)
                if written:
                    plan.written_files.append(Path(target))
            summary.images_written += 1
            abs_path, exists = target, True
        key = (root_key, rel)
        if key in seen:
            report.error(src, f"image {rel!r} is listed twice; objects merged", im.path)
            ds.images[seen[key]].objects.extend(im.objects)
            im.objects = []
            plan.skip_images.add(i)
            plan.placement.append(None)
            continue
        seen[key] = i
        plan.placement.append(key)
        rid = plan.root_ids.get(root_key)
        if rid is not None:
            files = known.get(root_key)
            if files is None:
                files = known[root_key] = project.images.known_files(rid)
            hit = files.get(rel)
            if hit is not None:
                plan.matched[i] = hit[0]
                summary.images_matched += 1
                if im.split is not None:
                    plan.split_updates[hit[0]] = im.split
                continue
        elif root_key not in plan.roots_new:
            plan.roots_new.append(root_key)
        row = _probe_row(im, abs_path, exists, probe_image, report, src, quick)
        if row.pop("probed", True) is False:
            summary.images_unprobed += 1
        if row["error"] == MISSING:
            summary.images_missing += 1
            if len(missing_examples) < 3:
                missing_examples.append(im.path)
        plan.new_images.append(_NewImage(i, root_key, rel, row))
        summary.images_added += 1
    if summary.images_unprobed:
        report.info(
            src,
            f"{summary.images_unprobed} images not opened (sizes as declared by the annotation "
            "file); the next `lightable add-images` scan reads their headers",
        )
    if summary.images_missing:
        more = ", ..." if summary.images_missing > len(missing_examples) else ""
        report.warning(
            src,
            f"{summary.images_missing} image files not found under {ds_root} "
            f"(e.g. {', '.join(missing_examples)}{more}); imported as broken images so their "
            "annotations are kept",
        )


def _place(abs_path: str, ds_root: str, roots: list[tuple[str, int]]) -> tuple[str, str]:
    """(root folder, path relative to it): the deepest existing root holding the file,
    else the dataset's own root."""
    for r, _rid in roots:
        if abs_path.startswith(r + os.sep):
            return r, abs_path[len(r) + 1 :].replace(os.sep, "/")
    return ds_root, os.path.relpath(abs_path, ds_root).replace(os.sep, "/")


def _embed_root(project: Project, ds: Dataset, ds_root: str) -> str:
    base = project.folder if project.folder is not None else project.cache_dir
    tag = hashlib.sha1(ds_root.encode()).hexdigest()[:8]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(ds_root).name or "dataset")[:60]
    return os.path.normpath(str(Path(base) / EMBED_DIR / f"{name}-{tag}"))


def _write_embedded(target: Path, data: bytes, src: str, report: Report) -> bool:
    """Write an embedded image; False when an identical file is already there."""
    if target.is_file():
        if target.read_bytes() == data:
            return False
        report.warning(src, f"{target}: replaced by the embedded image of the same name")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return True


def _probe_row(
    im: DatasetImage,
    abs_path: str,
    exists: bool,
    probe: Callable[[str], Any],
    report: Report,
    src: str,
    quick: bool = False,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "width": int(im.width or 0),
        "height": int(im.height or 0),
        "orientation": 1,
        "file_size": 0,
        "mtime_ns": 0,
        "status": str(ImageStatus.NEW),
        "split": im.split,
        "error": None,
    }
    header = im.header
    if header is None and quick and exists and im.width and im.height:
        # Big imports trust the declared size instead of opening every file (0.3 ms each);
        # mtime 0 makes the next `add-images` scan probe them (orientation, real size).
        try:
            row["file_size"] = os.stat(abs_path).st_size
        except OSError:
            row["status"] = str(ImageStatus.BROKEN)
            row["error"] = MISSING
            return row
        row["probed"] = False
        return row
    if header is None and exists and not os.path.isfile(abs_path):
        return row  # an embedded image in a dry run: not written out, sizes as declared
    if header is None and exists:
        try:
            header = probe(abs_path)
        except BadInputError as exc:
            row["status"] = str(ImageStatus.BROKEN)
            row["error"] = exc.problem
            if exc.problem != MISSING:
                report.warning(src, f"image {im.path}: {exc.problem}; imported as broken")
            return row
    if header is None:
        row["status"] = str(ImageStatus.BROKEN)
        row["error"] = MISSING
        return row
    if im.width and im.height and (im.width, im.height) != (header.width, header.height):
        report.warning(
            src,
            f"image {im.path} is {header.width}x{header.height} but the annotations say "
            f"{im.width}x{im.height}; coordinates kept as written",
        )
    row.update(
        width=header.width,
        height=header.height,
        orientation=header.orientation,
        file_size=header.file_size,
        mtime_ns=header.mtime_ns,
    )
    return row


def _source_index(project: Project, ds: Dataset) -> dict[str, int]:
    """Image source id -> project image id, for results files that name images by id.

    From the ids remembered at an earlier import of the same format, then from file
    names ending in the id (COCO's ``000000397133.jpg``).
    """
    wanted = {str(im.source_id) for im in ds.images if not im.path and im.source_id is not None}
    if not wanted:
        return {}
    out: dict[str, int] = {}
    remembered = project.get_meta(source_key(ds.format), {}) or {}
    for sid in wanted:
        if sid in remembered:
            out[sid] = int(remembered[sid])
    rest = wanted - set(out)
    if rest:
        t = schema.images
        digits = re.compile(r"(\d+)$")
        with project.engine.connect() as conn:
            for image_id, path in conn.execute(select(t.c.id, t.c.path)):
                stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
                m = digits.search(stem)
                if m:
                    sid = str(int(m.group(1)))
                    if sid in rest and sid not in out:
                        out[sid] = image_id
    return out


def source_key(fmt: str) -> str:
    return f"source_ids.{fmt}.images"
