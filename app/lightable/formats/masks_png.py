"""PNG masks (export only): semantic class maps and instance id maps.

``options.extra["mask_mode"]``: ``"semantic"`` (default), ``"instance"`` or ``"both"``.

- semantic: ``semantic/<image path without suffix>.png``, one class index per pixel
  (0 = background, class k = the k-th label of the export), an 8-bit palette PNG
  coloured with the label colours (16-bit grayscale beyond 255 classes), and
  ``labels.txt`` with one name per line, line k for class k (line 0
  ``_background_``).
- instance: ``instance/<image path without suffix>.png``, a 16-bit PNG where each
  object has its own id 1..N (0 = background; objects sharing a ``group`` share an
  id), and ``instances.json`` mapping every image's ids to labels.

Masks and polygons are painted in object order (``z_order`` attribute first), a
later object over an earlier one. Boxes, keypoints and tags have no pixels here;
``plan`` lists them and the writer leaves them out. Images with no painted object
still get an all-background mask (they are negatives, not missing data).
"""

from __future__ import annotations

import json
import posixpath
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage

from lightable.core.errors import BadInputError, LightableError
from lightable.core.geometry import GeometryKind, Mask, Polygon
from lightable.core.model import palette_color
from lightable.formats.export_io import place_media
from lightable.formats.model import Dataset, DatasetImage, DatasetObject, ExportOptions, Report
from lightable.formats.registry import FormatSpec, register
from lightable.formats.safe_io import safe_relpath
from lightable.imaging import masks as mask_ops

NAME = "masks_png"
BACKGROUND = "_background_"
MODES = ("semantic", "instance", "both")


def _mode(options: ExportOptions) -> str:
    mode = str(options.extra.get("mask_mode", "semantic")).lower()
    if mode not in MODES:
        raise LightableError(
            f"masks_png: unknown mask_mode {mode!r}; use one of {', '.join(MODES)}"
        )
    return mode


def plan(dataset: Dataset, report: Report, options: ExportOptions) -> None:
    """What PNG masks cannot hold: boxes, keypoints and tags, counted by kind."""
    _mode(options)
    kinds = Counter(
        str(o.geometry.kind)
        for im in dataset.images
        for o in im.objects
        if o.geometry.kind not in (GeometryKind.MASK, GeometryKind.POLYGON)
    )
    for kind, n in sorted(kinds.items()):
        report.warning(NAME, f"{n} {kind} objects have no pixels in PNG masks; left out")


def _rgb(color: str | None, index: int) -> tuple[int, int, int]:
    c = color or palette_color(index)
    return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)


def _size(img: DatasetImage) -> tuple[int, int] | None:
    if img.width and img.height:
        return img.width, img.height
    for o in img.objects:
        if isinstance(o.geometry, Mask):
            return o.geometry.width, o.geometry.height
    return None


def _painted(img: DatasetImage) -> list[tuple[int, DatasetObject]]:
    objs = [(i, o) for i, o in enumerate(img.objects) if isinstance(o.geometry, Mask | Polygon)]

    def z(item: tuple[int, DatasetObject]) -> int:
        v = item[1].attributes.get("z_order", 0)
        return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0

    return sorted(objs, key=z)  # stable: object order within one z


def _pixels(obj: DatasetObject, w: int, h: int) -> np.ndarray | None:
    g = obj.geometry
    if isinstance(g, Mask):
        if (g.width, g.height) != (w, h):
            return None
        return mask_ops.decode(g).astype(bool)
    assert isinstance(g, Polygon)
    return mask_ops.decode(mask_ops.from_polygon(g, h, w)).astype(bool)


def _save(arr: np.ndarray, target: Path, palette: list[int] | None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if arr.dtype == np.uint8:
        im = PILImage.fromarray(arr, mode="L")
        if palette is not None:
            im = im.convert("P")
            im.putpalette(palette)
    else:
        im = PILImage.fromarray(arr.astype(np.uint16))
    im.save(target, format="PNG", optimize=False)


def write(dataset: Dataset, out_dir: Path, report: Report, options: ExportOptions) -> None:
    mode = _mode(options)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = [lb.name for lb in dataset.labels]
    for im in dataset.images:
        for o in im.objects:
            if o.label not in names:
                names.append(o.label)
    index = {n: k + 1 for k, n in enumerate(names)}
    colors = {lb.name: lb.color for lb in dataset.labels}
    wide = len(names) > 255
    if wide and mode != "instance":
        report.warning(
            NAME, f"{len(names)} classes: semantic masks are 16-bit PNGs without a palette"
        )
    palette = [0, 0, 0]
    for k, n in enumerate(names):
        palette.extend(_rgb(colors.get(n), k))
    palette.extend([0, 0, 0] * (256 - len(palette) // 3))
    instances: dict[str, Any] = {}
    taken: set[str] = set()
    for img in dataset.images:
        try:
            rel = safe_relpath(img.path, img.path)
        except BadInputError as exc:
            report.error(img.path, exc.problem)
            continue
        size = _size(img)
        if size is None:
            report.error(img.path, "image size unknown; no mask written")
            continue
        w, h = size
        png_rel = posixpath.splitext(rel)[0] + ".png"
        if png_rel in taken:
            png_rel = rel + ".png"
        taken.add(png_rel)
        sem = np.zeros((h, w), dtype=np.uint16 if wide else np.uint8)
        inst = np.zeros((h, w), dtype=np.uint16)
        info: dict[str, Any] = {}
        group_ids: dict[Any, int] = {}
        next_id = 1
        for i, obj in _painted(img):
            px = _pixels(obj, w, h)
            if px is None:
                report.error(
                    img.path, f"mask of object {i} does not match the {w}x{h} image; left out"
                )
                continue
            sem[px] = index[obj.label]
            key = ("group", obj.group) if obj.group is not None else ("object", i)
            if key not in group_ids:
                if next_id > 65535:
                    report.error(img.path, "more than 65535 instances; the rest left out")
                    break
                group_ids[key] = next_id
                info[str(next_id)] = {"label": obj.label, "class": index[obj.label]}
                if obj.source_id is not None:
                    info[str(next_id)]["source_id"] = obj.source_id
                next_id += 1
            inst[px] = group_ids[key]
        if mode in ("semantic", "both"):
            _save(sem, out / "semantic" / png_rel, None if wide else palette)
        if mode in ("instance", "both"):
            _save(inst, out / "instance" / png_rel, None)
            instances[rel] = {"mask": f"instance/{png_rel}", "instances": info}
        place_media(dataset, img, out, f"images/{rel}", options.media, report)
    (out / "labels.txt").write_text("\n".join([BACKGROUND, *names]) + "\n", encoding="utf-8")
    if mode in ("instance", "both"):
        doc = {"labels": [BACKGROUND, *names], "images": instances}
        with open(out / "instances.json", "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False, indent=1)
            fh.write("\n")


register(
    FormatSpec(
        name=NAME,
        title="PNG masks (semantic / instance)",
        writer=write,
        plan=plan,
        holds=frozenset({GeometryKind.MASK, GeometryKind.POLYGON}),
        aliases=("masks", "png_masks", "semantic_masks", "instance_masks"),
        description="class-index PNGs with labels.txt, or 16-bit instance-id PNGs with instances.json",
    )
)
