"""COCO JSON: instances (boxes, polygons, RLE), keypoints, and results files.

Reading
- ``instances``/``person_keypoints`` files: one file, or a folder whose
  ``annotations/*.json`` are read together (the split comes from the file name,
  ``instances_val2017.json`` -> ``val2017``).
- One COCO annotation may become several objects sharing a ``group`` (the COCO
  annotation id): its shape (polygon, RLE mask, or the box when there is no
  segmentation) and its keypoints.
- Skeleton edges are 1-based in official COCO and 0-based in Datumaro/CVAT
  exports: an edge using index 0 means 0-based, otherwise 1-based.
- A results file (a top-level array with ``score``) becomes a predictions
  dataset. Category names come from ``gt=`` (a COCO file) or the project's labels
  with the same COCO id; otherwise "category N" with a warning. Images are
  found through ``gt=`` or, at import, through the ids remembered from the
  ground truth's import.
- Problems name the file and the id: duplicate ids, annotations pointing at
  missing images or categories, non-finite or negative sizes (errors: the item is
  skipped); coordinates more than one pixel outside the image (clipped, warning);
  ``file_name`` escaping the root (error).

The writer lives in ``formats/coco_write.py``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from lightable.core.errors import BadInputError, ValidationError
from lightable.core.geometry import Box, Geometry, Keypoints, Mask, Polygon
from lightable.core.model import Skeleton
from lightable.formats import safe_io
from lightable.formats.detect import peek_text, sample_files
from lightable.formats.model import (
    Dataset,
    DatasetImage,
    DatasetLabel,
    DatasetObject,
    Report,
)
from lightable.formats.registry import FormatSpec, register
from lightable.formats.rows import paused_gc
from lightable.formats.stored import with_source_text

NAME = "coco"
CLIP_TOLERANCE = 1.0  # pixels outside the image that are left alone (float rounding in tools)
_SPLIT_RE = re.compile(r"^(?:instances|person_keypoints|keypoints|annotations?|results)_(.+)$")


# -- reading ----------------------------------------------------------------------------


def read(path: Path, report: Report, gt: str | os.PathLike[str] | None = None) -> Dataset:
    """Read a COCO file or a folder of them (see the module docstring)."""
    path = Path(path)
    gt_data = None
    if gt is not None:
        gt_data = safe_io.load_json(gt, allow_nan=True)
        if not isinstance(gt_data, dict) or "categories" not in gt_data:
            raise BadInputError(gt, "not a COCO file with categories (needed for --gt)")
    if path.is_dir():
        files = _coco_files(path)
        if not files:
            raise BadInputError(path, "no COCO JSON files found (looked in . and annotations/)")
    else:
        files = [path]
    out = Dataset(format=NAME, source=str(path))
    for f in files:
        split = _split_of(f) if len(files) > 1 or _split_of(f) else None
        with paused_gc():
            text = safe_io.read_text(f, safe_io.current_limits().json_bytes)
            start = _WS.match(text).end()  # type: ignore[union-attr]
            if text.startswith("{", start):
                ds = _stream(f, text, start, report, split)
            else:
                data = safe_io.load_json_bytes(text, f, allow_nan=True)
                if not isinstance(data, list):
                    raise BadInputError(
                        f, f"expected a JSON object or array, got {type(data).__name__}"
                    )
                ds = _read_results(f, data, report, gt_data, Path(gt) if gt else None)
                del data
            del text
        _merge(out, ds, report, f)
    return out


_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()  # NaN/Infinity read as floats: the finite checks name the item


def _stream(f: Path, text: str, i: int, report: Report, split: str | None) -> Dataset:
    """Walk the top-level object; the ``annotations`` array is parsed one element at a time
    (``raw_decode``) and converted at once, so a 450 MB file never exists as a whole parse
    tree next to the dataset built from it."""

    def value(pos: int) -> tuple[Any, int]:
        try:
            return _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise BadInputError(
                f, f"malformed JSON: {exc.msg}", f"line {exc.lineno} column {exc.colno}"
            ) from None
        except RecursionError:
            raise BadInputError(f, "malformed JSON: nested too deeply") from None

    def expect(pos: int, chars: str, what: str) -> int:
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= len(text) or text[pos] not in chars:
            line = text.count("\n", 0, pos) + 1
            col = pos - text.rfind("\n", 0, pos)
            raise BadInputError(f, f"malformed JSON: expecting {what}", f"line {line} column {col}")
        return pos

    top: dict[str, Any] = {}
    reader: _Instances | None = None
    i += 1
    if text[expect(i, '"}', "a key")] == "}":
        raise BadInputError(f, "not a COCO file: no 'images' list")
    while True:
        i = expect(i, '"', "a key")
        key, i = value(i)
        i = expect(i, ":", "':'") + 1
        i = _WS.match(text, i).end()  # type: ignore[union-attr]
        if key == "annotations" and text.startswith("[", i) and "images" in top:
            reader = _Instances(f, report, split)
            reader.start(top.pop("images"))
            i = _stream_array(text, i + 1, value, expect, reader)
        else:
            top[key], i = value(i)
        i = expect(i, ",}", "',' or '}'")
        if text[i] == "}":
            break
        i += 1
    if _WS.match(text, i + 1).end() != len(text):  # type: ignore[union-attr]
        raise BadInputError(f, "malformed JSON: extra data after the top-level object")
    if reader is None:
        return _read_instances(f, top, report, split)
    reader.ctx.source = None
    return reader.finish(top.get("categories"))


def _stream_array(text: str, i: int, value: Any, expect: Any, reader: _Instances) -> int:
    """Feed the elements of the array starting after its '[' to ``reader``; returns the
    position after the ']'."""
    n = 0
    i = expect(i, '{["tfn0123456789-]NI', "a value or ']'")
    if text[i] == "]":
        return i + 1
    while True:
        start = i
        a, i = value(i)
        if n == 0 and isinstance(a, dict) and "segments_info" in a:
            raise BadInputError(
                reader.f,
                "a COCO panoptic file (segments_info): import it with --format coco_panoptic",
            )
        reader.ctx.source = text[start:i]
        reader.add(a, n)
        n += 1
        i = expect(i, ",]", "',' or ']'")
        if text[i] == "]":
            return i + 1
        i = _WS.match(text, i + 1).end()


def _coco_files(folder: Path) -> list[Path]:
    cands = (
        sorted((folder / "annotations").glob("*.json")) if (folder / "annotations").is_dir() else []
    )
    cands += sorted(folder.glob("*.json"))
    return [f for f in cands if detect(f)[0] >= 0.5]


def _split_of(f: Path) -> str | None:
    m = _SPLIT_RE.match(f.stem)
    return m.group(1) if m else None


def _is_panoptic(data: dict[str, Any]) -> bool:
    anns = data.get("annotations")
    return (
        isinstance(anns, list)
        and bool(anns)
        and isinstance(anns[0], dict)
        and "segments_info" in anns[0]
    )


def _merge(out: Dataset, ds: Dataset, report: Report, f: Path) -> None:
    if not out.images and not out.labels:
        out.images, out.labels = ds.images, ds.labels
        out.predictions, out.root = ds.predictions, ds.root
        return
    if ds.predictions != out.predictions:
        raise BadInputError(
            f, "mixes results (predictions) and ground-truth files; import them separately"
        )
    names = {lb.name for lb in out.labels}
    out.labels.extend(lb for lb in ds.labels if lb.name not in names)
    if ds.root != out.root:
        # Re-base this file's image paths onto the common root.
        common = os.path.commonpath([out.root, ds.root])
        for ims, root in ((out.images, out.root), (ds.images, ds.root)):
            prefix = os.path.relpath(root, common).replace(os.sep, "/")
            if prefix != ".":
                for im in ims:
                    if im.path:
                        im.path = f"{prefix}/{im.path}"
        out.root = common
    out.images.extend(ds.images)


class _Ctx:
    """Per-file state of the instances reader."""

    def __init__(self, f: Path, report: Report) -> None:
        self.f = f
        self.src = str(f)
        self.report = report
        # The JSON text of the annotation being read, when the file is streamed.
        self.source: str | None = None

    def err(self, problem: str, where: str | None = None) -> None:
        self.report.error(self.src, problem, where)

    def warn(self, problem: str, where: str | None = None) -> None:
        self.report.warning(self.src, problem, where)


def _read_categories(
    ctx: _Ctx, cats: Any, kpt_counts: dict[Any, int]
) -> tuple[list[DatasetLabel], dict[Any, str]]:
    labels: list[DatasetLabel] = []
    by_id: dict[Any, str] = {}
    names: dict[str, DatasetLabel] = {}
    if not isinstance(cats, list):
        raise BadInputError(ctx.f, "'categories' must be a list")
    for i, c in enumerate(cats):
        where = f"categories[{i}]"
        if not isinstance(c, dict) or "id" not in c:
            ctx.err("category without an id", where)
            continue
        cid = c["id"]
        where = f"category id {cid}"
        if not isinstance(cid, int | str) or isinstance(cid, bool):
            ctx.err(f"category id {cid!r} is not an integer", where)
            continue
        if cid in by_id:
            ctx.err(f"duplicate category id {cid}", where)
            continue
        name = c.get("name")
        if not isinstance(name, str) or not name.strip():
            name = f"category {cid}"
            ctx.warn(f"category has no name; called it {name!r}", where)
        name = name.strip()
        by_id[cid] = name
        skeleton = _skeleton(ctx, c, kpt_counts.get(cid, 0), where)
        if name in names:
            ctx.warn(f"category name {name!r} is used by two ids; merged into one label", where)
            if skeleton is not None and names[name].skeleton is None:
                names[name].skeleton = skeleton
            continue
        sup = c.get("supercategory")
        lb = DatasetLabel(
            name=name,
            source_id=cid,
            skeleton=skeleton,
            supercategory=sup if isinstance(sup, str) and sup else None,
            color=c.get("color") if isinstance(c.get("color"), str) else None,
        )
        names[name] = lb
        labels.append(lb)
    return labels, by_id


def _skeleton(ctx: _Ctx, c: dict[str, Any], n_used: int, where: str) -> Skeleton | None:
    kp_names = c.get("keypoints")
    edges_raw = c.get("skeleton")
    if kp_names is None and edges_raw is None and not n_used:
        return None
    names = [str(n) for n in kp_names] if isinstance(kp_names, list) else []
    pairs: list[tuple[int, int]] = []
    if isinstance(edges_raw, list) and edges_raw:
        if any(
            not isinstance(e, list | tuple)
            or len(e) != 2
            or any(not isinstance(v, int) or isinstance(v, bool) for v in e)
            for e in edges_raw
        ):
            ctx.err("skeleton must be a list of [a, b] index pairs; skeleton dropped", where)
        else:
            pairs = [(int(a), int(b)) for a, b in edges_raw]
    flat = [v for e in pairs for v in e]
    base = 0 if (flat and min(flat) == 0) else 1  # 1-based official, 0-based Datumaro
    # Datumaro writes empty name lists; the count then comes from the points or the edges.
    n = max(len(names), n_used, (max(flat) - base + 1) if flat and not names else 0)
    if len(names) < n:
        names = names + [str(i + 1) for i in range(len(names), n)]
    edges: list[tuple[int, int]] = []
    for a0, b0 in pairs:
        a, b = a0 - base, b0 - base
        if not (0 <= a < n and 0 <= b < n):
            ctx.err(f"skeleton edge [{a0}, {b0}] outside {n} keypoints; dropped", where)
            continue
        edges.append((a, b))
    return Skeleton(names, edges)


def _image_root(f: Path) -> Path:
    """Where ``file_name`` is relative to: the JSON's folder, or its parent for the
    standard ``annotations/`` layout."""
    d = f.parent.resolve()
    return d.parent if d.name.lower() == "annotations" else d


class _Locator:
    """Finds the file a ``file_name`` names under the root, trying the usual layouts;
    the prefix that worked last is tried first (one stat per image on big sets)."""

    def __init__(self, root: Path, split: str | None) -> None:
        self.root = root
        prefixes = ["", "images/", "JPEGImages/", "image/"]
        if split:
            prefixes[1:1] = [f"images/{split}/", f"{split}/", f"images/{split}2017/"]
        self.prefixes = prefixes
        self.last = ""

    def find(self, rel: str) -> str:
        for p in [self.last, *self.prefixes]:
            cand = p + rel
            if os.path.isfile(os.path.join(self.root, cand)):
                self.last = p
                return cand
        if not os.path.splitext(rel)[1]:
            # Some exporters (X-AnyLabeling) drop the extension from file_name.
            for p in [self.last, *self.prefixes]:
                for ext in (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".JPG", ".PNG"):
                    if os.path.isfile(os.path.join(self.root, p + rel + ext)):
                        return p + rel + ext
        return rel


class _Instances:
    """Reads one instances/keypoints file annotation by annotation.

    Category names are resolved at the end: official COCO files list ``categories``
    after ``annotations``, and a streamed file has them only then (see ``_stream``).
    """

    def __init__(self, f: Path, report: Report, split: str | None) -> None:
        self.ctx = _Ctx(f, report)
        self.f = f
        self.split = split
        self.root = _image_root(f)
        self.ds = Dataset(format=NAME, root=str(self.root), source=str(f))
        self.images: dict[Any, DatasetImage | None] = {}
        self.seen: set[Any] = set()
        self.kpt_counts: dict[Any, int] = {}
        self.by_cat: dict[Any, list[DatasetObject]] = {}

    def start(self, images_raw: Any) -> None:
        if not isinstance(images_raw, list):
            raise BadInputError(self.f, "'images' must be a list")
        self.images = _read_images(self.ctx, images_raw, self.root, self.split, self.ds)

    def add(self, a: Any, i: int) -> None:
        if isinstance(a, dict) and isinstance(a.get("keypoints"), list):
            cid = a.get("category_id")
            n = len(a["keypoints"]) // 3
            if n > self.kpt_counts.get(cid, 0):
                self.kpt_counts[cid] = n
        _read_annotation(self.ctx, a, i, self.images, self.by_cat, self.seen)

    def finish(self, categories: Any) -> Dataset:
        labels, cat_names = _read_categories(self.ctx, categories or [], self.kpt_counts)
        self.ds.labels = labels
        dropped = False
        for cid, objs in self.by_cat.items():
            name = cat_names.get(cid) if isinstance(cid, int | str) else None
            if name is not None:
                for o in objs:
                    o.label = name
                continue
            dropped = True
            for aid in dict.fromkeys(o.source_id for o in objs):
                where = f"annotation id {aid}"
                self.ctx.err(
                    f"annotation points at category id {cid!r}, which is not in 'categories'",
                    where,
                )
        if dropped:
            for im in self.ds.images:
                im.objects = [o for o in im.objects if o.label]
        return self.ds


def _read_instances(f: Path, data: dict[str, Any], report: Report, split: str | None) -> Dataset:
    if _is_panoptic(data):
        raise BadInputError(
            f, "a COCO panoptic file (segments_info): import it with --format coco_panoptic"
        )
    for key in ("images", "annotations", "categories"):
        if key in data and not isinstance(data[key], list):
            raise BadInputError(f, f"'{key}' must be a list")
    if "images" not in data:
        raise BadInputError(f, "not a COCO file: no 'images' list")
    r = _Instances(f, report, split)
    r.start(data["images"])
    anns = data.get("annotations") or []
    for i, a in enumerate(anns):
        r.add(a, i)
        anns[i] = None  # free the parsed JSON as we go
    return r.finish(data.get("categories"))


def _read_images(
    ctx: _Ctx, images_raw: list[Any], root: Path, split: str | None, ds: Dataset
) -> dict[Any, DatasetImage]:
    images: dict[Any, DatasetImage] = {}
    loc = _Locator(root, split)
    for i, im in enumerate(images_raw):
        if not isinstance(im, dict) or "id" not in im:
            ctx.err("image without an id", f"images[{i}]")
            continue
        iid = im["id"]
        where = f"image id {iid}"
        if isinstance(iid, bool) or not isinstance(iid, int | str):
            ctx.err(f"image id {iid!r} is not an integer", where)
            continue
        if iid in images:
            ctx.err(f"duplicate image id {iid}", where)
            continue
        try:
            rel = safe_io.safe_relpath(im.get("file_name"), ctx.f, where)
            w = _opt_size(im.get("width"), ctx.f, where, "width")
            h = _opt_size(im.get("height"), ctx.f, where, "height")
        except BadInputError as exc:
            ctx.err(exc.problem, where)
            images[iid] = None  # type: ignore[assignment]  # annotations on it are skipped quietly
            continue
        dimg = DatasetImage(path=loc.find(rel), width=w, height=h, split=split, source_id=iid)
        images[iid] = dimg
        ds.images.append(dimg)
        images_raw[i] = None
    return images


def _opt_size(v: Any, f: Path, where: str, what: str) -> int | None:
    if v is None or v == "":
        return None
    n = safe_io.as_int(v, f, where, what)
    if n <= 0:
        raise BadInputError(f, f"{what} {n} is not positive", where)
    return n


def _read_annotation(
    ctx: _Ctx,
    a: Any,
    i: int,
    images: dict[Any, DatasetImage | None],
    by_cat: dict[Any, list[DatasetObject]],
    seen: set[Any],
) -> None:
    """Objects of one annotation, appended to its image; their label is filled in by
    ``_Instances.finish`` once the categories are known (``by_cat`` collects them)."""
    if not isinstance(a, dict):
        ctx.err("annotation is not an object", f"annotations[{i}]")
        return
    aid = a.get("id")
    where = f"annotation id {aid}" if aid is not None else f"annotations[{i}]"
    if aid is not None:
        if aid in seen:
            ctx.err(f"duplicate annotation id {aid}", where)
            return
        seen.add(aid)
    iid = a.get("image_id")
    if iid not in images:
        ctx.err(f"annotation points at image id {iid!r}, which is not in 'images'", where)
        return
    im = images[iid]
    if im is None:
        return  # the image itself was refused and reported
    cid = a.get("category_id")
    if not isinstance(cid, int | str) or isinstance(cid, bool):
        ctx.err(f"annotation points at category id {cid!r}, which is not in 'categories'", where)
        return
    try:
        objs = _geometries(ctx, a, im, where)
    except (BadInputError, ValidationError) as exc:
        ctx.err(getattr(exc, "problem", str(exc)), where)
        return
    if not objs:
        ctx.err("annotation has no bbox, segmentation or keypoints", where)
        return
    attrs: dict[str, Any] = {}
    ext = a.get("attributes")
    if isinstance(ext, dict):
        attrs = ext
    elif ext is not None:
        ctx.warn("'attributes' is not an object; ignored", where)
    iscrowd = bool(a.get("iscrowd") or 0)
    score = a.get("score")
    if score is not None:
        try:
            score = safe_io.finite(score, ctx.f, where, "score")
        except BadInputError as exc:
            ctx.err(exc.problem, where)
            return
    group = aid if len(objs) > 1 else None
    bucket = by_cat.get(cid)
    if bucket is None:
        bucket = by_cat[cid] = []
    for g in objs:
        o = DatasetObject(
            label="",
            geometry=g,
            attributes=dict(attrs) if len(objs) > 1 else attrs,
            score=score,
            source_id=aid,
            group=group,
            iscrowd=iscrowd,
        )
        im.objects.append(o)
        bucket.append(o)


def _clip(vals: list[float], w: int | None, h: int | None) -> tuple[list[float], bool]:
    """Clip x/y pairs into the image when they are more than CLIP_TOLERANCE outside."""
    if not w or not h:
        return vals, False
    xs, ys = vals[0::2], vals[1::2]
    lo, hi = min(min(xs), min(ys)), (max(xs) - w, max(ys) - h)
    if lo >= -CLIP_TOLERANCE and hi[0] <= CLIP_TOLERANCE and hi[1] <= CLIP_TOLERANCE:
        return vals, False
    out = list(vals)
    out[0::2] = [min(max(x, 0.0), float(w)) for x in xs]
    out[1::2] = [min(max(y, 0.0), float(h)) for y in ys]
    return out, True


def _geometries(ctx: _Ctx, a: dict[str, Any], im: DatasetImage, where: str) -> list[Geometry]:
    out: list[Geometry] = []
    seg = a.get("segmentation")
    shape: Geometry | None = None
    if isinstance(seg, dict):
        shape = _rle(ctx, seg, im, where)
    elif isinstance(seg, list) and seg:
        shape = _polygon(ctx, seg, im, where)
    elif seg not in (None, [], {}):
        ctx.warn("'segmentation' is neither polygons nor RLE; used the bbox", where)
    if shape is None and a.get("bbox") is not None:
        shape = _box(ctx, a["bbox"], im, where)
    if shape is not None:
        out.append(shape)
    kp = a.get("keypoints")
    if isinstance(kp, list) and kp:
        vals = safe_io.finite_list(kp, ctx.f, where, "keypoints")
        if len(vals) % 3:
            raise BadInputError(ctx.f, f"keypoints: {len(vals)} numbers, not x,y,v triplets", where)
        pts = []
        clipped = False
        for j in range(0, len(vals), 3):
            x, y, v = vals[j], vals[j + 1], vals[j + 2]
            if v not in (0.0, 1.0, 2.0):
                raise BadInputError(ctx.f, f"keypoint visibility {v:g} is not 0, 1 or 2", where)
            if v and im.width and im.height:
                (x, y), c = _clip([x, y], im.width, im.height)
                clipped |= c
            pts.append((x, y, int(v)))
        if clipped:
            ctx.warn("keypoints more than 1 px outside the image; clipped", where)
        out.append(Keypoints(tuple(pts)))
    return out


def _box(ctx: _Ctx, bbox: Any, im: DatasetImage, where: str) -> Box:
    x, y, w, h = safe_io.finite_list(bbox, ctx.f, where, "bbox", length=4)
    if w < 0 or h < 0:
        raise BadInputError(ctx.f, f"bbox has a negative size ({w:g} x {h:g})", where)
    if im.width and im.height:
        outside = x >= im.width or y >= im.height or x + w <= 0 or y + h <= 0
        if outside and w > 0 and h > 0:
            raise BadInputError(
                ctx.f, f"bbox {bbox} lies outside the {im.width}x{im.height} image", where
            )
        c, clipped = _clip([x, y, x + w, y + h], im.width, im.height)
        if clipped:
            ctx.warn(f"bbox {bbox} more than 1 px outside the image; clipped", where)
            return Box(c[0], c[1], c[2] - c[0], c[3] - c[1])
    return Box(x, y, w, h)


def _polygon(ctx: _Ctx, seg: list[Any], im: DatasetImage, where: str) -> Polygon | None:
    if seg and not isinstance(seg[0], list):
        seg = [seg]  # a single flat ring, as some tools write
    rings: list[tuple[float, ...]] = []
    clipped = False
    for ring in seg:
        vals = safe_io.finite_list(ring, ctx.f, where, "segmentation")
        if len(vals) % 2:
            raise BadInputError(ctx.f, "segmentation ring has an odd number of coordinates", where)
        if len(vals) < 6:
            ctx.warn(f"segmentation ring with {len(vals) // 2} points dropped", where)
            continue
        vals, c = _clip(vals, im.width, im.height)
        clipped |= c
        rings.append(tuple(vals))
    if clipped:
        ctx.warn("segmentation more than 1 px outside the image; clipped", where)
    if not rings:
        return None
    if ctx.source is not None and not clipped and len(rings) == len(seg):
        return with_source_text(tuple(rings), ctx.source)
    return _fast_polygon(tuple(rings))


def _fast_polygon(rings: tuple[tuple[float, ...], ...]) -> Polygon:
    """A Polygon from rings already checked by ``finite_list`` (skips re-validating
    every coordinate: this is the hot loop of million-annotation imports)."""
    p = object.__new__(Polygon)
    object.__setattr__(p, "rings", rings)
    return p


def _rle(ctx: _Ctx, seg: dict[str, Any], im: DatasetImage, where: str) -> Mask:
    from lightable.imaging import masks

    size = seg.get("size")
    known = bool(im.width and im.height and isinstance(size, list) and len(size) == 2)
    if known and (size[0], size[1]) != (im.height, im.width):
        raise BadInputError(
            ctx.f, f"RLE size {size} differs from the image's [{im.height}, {im.width}]", where
        )
    try:
        return masks.from_coco(seg)
    except ValidationError as exc:
        raise BadInputError(ctx.f, str(exc), where) from None
    except Exception as exc:  # pycocotools raises plain errors on corrupt counts
        raise BadInputError(ctx.f, f"RLE: cannot decode ({exc})", where) from None


def _read_results(
    f: Path, dets: list[Any], report: Report, gt: dict[str, Any] | None, gt_path: Path | None
) -> Dataset:
    ctx = _Ctx(f, report)
    ds = Dataset(format=NAME, predictions=True, source=str(f), root="")
    images: dict[Any, DatasetImage | None] = {}
    if gt is not None and gt_path is not None:
        gctx = _Ctx(gt_path, report)
        kpt_counts: dict[Any, int] = {}
        labels, cat_names = _read_categories(gctx, gt.get("categories") or [], kpt_counts)
        root = _image_root(gt_path)
        ds.root = str(root)
        tmp = Dataset()
        images = _read_images(gctx, list(gt.get("images") or []), root, _split_of(gt_path), tmp)  # type: ignore[assignment]
        ds.images = tmp.images
    else:
        labels, cat_names = [], {}
        ids = []
        for d in dets:
            if isinstance(d, dict):
                ids.append(d.get("category_id"))
        for cid in dict.fromkeys(ids):
            if isinstance(cid, int | str) and not isinstance(cid, bool):
                cat_names[cid] = f"category {cid}"
                labels.append(DatasetLabel(name=f"category {cid}", source_id=cid, placeholder=True))
        if labels:
            ctx.warn(
                f"results file has no category names; {len(labels)} categories named "
                "'category N' unless the project has labels with those COCO ids (pass --gt to name them)"
            )
    ds.labels = labels
    for i, d in enumerate(dets):
        where = f"results[{i}]"
        if not isinstance(d, dict):
            ctx.err("detection is not an object", where)
            continue
        iid = d.get("image_id")
        where = f"results[{i}] (image_id {iid})"
        if gt is not None:
            if iid not in images:
                ctx.err(
                    f"detection points at image id {iid!r}, which is not in the --gt file", where
                )
                continue
            im = images[iid]
            if im is None:
                continue
        else:
            if isinstance(iid, bool) or not isinstance(iid, int | str):
                ctx.err(f"image_id {iid!r} is not an integer", where)
                continue
            im = images.get(iid)
            if im is None:
                im = images[iid] = DatasetImage(path="", source_id=iid)
                ds.images.append(im)
        label = cat_names.get(d.get("category_id"))
        if label is None:
            ctx.err(f"detection points at unknown category id {d.get('category_id')!r}", where)
            continue
        if "score" not in d:
            ctx.err("detection has no score", where)
            continue
        try:
            score = safe_io.finite(d["score"], f, where, "score")
            geoms = _geometries(ctx, {k: v for k, v in d.items() if k != "attributes"}, im, where)
        except (BadInputError, ValidationError) as exc:
            ctx.err(getattr(exc, "problem", str(exc)), where)
            continue
        if not geoms:
            ctx.err("detection has no bbox, segmentation or keypoints", where)
            continue
        # A results entry with keypoints also carries a box; the keypoints are the prediction.
        g = geoms[-1]
        im.objects.append(DatasetObject(label=label, geometry=g, score=score, source_id=i))
    return ds


# -- detection ----------------------------------------------------------------------------


def detect(path: Path) -> tuple[float, str]:
    path = Path(path)
    if path.is_dir():
        files = sample_files(path, (".json",), limit=20, depth=1)
        best = max((detect(f)[0] for f in files), default=0.0)
        return (best * 0.95, "folder of COCO JSON files") if best else (0.0, "")
    if path.suffix.lower() != ".json":
        return 0.0, ""
    head = peek_text(path)
    s = head.lstrip()
    if s.startswith("["):
        if '"image_id"' in head and '"category_id"' in head and '"score"' in head:
            return 0.9, "COCO results array (image_id, category_id, score)"
        return 0.0, ""
    if not s.startswith("{"):
        return 0.0, ""
    if '"segments_info"' in head:
        return 0.2, "COCO panoptic (not supported)"
    has_images = '"images"' in head and '"file_name"' in head
    score = 0.0
    if has_images:
        score = 0.7
        if '"annotations"' in head or '"categories"' in head:
            score = 0.9
    elif '"annotations"' in head and '"categories"' in head and '"image_id"' in head:
        score = 0.6
    return score, ("COCO JSON (images, annotations, categories)" if score else "")


def _writer() -> Any:
    from lightable.formats import coco_write

    return coco_write


def _write(*args: Any) -> None:
    _writer().write(*args)


def _plan(*args: Any) -> None:
    _writer().plan(*args)


register(
    FormatSpec(
        name=NAME,
        title="COCO JSON",
        reader=read,
        writer=_write,
        detect=detect,
        extensions=(".json",),
        holds=frozenset({Box.kind, Polygon.kind, Mask.kind, Keypoints.kind}),
        plan=_plan,
        aliases=("coco_instances", "coco_keypoints", "coco_results", "mscoco"),
        description="COCO instances/keypoints JSON and results files",
        predictions=True,
    )
)
