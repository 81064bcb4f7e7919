"""COCO panoptic segmentation (read only).

A JSON with ``images``, ``categories`` (with ``isthing`` and ``color``) and
``annotations``: one per image, naming a PNG whose RGB pixels encode a segment
id (``R + 256 G + 256^2 B``, 0 = unlabelled) and listing ``segments_info``
(``id``, ``category_id``, ``iscrowd``, ``area``, ``bbox``). Each segment becomes a
Mask object; ``isthing`` is kept as an attribute (``thing`` true/false).

The PNGs live in a folder named after the JSON (``panoptic_val2017.json`` ->
``panoptic_val2017/``), beside it; other places under the root are searched by
file name. Every category is a label (the taxonomy the file declares), with its
id and colour.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage

from lightable.core.errors import BadInputError, ValidationError
from lightable.formats.file_lookup import ImageFinder
from lightable.formats.model import Dataset, DatasetImage, DatasetLabel, DatasetObject, Report
from lightable.formats.registry import FormatSpec, register
from lightable.formats.safe_io import as_int, check_size, current_limits, load_json, safe_relpath
from lightable.imaging import masks as mask_ops
from lightable.imaging.safety import check_dimensions

NAME = "coco_panoptic"


def _hex(color: Any) -> str | None:
    if (
        isinstance(color, list)
        and len(color) == 3
        and all(isinstance(c, int) and 0 <= c <= 255 for c in color)
    ):
        return "#{:02x}{:02x}{:02x}".format(*color)
    return None


def _segment_ids(p: Path) -> np.ndarray:
    check_size(p, current_limits().image_bytes, "panoptic PNG")
    try:
        with PILImage.open(p) as im:
            refused = check_dimensions(im.width, im.height)
            if refused:
                raise BadInputError(p, refused)
            rgb = np.asarray(im.convert("RGB"), dtype=np.uint32)
    except (OSError, SyntaxError, ValueError, PILImage.DecompressionBombError):
        raise BadInputError(p, "not a readable PNG") from None
    return rgb[:, :, 0] + 256 * rgb[:, :, 1] + 65536 * rgb[:, :, 2]


def _find_json(path: Path) -> Path:
    if path.is_file():
        return path
    if path.is_dir():
        cands = sorted(p for p in path.glob("*.json") if p.is_file() and _sniff(p) > 0)
        if len(cands) == 1:
            return cands[0]
        if cands:
            raise BadInputError(
                path,
                f"several panoptic JSON files ({', '.join(c.name for c in cands)}); choose one",
            )
    raise BadInputError(path, "no COCO panoptic JSON (with segments_info) found")


def read(path: Path, report: Report) -> Dataset:
    jf = _find_json(Path(path))
    root = jf.parent
    file = str(jf)
    data = load_json(jf)
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise BadInputError(jf, "not a COCO panoptic file (no 'annotations' list)")
    finder = ImageFinder(root)
    labels: dict[int, DatasetLabel] = {}
    things: dict[int, bool] = {}
    for k, c in enumerate(data.get("categories") or []):
        where = f"categories[{k}]"
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"].strip():
            report.error(file, "category without a name", where)
            continue
        try:
            cid = as_int(c.get("id"), jf, where, "id")
        except BadInputError as exc:
            report.error(file, exc.problem, exc.where)
            continue
        if cid in labels:
            report.error(file, f"duplicate category id {cid}", where)
            continue
        labels[cid] = DatasetLabel(
            c["name"].strip(),
            color=_hex(c.get("color")),
            source_id=cid,
            supercategory=c.get("supercategory")
            if isinstance(c.get("supercategory"), str)
            else None,
        )
        things[cid] = bool(c.get("isthing"))
    images: dict[int, DatasetImage] = {}
    for k, im in enumerate(data.get("images") or []):
        where = f"images[{k}]"
        try:
            if not isinstance(im, dict):
                raise BadInputError(jf, "image entry is not an object", where)
            iid = as_int(im.get("id"), jf, where, "id")
            rel = safe_relpath(im.get("file_name"), jf, where)
            w = as_int(im.get("width"), jf, where, "width") if im.get("width") is not None else None
            h = (
                as_int(im.get("height"), jf, where, "height")
                if im.get("height") is not None
                else None
            )
        except BadInputError as exc:
            report.error(file, exc.problem, exc.where)
            continue
        if iid in images:
            report.error(file, f"duplicate image id {iid}", where)
            continue
        found = finder.find(rel, extra_dirs=("images",))
        if found is None:
            report.warning(file, f"image {rel} not found under the import root", where)
        images[iid] = DatasetImage(found or rel, width=w or None, height=h or None, source_id=iid)
    png_dir = jf.stem
    for k, ann in enumerate(data["annotations"]):
        where = f"annotations[{k}]"
        try:
            if not isinstance(ann, dict):
                raise BadInputError(jf, "annotation is not an object", where)
            iid = as_int(ann.get("image_id"), jf, where, "image_id")
            png = safe_relpath(ann.get("file_name"), jf, where)
        except BadInputError as exc:
            report.error(file, exc.problem, exc.where)
            continue
        img = images.get(iid)
        if img is None:
            report.error(file, f"annotation for unknown image id {iid}", where)
            continue
        segs = ann.get("segments_info")
        if not isinstance(segs, list):
            report.error(file, "'segments_info' is not a list", where)
            continue
        png_rel = finder.find(f"{png_dir}/{png}") if finder.exists(f"{png_dir}/{png}") else None
        png_rel = png_rel or (
            png if finder.exists(png) else finder.by_name(posixpath.basename(png), near=png_dir)
        )
        if png_rel is None:
            report.error(
                file, f"segment PNG {png} not found (looked in {png_dir}/ and by name)", where
            )
            continue
        try:
            ids = _segment_ids(root / png_rel)
        except BadInputError as exc:
            report.error(str(root / png_rel), exc.problem, exc.where)
            continue
        h, w = ids.shape
        if (img.width, img.height) not in ((None, None), (w, h)):
            report.error(file, f"segment PNG is {w}x{h}, the image {img.width}x{img.height}", where)
            continue
        img.width, img.height = w, h
        present = set(np.unique(ids).tolist())
        listed: set[int] = set()
        for j, s in enumerate(segs):
            sw = f"{where}.segments_info[{j}]"
            try:
                if not isinstance(s, dict):
                    raise BadInputError(jf, "segment is not an object", sw)
                sid = as_int(s.get("id"), jf, sw, "id")
                cid = as_int(s.get("category_id"), jf, sw, "category_id")
            except BadInputError as exc:
                report.error(file, exc.problem, exc.where)
                continue
            listed.add(sid)
            if cid not in labels:
                report.error(file, f"unknown category id {cid}", sw)
                continue
            if sid not in present:
                report.error(file, f"segment id {sid} has no pixels in {png_rel}", sw)
                continue
            try:
                mask = mask_ops.encode(ids == sid)
            except ValidationError as exc:
                report.error(file, str(exc), sw)
                continue
            img.objects.append(
                DatasetObject(
                    labels[cid].name,
                    mask,
                    {"thing": things[cid]},
                    source_id=sid,
                    iscrowd=bool(s.get("iscrowd")),
                )
            )
        stray = present - listed - {0}
        if stray:
            report.warning(
                file,
                f"{len(stray)} segment id(s) in {png_rel} are not in segments_info; ignored",
                where,
            )
    ds = Dataset(
        images=list(images.values()),
        labels=list(labels.values()),
        format=NAME,
        root=str(root.resolve()),
    )
    return ds


def _sniff(f: Path) -> float:
    try:
        with open(f, "rb") as fh:
            head = fh.read(1 << 20)
    except OSError:
        return 0.0
    if b'"segments_info"' in head:
        return 0.97
    return 0.0


def detect(path: Path) -> float:
    path = Path(path)
    if path.is_file():
        return _sniff(path) if path.suffix.lower() == ".json" else 0.0
    if path.is_dir():
        return max((_sniff(p) for p in sorted(path.glob("*.json"))[:5] if p.is_file()), default=0.0)
    return 0.0


register(
    FormatSpec(
        name=NAME,
        title="COCO panoptic",
        reader=read,
        detect=detect,
        extensions=(".json",),
        aliases=("panoptic",),
        description="COCO panoptic JSON with RGB-encoded segment PNGs",
    )
)
