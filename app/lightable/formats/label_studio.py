"""Label Studio JSON exports (read and write).

An export is an array of tasks (or, in older exports, one task object):
``data`` names the image(s); ``annotations[].result[]`` holds regions whose
coordinates are PERCENT of ``original_width``/``original_height``.

Reading:

- ``rectanglelabels`` -> Box; with a non-zero ``rotation`` (degrees clockwise about
  the top-left corner, as Label Studio rotates) -> 4-point Polygon with a
  ``rotation`` attribute; ``polygonlabels`` -> Polygon; ``keypointlabels`` ->
  Keypoints with one point (the point's ``width`` kept as ``point_width``);
  ``ellipselabels`` -> Polygon with the ellipse in attributes; ``brushlabels`` ->
  Mask (Label Studio's brush RLE, decoded by ``formats.brush_rle``); ``choices`` and
  ``taxonomy`` -> Tag objects for the image. The newer split form (a ``rectangle``
  result plus a ``labels`` result with the same region id) is understood.
- Results sharing a region id with a labelled region (per-region ``choices``,
  ``textarea``, ``taxonomy``, ``rating``...) become attributes of that region, named
  by their ``from_name``.
- A task with several annotations (several annotators): the ground-truth one if
  marked, else the most recently updated non-cancelled one; the report says how
  many others were ignored. Predictions inside tasks are not imported.
- ``data.image`` (a URL, an upload path ``/data/upload/<project>/<file>``, a
  local-storage URL ``/data/local-files/?d=<path>``) is matched to a file under the
  import root: the ``d=`` path, then the file name (also without the 8-hex
  upload prefix Label Studio adds), then the name without extension. When no
  file matches, the name is kept and the report says so.

Writing: ``tasks.json`` (one task per image, one annotation each; a predictions
dataset goes to ``predictions`` with scores) and a ``label_config.xml`` whose tag
names match the ``from_name``/``to_name`` used. Per-region attributes other than
the geometric ones have no place without a matching labeling config and are
reported, not written.
"""

from __future__ import annotations

import math
import posixpath
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from lightable.core.errors import BadInputError, ValidationError
from lightable.core.geometry import Box, Geometry, Keypoints, Polygon, Tag
from lightable.formats import brush_rle
from lightable.formats.file_lookup import ImageFinder
from lightable.formats.label_studio_write import write
from lightable.formats.model import (
    Dataset,
    DatasetImage,
    DatasetLabel,
    DatasetObject,
    Report,
)
from lightable.formats.registry import FormatSpec, register
from lightable.formats.safe_io import (
    IMAGE_EXTENSIONS,
    finite,
    finite_list,
    load_json,
    safe_relpath,
    walk_files,
)
from lightable.formats.shape_approx import (
    ellipse_polygon,
    rotated_rect_corners,
)
from lightable.imaging import masks as mask_ops
from lightable.imaging.safety import check_dimensions

NAME = "label_studio"
_REGION_TYPES = ("rectangle", "polygon", "keypoint", "brush", "ellipse")
_LABEL_TYPES = {f"{t}labels": t for t in _REGION_TYPES}
_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")


def _is_task(d: Any) -> bool:
    return isinstance(d, dict) and isinstance(d.get("data"), dict)


def _pick_annotation(task: dict[str, Any]) -> tuple[dict[str, Any] | None, int, int]:
    """(chosen annotation, how many usable ones there were, how many were cancelled)."""
    anns = task.get("annotations")
    if anns is None:
        anns = task.get("completions")  # Label Studio before 1.0
    if not isinstance(anns, list):
        return None, 0, 0
    usable = [a for a in anns if isinstance(a, dict) and not a.get("was_cancelled")]
    cancelled = sum(1 for a in anns if isinstance(a, dict) and a.get("was_cancelled"))
    if not usable:
        return None, 0, cancelled

    def key(a: dict[str, Any]) -> tuple[bool, str, int]:
        when = a.get("updated_at") or a.get("created_at") or ""
        aid = a.get("id")
        return (a.get("ground_truth") is True, str(when), aid if isinstance(aid, int) else -1)

    return max(usable, key=key), len(usable), cancelled


def _image_refs(data: dict[str, Any]) -> dict[str, str]:
    """Data keys (``image``, ``images[0]``...) -> image URL or path."""
    refs: dict[str, str] = {}
    for k, v in data.items():
        if isinstance(v, str) and v.strip():
            low = v.lower().split("?")[0]
            if (
                k in ("image", "img", "image_url", "url")
                or low.endswith((".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif"))
                or "/data/" in v
            ):
                refs[k] = v.strip()
        elif isinstance(v, list):
            for i, item in enumerate(v):
                url = item.get("url") if isinstance(item, dict) else item
                if isinstance(url, str) and url.strip():
                    refs[f"{k}[{i}]"] = url.strip()
    return refs


def _meta_size(meta: Any) -> tuple[int, int] | None:
    """The image size our writer keeps in the task's ``meta`` (Label Studio has no place
    for the size of an image without regions)."""
    if isinstance(meta, dict):
        w, h = meta.get("image_width"), meta.get("image_height")
        if (
            isinstance(w, int)
            and isinstance(h, int)
            and not isinstance(w, bool)
            and w > 0
            and h > 0
        ):
            return w, h
    return None


class _Reader:
    def __init__(self, root: Path, report: Report) -> None:
        self.root = root
        self.report = report
        self.finder = ImageFinder(root)
        self.labels: dict[str, DatasetLabel] = {}
        self.images: dict[str, DatasetImage] = {}
        self.order: list[DatasetImage] = []
        self.origin: dict[str, str] = {}

    def label(self, name: str) -> str:
        if name not in self.labels:
            self.labels[name] = DatasetLabel(name)
        return name

    # -- images ---------------------------------------------------------------------------

    def local_path(self, url: str, task: dict[str, Any], f: Path, where: str) -> str:
        parts = urlsplit(url)
        d = parse_qs(parts.query).get("d")
        if d:
            try:
                rel = safe_relpath(unquote(d[0]), f, where)
            except BadInputError as exc:
                self.report.warning(str(f), exc.problem, where)
            else:
                hit = self.finder.find(rel)
                if hit is not None:
                    return hit
        if not parts.scheme and not parts.query and not url.startswith("/"):
            # A plain relative path (our own export, hand-made tasks): try it as it is.
            try:
                rel = safe_relpath(unquote(url), f, where)
            except BadInputError:
                rel = ""
            hit = self.finder.find(rel, extra_dirs=("images",)) if rel else None
            if hit is not None:
                return hit
            if rel:
                self.report.warning(str(f), f"image {url!r} not found under the import root", where)
                return rel
        name = posixpath.basename(unquote(parts.path).replace("\\", "/"))
        if name in (".", ".."):
            name = ""
        names = [name, _UPLOAD_PREFIX.sub("", name)] if name else []
        upload = task.get("file_upload")
        if isinstance(upload, str) and posixpath.splitext(upload)[1].lower() in IMAGE_EXTENSIONS:
            # The uploaded file (with Label Studio's 8-hex prefix): a name to match, when
            # it is an image (a task file upload names the JSON it came from).
            up = posixpath.basename(upload.replace("\\", "/"))
            names += [up, _UPLOAD_PREFIX.sub("", up)]
        for n in dict.fromkeys(n for n in names if n):
            hit = self.finder.by_name(n) or (
                None if posixpath.splitext(n)[1] else self.finder.by_stem(n)
            )
            if hit is not None:
                return hit
        if not names:
            raise BadInputError(f, f"image reference {url!r} names no file", where)
        keep = safe_relpath(names[1], f, where)
        self.report.warning(
            str(f), f"image {url!r} not found under the import root; kept as {keep!r}", where
        )
        return keep

    def image(
        self, path: str, size: tuple[int, int] | None, f: Path, where: str
    ) -> DatasetImage | None:
        img = self.images.get(path)
        if img is None:
            img = DatasetImage(path, source_id=where)
            self.images[path] = img
            self.order.append(img)
            self.origin[path] = f"{f.name} {where}"
        if size is not None:
            if img.width is None:
                img.width, img.height = size
            elif (img.width, img.height) != size:
                self.report.error(
                    str(f),
                    f"image {path} is {size[0]}x{size[1]} here but {img.width}x{img.height} in "
                    f"{self.origin[path]}; task skipped",
                    where,
                )
                return None
        return img

    # -- results --------------------------------------------------------------------------

    def geometry(
        self, kind: str, r: dict[str, Any], f: Path, where: str
    ) -> tuple[Geometry, dict[str, Any]]:
        v = r.get("value")
        if not isinstance(v, dict):
            raise BadInputError(f, "result without a 'value' object", where)
        w, h = self.size_of(r, f, where)
        attrs: dict[str, Any] = {}
        sx, sy = w / 100.0, h / 100.0
        if kind == "rectangle":
            x, y, bw, bh = (finite(v.get(k), f, where, k) for k in ("x", "y", "width", "height"))
            self._range(f, where, x, y, x + bw, y + bh)
            rot = finite(v.get("rotation") or 0, f, where, "rotation") % 360.0
            if rot:
                attrs["rotation"] = rot
                return Polygon.from_points(
                    rotated_rect_corners(x * sx, y * sy, bw * sx, bh * sy, rot, about_center=False)
                ), attrs
            return Box(x * sx, y * sy, bw * sx, bh * sy), attrs
        if kind == "polygon":
            pts = v.get("points")
            if not isinstance(pts, list) or len(pts) < 3:
                raise BadInputError(f, "polygon needs at least 3 points", where)
            xy = [finite_list(p, f, where, "point", length=2) for p in pts]
            self._range(f, where, *[c for p in xy for c in p])
            return Polygon.from_points([(px * sx, py * sy) for px, py in xy]), attrs
        if kind == "keypoint":
            x, y = finite(v.get("x"), f, where, "x"), finite(v.get("y"), f, where, "y")
            self._range(f, where, x, y)
            if v.get("width") is not None:
                attrs["point_width"] = finite(v["width"], f, where, "width")
            return Keypoints(((x * sx, y * sy, 2),)), attrs
        if kind == "ellipse":
            x, y = finite(v.get("x"), f, where, "x"), finite(v.get("y"), f, where, "y")
            rx, ry = (
                finite(v.get("radiusX"), f, where, "radiusX"),
                finite(v.get("radiusY"), f, where, "radiusY"),
            )
            rot = finite(v.get("rotation") or 0, f, where, "rotation") % 360.0
            if rx <= 0 or ry <= 0:
                raise BadInputError(f, "ellipse with a zero radius", where)
            cx, cy, prx, pry = x * sx, y * sy, rx * sx, ry * sy
            attrs.update(shape="ellipse", center=[cx, cy], rx=prx, ry=pry)
            if rot:
                attrs["rotation"] = rot
            return ellipse_polygon(cx, cy, prx, pry, rot), attrs
        if kind == "brush":
            rle = v.get("rle", r.get("rle"))
            fmt = v.get("format", "rle")
            if fmt != "rle" or rle is None:
                raise BadInputError(f, f"brush format {fmt!r} is not supported (only 'rle')", where)
            try:
                binary = brush_rle.decode_mask(rle, h, w)
            except brush_rle.BrushRleError as exc:
                raise BadInputError(f, f"brush RLE: {exc}", where) from None
            if not binary.any():
                raise BadInputError(f, "brush stroke is empty", where)
            return mask_ops.encode(binary), attrs
        raise BadInputError(f, f"unsupported region type {kind!r}", where)

    def _range(self, f: Path, where: str, *pct: float) -> None:
        if any(c < -1e-6 or c > 100 + 1e-6 for c in pct):
            self.report.warning(
                str(f), "coordinates outside the image (percent not in 0..100)", where
            )

    def size_of(self, r: dict[str, Any], f: Path, where: str) -> tuple[int, int]:
        w, h = r.get("original_width"), r.get("original_height")
        if (
            not isinstance(w, int | float)
            or not isinstance(h, int | float)
            or isinstance(w, bool)
            or isinstance(h, bool)
        ):
            raise BadInputError(f, "result without original_width/original_height", where)
        if not (w > 0 and h > 0 and float(w).is_integer() and float(h).is_integer()):
            raise BadInputError(f, f"bad image size {w}x{h}", where)
        refused = check_dimensions(int(w), int(h))
        if refused:
            raise BadInputError(f, refused, where)
        return int(w), int(h)

    def task(self, task: dict[str, Any], k: int, f: Path) -> None:
        file = str(f)
        tid = task.get("id")
        where = f"task {tid}" if tid is not None else f"task[{k}]"
        refs = _image_refs(task["data"])
        if not refs:
            self.report.error(file, "task data names no image", where)
            return
        ann, usable, cancelled = _pick_annotation(task)
        if usable > 1 and ann is not None:
            self.report.warning(
                file,
                f"{usable} annotations; used annotation {ann.get('id')} "
                f"({'ground truth' if ann.get('ground_truth') else 'most recent'}), "
                f"{usable - 1} other(s) ignored",
                where,
            )
        if ann is None and cancelled:
            self.report.info(file, f"all {cancelled} annotation(s) cancelled", where)
        preds = task.get("predictions")
        if isinstance(preds, list) and preds:
            self.report.info(file, f"{len(preds)} prediction(s) in the task not imported", where)
        results = ann.get("result") if ann is not None else []
        if not isinstance(results, list):
            self.report.error(file, "annotation 'result' is not a list", where)
            results = []
        results = [r for r in results if isinstance(r, dict)]
        # One image per data reference; results say which through to_name.
        keys = list(refs)
        paths: dict[str, str] = {}
        for key in keys:
            try:
                paths[key] = self.local_path(refs[key], task, f, f"{where} data.{key}")
            except BadInputError as exc:
                self.report.error(file, exc.problem, exc.where)
        if not paths:
            return
        by_key: dict[str, list[dict[str, Any]]] = {key: [] for key in paths}
        for j, r in enumerate(results):
            key = self._target(r, keys)
            if key is None:
                self.report.error(
                    file,
                    f"result to_name {r.get('to_name')!r} matches no image of the task",
                    f"{where} result[{j}]",
                )
                continue
            if key in by_key:
                by_key[key].append(r)
        for key, rs in by_key.items():
            size = None
            for r in rs:
                try:
                    size = self.size_of(r, f, where)
                    break
                except BadInputError:
                    continue
            if size is None and len(paths) == 1:
                size = _meta_size(task.get("meta"))
            img = self.image(paths[key], size, f, where)
            if img is not None:
                img.objects.extend(self.regions(rs, f, where))

    @staticmethod
    def _target(r: dict[str, Any], keys: list[str]) -> str | None:
        if len(keys) == 1:
            return keys[0]
        to = r.get("to_name")
        if isinstance(to, str):
            if to in keys:
                return to
            m = re.search(r"(\d+)$", to)
            if m:
                hits = [k for k in keys if k.endswith(f"[{m.group(1)}]")]
                if len(hits) == 1:
                    return hits[0]
        return None

    def regions(self, results: list[dict[str, Any]], f: Path, where: str) -> list[DatasetObject]:
        file = str(f)
        groups: dict[str, list[dict[str, Any]]] = {}
        order: list[str] = []
        for j, r in enumerate(results):
            rid = r.get("id")
            key = str(rid) if rid is not None else f"#{j}"
            if key not in groups:
                groups[key] = []
                order.append(key)
            groups[key].append(r)
        out: list[DatasetObject] = []
        for key in order:
            rs = groups[key]
            rw = f"{where} result {key}"
            geo = next(
                (
                    r
                    for r in rs
                    if str(r.get("type", "")).lower() in _LABEL_TYPES
                    or str(r.get("type", "")).lower() in _REGION_TYPES
                ),
                None,
            )
            if geo is None:
                out.extend(self._image_level(rs, file, rw))
                continue
            kind_raw = str(geo.get("type")).lower()
            kind = _LABEL_TYPES.get(kind_raw, kind_raw)
            names: list[Any] = []
            for r in rs:
                v = r.get("value") if isinstance(r.get("value"), dict) else {}
                for lk in (f"{kind}labels", "labels"):
                    if isinstance(v.get(lk), list):
                        names.extend(v[lk])
            names = [n for n in names if isinstance(n, str) and n.strip()]
            if not names:
                self.report.error(file, f"{kind} region without a label", rw)
                continue
            if len(set(names)) > 1:
                self.report.warning(file, f"region has labels {names}; using {names[0]!r}", rw)
            try:
                geom, attrs = self.geometry(kind, geo, f, rw)
            except (BadInputError, ValidationError) as exc:
                self.report.error(
                    file, exc.problem if isinstance(exc, BadInputError) else str(exc), rw
                )
                continue
            for r in rs:
                t = str(r.get("type", "")).lower()
                if r is geo or t in ("labels", kind_raw):
                    continue
                v = r.get("value") if isinstance(r.get("value"), dict) else {}
                name = r.get("from_name") or t
                val = v.get(t, v.get("text", v))
                attrs[str(name)] = val
            score = geo.get("score")
            obj = DatasetObject(self.label(names[0].strip()), geom, attrs, source_id=key)
            if (
                isinstance(score, int | float)
                and not isinstance(score, bool)
                and math.isfinite(score)
            ):
                obj.attributes.setdefault("score", float(score))
            out.append(obj)
        return out

    def _image_level(self, rs: list[dict[str, Any]], file: str, where: str) -> list[DatasetObject]:
        out = []
        for r in rs:
            t = str(r.get("type", "")).lower()
            v = r.get("value") if isinstance(r.get("value"), dict) else {}
            if t == "choices" and isinstance(v.get("choices"), list):
                for c in v["choices"]:
                    if isinstance(c, str) and c.strip():
                        out.append(
                            DatasetObject(self.label(c.strip()), Tag(), source_id=r.get("id"))
                        )
            elif t == "taxonomy" and isinstance(v.get("taxonomy"), list):
                for path in v["taxonomy"]:
                    if isinstance(path, list) and path and all(isinstance(p, str) for p in path):
                        out.append(
                            DatasetObject(self.label("/".join(path)), Tag(), source_id=r.get("id"))
                        )
            elif t == "relation":
                self.report.info(file, "relation between regions not imported", where)
            else:
                self.report.warning(file, f"result type {t!r} not imported", where)
        return out


def _is_json_min(items: Any) -> bool:
    """JSON-MIN: flat rows (``image``, ``id``, one list per control) instead of tasks."""
    return (
        isinstance(items, list)
        and bool(items)
        and isinstance(items[0], dict)
        and "data" not in items[0]
        and any(k in items[0] for k in ("image", "annotator", "annotation_id"))
    )


def read(path: Path, report: Report) -> Dataset:
    path = Path(path)
    if path.is_file():
        root, files = path.parent, [path.name]
    elif path.is_dir():
        root, files = path, walk_files(path, {".json"})
    else:
        raise BadInputError(path, "no such file or folder")
    r = _Reader(root, report)
    found = 0
    for rel in files:
        f = root / rel
        try:
            data = load_json(f)
        except BadInputError as exc:
            if len(files) == 1:
                raise
            report.error(str(f), exc.problem, exc.where)
            continue
        tasks = [data] if _is_task(data) else data if isinstance(data, list) else None
        if tasks is None or (tasks and not any(_is_task(t) for t in tasks)):
            if len(files) == 1:
                if _is_json_min(tasks):
                    raise BadInputError(
                        f,
                        "this is Label Studio's JSON-MIN export, which drops the image sizes "
                        "that percent coordinates need; export as 'JSON' instead",
                    )
                raise BadInputError(
                    f, "not a Label Studio export (expected an array of tasks with 'data')"
                )
            report.warning(str(f), "not a Label Studio task export; skipped")
            continue
        found += 1
        for k, t in enumerate(tasks):
            if not _is_task(t):
                report.error(str(f), "task is not an object with 'data'", f"task[{k}]")
                continue
            r.task(t, k, f)
    if not found and not report.errors:
        raise BadInputError(path, "no Label Studio JSON exports found")
    return Dataset(
        images=r.order, labels=list(r.labels.values()), format=NAME, root=str(root.resolve())
    )


def detect(path: Path) -> float:
    path = Path(path)
    if path.is_dir():
        cands = sorted(p for p in path.glob("*.json") if p.is_file())[:5]
        return max((detect(p) for p in cands), default=0.0)
    if path.suffix.lower() != ".json":
        return 0.0
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return 0.0
    if head.lstrip()[:1] not in (b"[", b"{"):
        return 0.0
    has_ann = any(k in head for k in (b'"annotations"', b'"completions"', b'"predictions"'))
    if has_ann and b'"result"' in head:
        return 0.9
    return 0.6 if has_ann and b'"data"' in head else 0.0


register(
    FormatSpec(
        name=NAME,
        title="Label Studio JSON",
        reader=read,
        writer=write,
        detect=detect,
        extensions=(".json",),
        aliases=("labelstudio", "ls"),
        description="Label Studio JSON task export (percent coordinates, brush RLE)",
    )
)
