"""COCO writer.

``annotations/instances_<split>.json`` per split (``default`` when an image has
none; ``split_files=False`` writes one ``instances_default.json``), keypoints
included with the skeleton (1-based edges as in official COCO), masks as
compressed RLE, attributes in the ``attributes`` extension (Datumaro/CVAT);
objects sharing a group become one COCO annotation. A model run becomes a
results array ``annotations/results_<split>.json`` (polygons as RLE, which
pycocotools' ``loadRes`` needs). Floats are written in full (``repr``), so a
round trip is exact. Category ids are the labels' COCO ids when they have
unique ones, else 1..N in label order; image ids the project's image ids.
"""

from __future__ import annotations

import json
import re
import secrets
from collections import defaultdict
from pathlib import Path
from typing import Any

from lightable.core.geometry import Box, Keypoints, Mask, Polygon, Tag
from lightable.formats.export_io import place_media
from lightable.formats.model import (
    Dataset,
    DatasetImage,
    DatasetObject,
    ExportOptions,
    MediaMode,
    Report,
)
from lightable.formats.rows import polygon_area, polygon_bbox
from lightable.formats.stored import StoredPolygon

NAME = "coco"


def _category_ids(ds: Dataset) -> dict[str, int]:
    """Label name -> category id: the labels' COCO ids when they are unique integers,
    else 1..N in label order."""
    ids = [lb.source_id for lb in ds.labels]
    if (
        ids
        and all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
        and len(set(ids)) == len(ids)
    ):
        return {lb.name: int(lb.source_id) for lb in ds.labels}  # type: ignore[arg-type]
    return {lb.name: i + 1 for i, lb in enumerate(ds.labels)}


def _image_ids(ds: Dataset) -> list[int]:
    ids = [im.source_id for im in ds.images]
    if all(isinstance(i, int) and not isinstance(i, bool) for i in ids) and len(set(ids)) == len(
        ids
    ):
        return ids  # type: ignore[return-value]
    return list(range(1, len(ds.images) + 1))


def _num(v: float) -> float | int:
    return int(v) if v.is_integer() and abs(v) < 1e15 else v


def plan(ds: Dataset, report: Report, options: ExportOptions) -> None:
    tags = sum(1 for im in ds.images for o in im.objects if isinstance(o.geometry, Tag))
    if tags:
        report.warning(NAME, f"{tags} image-level tags cannot be held by COCO instances; left out")
    if any(not im.width or not im.height for im in ds.images):
        report.warning(NAME, "some images have no known size; width/height written as 0")


def _ann_dicts(
    im: DatasetImage, image_id: int, cats: dict[str, int], next_id: list[int], raws: list[str]
) -> list[dict[str, Any]]:
    """COCO annotations of one image: objects sharing a group (and label) are merged."""
    groups: dict[Any, list[DatasetObject]] = defaultdict(list)
    order: list[Any] = []
    out: list[dict[str, Any]] = []
    for k, o in enumerate(im.objects):
        if isinstance(o.geometry, Tag) or o.label not in cats:
            continue
        if o.group is None and isinstance(o.geometry, Polygon) and o.extent is not None:
            out.append(_polygon_dict(o, image_id, cats, next_id, raws))  # the common case
            continue
        key = (o.group, o.label) if o.group is not None else ("_", k)
        if key not in groups:
            order.append(key)
        groups[key].append(o)
    for key in order:
        objs = groups[key]
        shape = next(
            (o.geometry for o in objs if not isinstance(o.geometry, Keypoints | Box)), None
        )
        box = next((o.geometry for o in objs if isinstance(o.geometry, Box)), None)
        kps = next((o.geometry for o in objs if isinstance(o.geometry, Keypoints)), None)
        first = objs[0]
        d: dict[str, Any] = {
            "id": next_id[0],
            "image_id": image_id,
            "category_id": cats[first.label],
        }
        next_id[0] += 1
        if isinstance(shape, Polygon):
            d["segmentation"] = shape.rings  # tuples encode as JSON arrays
            bbox = box.bbox() if box is not None else polygon_bbox(shape)
            area = polygon_area(shape)
        elif isinstance(shape, Mask):
            d["segmentation"] = {"size": [shape.height, shape.width], "counts": shape.counts}
            bbox = box.bbox() if box is not None else shape.bbox()
            area = shape.area()
        elif box is not None:
            d["segmentation"] = []
            bbox = box.bbox()
            area = box.area()
        else:
            assert kps is not None
            bbox = kps.bbox()
            area = bbox[2] * bbox[3]
        d["bbox"] = [_num(v) for v in bbox]
        d["area"] = _num(float(area))
        d["iscrowd"] = 1 if any(o.iscrowd for o in objs) else 0
        if kps is not None:
            d["keypoints"] = [_num(float(v)) for v in kps.flat()]
            d["num_keypoints"] = len(kps.labeled())
        if first.score is not None:
            d["score"] = first.score
        attrs: dict[str, Any] = {}
        for o in objs:
            attrs.update(o.attributes)
        if attrs:
            d["attributes"] = attrs
        out.append(d)
    return out


def _polygon_dict(
    o: DatasetObject, image_id: int, cats: dict[str, int], next_id: list[int], raws: list[str]
) -> dict[str, Any]:
    """One ungrouped polygon, its bbox and area as the project stored them; rings read
    from the store are copied as JSON text (see ``formats.stored``)."""
    x, y, w, h, area = o.extent  # type: ignore[misc]
    g = o.geometry
    if isinstance(g, StoredPolygon):
        seg: Any = f"{RAW_MARK}{len(raws)}"
        raws.append(g.rings_json)
    else:
        seg = g.rings  # type: ignore[union-attr]
    d: dict[str, Any] = {
        "id": next_id[0],
        "image_id": image_id,
        "category_id": cats[o.label],
        "segmentation": seg,
        "bbox": [_num(x), _num(y), _num(w), _num(h)],
        "area": _num(float(area)),
        "iscrowd": 1 if o.iscrowd else 0,
    }
    next_id[0] += 1
    if o.score is not None:
        d["score"] = o.score
    if o.attributes:
        d["attributes"] = o.attributes
    return d


def _result_dicts(im: DatasetImage, image_id: int, cats: dict[str, int]) -> list[dict[str, Any]]:
    out = []
    for o in im.objects:
        g = o.geometry
        if isinstance(g, Tag) or o.label not in cats:
            continue
        d: dict[str, Any] = {"image_id": image_id, "category_id": cats[o.label]}
        if isinstance(g, Box):
            d["bbox"] = [_num(v) for v in g.bbox()]
        elif isinstance(g, Polygon):
            if im.width and im.height:
                # pycocotools' loadRes takes results masks only as RLE.
                from lightable.imaging import masks

                m = masks.from_polygon(g, int(im.height), int(im.width))
                d["segmentation"] = {"size": [m.height, m.width], "counts": m.counts}
            else:
                d["segmentation"] = [list(r) for r in g.rings]
            d["bbox"] = [_num(v) for v in g.bbox()]
        elif isinstance(g, Mask):
            d["segmentation"] = {"size": [g.height, g.width], "counts": g.counts}
            d["bbox"] = [_num(v) for v in g.bbox()]
        elif isinstance(g, Keypoints):
            d["keypoints"] = [_num(float(v)) for v in g.flat()]
            d["bbox"] = [_num(v) for v in g.bbox()]
        d["score"] = o.score if o.score is not None else 1.0
        out.append(d)
    return out


def write(ds: Dataset, out: Path, report: Report, options: ExportOptions) -> None:
    cats = _category_ids(ds)
    categories = []
    for lb in ds.labels:
        c: dict[str, Any] = {
            "id": cats[lb.name],
            "name": lb.name,
            "supercategory": lb.supercategory or "",
        }
        if lb.skeleton is not None:
            c["keypoints"] = list(lb.skeleton.names)
            c["skeleton"] = [[a + 1, b + 1] for a, b in lb.skeleton.edges]
        if lb.color:
            c["color"] = lb.color
        categories.append(c)
    image_ids = _image_ids(ds)
    by_split: dict[str, list[int]] = defaultdict(list)
    for k, im in enumerate(ds.images):
        key = (im.split or "default") if options.split_files else "default"
        by_split[key].append(k)
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    next_id = [1]
    for split, idx in sorted(by_split.items()):
        kind = "results" if ds.predictions else "instances"
        target = out / "annotations" / f"{kind}_{_safe_name(split)}.json"
        with open(target, "w", encoding="utf-8") as fh:
            if ds.predictions:
                _write_chunks(
                    fh, (_result_dicts(ds.images[k], image_ids[k], cats) for k in idx), "[", "]"
                )
            else:
                _write_instances(fh, ds, idx, image_ids, categories, cats, next_id)
        if options.media != MediaMode.NONE:
            for k in idx:
                im = ds.images[k]
                place_media(ds, im, out, f"images/{im.path}", options.media, report)


def _safe_name(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s) or "default"


def _write_instances(
    fh: Any,
    ds: Dataset,
    idx: list[int],
    image_ids: list[int],
    categories: list[dict[str, Any]],
    cats: dict[str, int],
    next_id: list[int],
) -> None:
    head = {
        "info": {"description": f"exported by Lightable from {ds.name}", "version": "1.0"},
        "licenses": [],
        "categories": categories,
    }
    fh.write(json.dumps(head, ensure_ascii=False)[:-1])
    fh.write(', "images": ')
    imgs = []
    for k in idx:
        im = ds.images[k]
        imgs.append(
            {
                "id": image_ids[k],
                "file_name": im.path,
                "width": im.width or 0,
                "height": im.height or 0,
            }
        )
    fh.write(json.dumps(imgs, ensure_ascii=False))
    del imgs
    fh.write(', "annotations": ')
    raws: list[str] = []
    parts = (_ann_dicts(ds.images[k], image_ids[k], cats, next_id, raws) for k in idx)
    _write_chunks(fh, parts, "[", "]", raws)
    fh.write("}")


# A string no annotation holds (random per run); json.dumps writes the NUL as \u0000.
_TOKEN = secrets.token_hex(6)
RAW_MARK = f"\x00raw{_TOKEN}:"
_RAW_RE = re.compile(r'"\\u0000raw' + _TOKEN + r':(\d+)"')


def _write_chunks(
    fh: Any, parts: Any, open_: str, close: str, raws: list[str] | None = None, chunk: int = 20_000
) -> None:
    """A JSON array written in slices through the C encoder (``json.dump`` would use the
    slow pure-Python one): bounded memory for a million annotations."""
    fh.write(open_)
    first = True
    buf: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal first
        if not buf:
            return
        s = json.dumps(buf, ensure_ascii=False)
        if raws:
            # Stored rings go in as the JSON text they already are.
            s = _RAW_RE.sub(lambda m: raws[int(m.group(1))], s)
            raws.clear()
        fh.write(s[1:-1] if first else ", " + s[1:-1])
        first = False
        buf.clear()

    for items in parts:
        buf.extend(items)
        if len(buf) >= chunk:
            flush()
    flush()
    fh.write(close)
