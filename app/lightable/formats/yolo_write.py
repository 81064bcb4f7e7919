"""YOLO writer: the Ultralytics layout.

``data.yaml`` (``path: .``, one key per split, ``names`` as a mapping, ``kpt_shape``
for pose), ``images/<split>/<path>`` (with ``--media copy|link``) and the mirrored
``labels/<split>/<path>.txt``. Images without a split go to ``train``.

- boxes: ``c cx cy w h``; polygons: ``c x1 y1 ...`` (one row per ring);
- masks: traced to polygons with ``cv2.findContours`` (``--option mask_mode=box``
  writes their boxes instead);
- keypoints: pose rows (the object's box from its group, else the keypoints'
  extent) when the data set has keypoints; boxes without keypoints then get
  invisible points, as Ultralytics expects one row shape per data set;
- image-level tags: ``--option task=classify`` writes ``<split>/<class>/`` folders
  instead (needs ``--media``); otherwise they cannot be held.

Coordinates are written with 12 significant digits: within 1e-8 px of the
original for images up to 10,000 px.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from lightable.core.geometry import Box, Keypoints, Mask, Polygon, Tag
from lightable.formats.export_io import place_media, require_size
from lightable.formats.model import (
    Dataset,
    DatasetImage,
    DatasetObject,
    ExportOptions,
    MediaMode,
    Report,
)

NAME = "yolo"


def _fmt(v: float) -> str:
    return f"{v:.12g}"


def class_ids(ds: Dataset) -> dict[str, int]:
    """Label -> class id: the labels' YOLO ids when they are exactly 0..N-1, else label order."""
    ids = [lb.source_id for lb in ds.labels]
    if (
        ids
        and all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
        and sorted(ids) == list(range(len(ids)))  # type: ignore[type-var]
    ):
        return {lb.name: int(lb.source_id) for lb in ds.labels}  # type: ignore[arg-type]
    return {lb.name: i for i, lb in enumerate(ds.labels)}


def _kpt_count(ds: Dataset) -> int:
    k = 0
    for im in ds.images:
        for o in im.objects:
            if isinstance(o.geometry, Keypoints):
                k = max(k, len(o.geometry.points))
    return k


def plan(ds: Dataset, report: Report, options: ExportOptions) -> None:
    kinds = Counter(o.geometry.kind for im in ds.images for o in im.objects)
    task = options.extra.get("task")
    if task == "classify":
        if options.media == MediaMode.NONE:
            report.warning(
                NAME, "classification folders need the images: pass --media copy or link"
            )
        other = sum(n for k, n in kinds.items() if k != Tag.kind)
        if other:
            report.warning(
                NAME, f"{other} shapes cannot be held by classification folders; left out"
            )
        return
    if kinds.get(Tag.kind):
        report.warning(
            NAME,
            f"{kinds[Tag.kind]} image-level tags cannot be held by YOLO detection labels; left out (--option task=classify writes class folders)",
        )
    if kinds.get(Mask.kind):
        if options.extra.get("mask_mode") == "box":
            report.warning(
                NAME, f"{kinds[Mask.kind]} masks will be written as their bounding boxes"
            )
        else:
            report.warning(
                NAME,
                f"{kinds[Mask.kind]} masks will be traced to polygons (cv2.findContours); holes are lost",
            )
    multi = sum(
        1
        for im in ds.images
        for o in im.objects
        if isinstance(o.geometry, Polygon) and len(o.geometry.rings) > 1
    )
    if multi:
        report.warning(NAME, f"{multi} multi-part polygons will be written as one row per part")
    if kinds.get(Keypoints.kind):
        others = kinds.get(Polygon.kind, 0) + kinds.get(Mask.kind, 0)
        if others:
            report.warning(
                NAME,
                f"pose data set: {others} polygons/masks will be written as boxes with no keypoints",
            )
        sizes = {
            len(o.geometry.points)
            for im in ds.images
            for o in im.objects
            if isinstance(o.geometry, Keypoints)
        }
        if len(sizes) > 1:
            report.warning(
                NAME,
                f"keypoint counts differ ({sorted(sizes)}); padded with invisible points to {max(sizes)}",
            )
    elif kinds.get(Box.kind) and (kinds.get(Polygon.kind) or kinds.get(Mask.kind)):
        report.warning(
            NAME,
            "mixes boxes and polygons: Ultralytics trains a data set as either detection or segmentation",
        )
    if options.media == MediaMode.NONE:
        report.info(
            NAME, "image files are not copied (pass --media copy or link for a trainable folder)"
        )
    if ds.predictions:
        report.warning(NAME, "YOLO label files hold no scores; predictions written as labels")
    missing = sum(1 for im in ds.images if not im.width or not im.height)
    if missing:
        report.warning(
            NAME,
            f"{missing} images have no known size; YOLO cannot normalise their coordinates; left out",
        )


def write(ds: Dataset, out: Path, report: Report, options: ExportOptions) -> None:
    if options.extra.get("task") == "classify":
        _write_classify(ds, out, report, options)
        return
    cids = class_ids(ds)
    k = _kpt_count(ds)
    splits: dict[str, list[DatasetImage]] = defaultdict(list)
    for im in ds.images:
        splits[im.split or "train"].append(im)
    mask_box = options.extra.get("mask_mode") == "box"
    for split, images in sorted(splits.items()):
        names = _export_names(images)
        for im in images:
            if not im.width or not im.height:
                continue
            try:
                W, H = require_size(im, NAME)
            except Exception:
                continue
            rows = _rows(im, cids, W, H, k, mask_box)
            rel = names[id(im)]
            target = out / "labels" / split / f"{rel.rsplit('.', 1)[0]}.txt"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("".join(r + "\n" for r in rows), encoding="utf-8")
            place_media(ds, im, out, f"images/{split}/{rel}", options.media, report)
    names = {cid: name for name, cid in sorted(cids.items(), key=lambda kv: kv[1])}
    lines = ["# written by Lightable", "path: ."]
    for split in sorted(splits):
        lines.append(f"{_yaml_key(split)}: images/{_yaml_str(split)}")
    if k:
        lines.append(f"kpt_shape: [{k}, 3]")
    lines.append("names:")
    lines += [f"  {cid}: {_yaml_str(name)}" for cid, name in names.items()]
    (out / "data.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _export_names(images: list[DatasetImage]) -> dict[int, str]:
    """Paths under ``images/<split>/``. Ultralytics finds a label by replacing the LAST
    ``/images/`` of the image path with ``/labels/``, so no folder of ours may be called
    ``images``: the part up to it is dropped (``images/a.jpg`` -> ``a.jpg``), and where that
    makes two names equal the whole path is flattened instead."""
    out: dict[int, str] = {}
    for im in images:
        parts = im.path.split("/")
        cut = max((i for i, p in enumerate(parts[:-1]) if p.lower() == "images"), default=-1)
        out[id(im)] = "/".join(parts[cut + 1 :])
    seen = Counter(out.values())
    for im in images:
        if seen[out[id(im)]] > 1:
            out[id(im)] = im.path.replace("/", "__")
    return out


def _yaml_key(split: str) -> str:
    return _yaml_str(split)


def _yaml_str(s: str) -> str:
    import json

    # A JSON string is a valid YAML scalar: quotes, colons and unicode stay safe.
    return json.dumps(s, ensure_ascii=False) if not s.isidentifier() else s


def _rows(
    im: DatasetImage, cids: dict[str, int], W: int, H: int, k: int, mask_box: bool
) -> list[str]:
    rows: list[str] = []
    groups: dict[Any, list[DatasetObject]] = defaultdict(list)
    singles: list[DatasetObject] = []
    for o in im.objects:
        if o.label not in cids or isinstance(o.geometry, Tag):
            continue
        if k and o.group is not None:
            groups[(o.group, o.label)].append(o)
        else:
            singles.append(o)
    for objs in groups.values():
        kps = next((o for o in objs if isinstance(o.geometry, Keypoints)), None)
        box = next((o for o in objs if isinstance(o.geometry, Box)), None)
        if kps is None:
            singles.extend(objs)
            continue
        rest = [o for o in objs if o is not kps and o is not box]
        singles.extend(rest)
        rows.append(
            _pose_row(cids[kps.label], box.geometry if box else None, kps.geometry, W, H, k)
        )  # type: ignore[arg-type]
    for o in singles:
        g = o.geometry
        c = cids[o.label]
        if k:
            if isinstance(g, Keypoints):
                rows.append(_pose_row(c, None, g, W, H, k))
            else:
                rows.append(_pose_row(c, Box(*g.bbox()), Keypoints(()), W, H, k))
            continue
        if isinstance(g, Box):
            rows.append(_box_row(c, g, W, H))
        elif isinstance(g, Polygon):
            rows += [_poly_row(c, r, W, H) for r in g.rings]
        elif isinstance(g, Mask):
            if mask_box:
                rows.append(_box_row(c, Box(*g.bbox()), W, H))
            else:
                rows += [_poly_row(c, r, W, H) for r in mask_rings(g)]
        elif isinstance(g, Keypoints):
            rows.append(_box_row(c, Box(*g.bbox()), W, H))
    return rows


def _box_row(c: int, b: Box, W: int, H: int) -> str:
    cx, cy = (b.x + b.w / 2) / W, (b.y + b.h / 2) / H
    return f"{c} {_fmt(cx)} {_fmt(cy)} {_fmt(b.w / W)} {_fmt(b.h / H)}"


def _poly_row(c: int, ring: tuple[float, ...], W: int, H: int) -> str:
    vals = [v / (W if i % 2 == 0 else H) for i, v in enumerate(ring)]
    return f"{c} " + " ".join(_fmt(v) for v in vals)


def _pose_row(c: int, box: Box | None, kp: Keypoints, W: int, H: int, k: int) -> str:
    b = box if box is not None else Box(*kp.bbox())
    parts = [_box_row(c, b, W, H)]
    pts = list(kp.points) + [(0.0, 0.0, 0)] * (k - len(kp.points))
    for x, y, v in pts[:k]:
        parts.append(f"{_fmt(x / W)} {_fmt(y / H)} {v}")
    return " ".join(parts)


def mask_rings(m: Mask) -> list[tuple[float, ...]]:
    """Outer contours of a mask as polygon rings (pixel centres), 3+ points each."""
    import cv2
    import numpy as np

    from lightable.imaging import masks

    arr = masks.decode(m)
    contours, _ = cv2.findContours(
        np.ascontiguousarray(arr, dtype=np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    rings = []
    for cnt in contours:
        pts = cnt.reshape(-1, 2)
        if len(pts) >= 3:
            rings.append(tuple(float(v) for v in pts.reshape(-1)))
    return rings


def _write_classify(ds: Dataset, out: Path, report: Report, options: ExportOptions) -> None:
    if options.media == MediaMode.NONE:
        from lightable.core.errors import LightableError

        raise LightableError(
            "YOLO classification folders hold the images: pass --media copy or link"
        )
    for im in ds.images:
        tags = [o.label for o in im.objects if isinstance(o.geometry, Tag)]
        if not tags:
            continue
        if len(tags) > 1:
            report.warning(
                im.path, f"{len(tags)} tags; classification folders hold one: used {tags[0]!r}"
            )
        name = im.path.replace("/", "__")
        place_media(ds, im, out, f"{im.split or 'train'}/{tags[0]}/{name}", options.media, report)
