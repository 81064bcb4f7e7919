"""Cityscapes ground truth (read only).

Layout: ``gtFine/<split>/<city>/<name>_gtFine_<kind>`` beside
``leftImg8bit/<split>/<city>/<name>_leftImg8bit.png``. Per image the richest
annotation present is used, in this order:

1. ``*_gtFine_polygons.json``: one Polygon per object (labels ending in ``group``,
   e.g. ``cargroup``, are crowds of their class);
2. ``*_gtFine_instanceIds.png`` (16-bit, or 8-bit in some tools' files): a value
   ``>= 1000`` is ``class_id * 1000 + instance``, one Mask per instance; a value
   below 1000 is a whole class region, one Mask (a crowd for the classes that
   have instances: person, car, ...);
3. ``*_gtFine_labelIds.png``: one Mask per class id;
4. ``*_gtFine_labelTrainIds.png``: one Mask per train id 0..18 (255 and other
   values are "ignore").

Class ids use the official Cityscapes table; id 0 (``unlabeled``) and ignored
train ids are not objects. Only the labels that occur are listed. The split is
the folder under ``gtFine``.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from lightable.core.errors import BadInputError, ValidationError
from lightable.core.geometry import Polygon
from lightable.formats.file_lookup import ImageFinder
from lightable.formats.model import Dataset, DatasetImage, DatasetLabel, DatasetObject, Report
from lightable.formats.registry import FormatSpec, register
from lightable.formats.safe_io import (
    check_size,
    current_limits,
    finite_list,
    load_json,
    walk_files,
)
from lightable.imaging import masks as mask_ops
from lightable.imaging.safety import check_dimensions

NAME = "cityscapes"

# (id, name, train id, has instances, colour) from the Cityscapes label table.
_TABLE: tuple[tuple[int, str, int, bool, str], ...] = (
    (0, "unlabeled", 255, False, "#000000"),
    (1, "ego vehicle", 255, False, "#000000"),
    (2, "rectification border", 255, False, "#000000"),
    (3, "out of roi", 255, False, "#000000"),
    (4, "static", 255, False, "#000000"),
    (5, "dynamic", 255, False, "#6f4a00"),
    (6, "ground", 255, False, "#510051"),
    (7, "road", 0, False, "#804080"),
    (8, "sidewalk", 1, False, "#f423e8"),
    (9, "parking", 255, False, "#faaaa0"),
    (10, "rail track", 255, False, "#e6968c"),
    (11, "building", 2, False, "#464646"),
    (12, "wall", 3, False, "#66669c"),
    (13, "fence", 4, False, "#be9999"),
    (14, "guard rail", 255, False, "#b4a5b4"),
    (15, "bridge", 255, False, "#966464"),
    (16, "tunnel", 255, False, "#96785a"),
    (17, "pole", 5, False, "#999999"),
    (18, "polegroup", 255, False, "#999999"),
    (19, "traffic light", 6, False, "#faaa1e"),
    (20, "traffic sign", 7, False, "#dcdc00"),
    (21, "vegetation", 8, False, "#6b8e23"),
    (22, "terrain", 9, False, "#98fb98"),
    (23, "sky", 10, False, "#4682b4"),
    (24, "person", 11, True, "#dc143c"),
    (25, "rider", 12, True, "#ff0000"),
    (26, "car", 13, True, "#00008e"),
    (27, "truck", 14, True, "#000046"),
    (28, "bus", 15, True, "#003c64"),
    (29, "caravan", 255, True, "#00005a"),
    (30, "trailer", 255, True, "#00006e"),
    (31, "train", 16, True, "#005064"),
    (32, "motorcycle", 17, True, "#0000e6"),
    (33, "bicycle", 18, True, "#770b20"),
    (-1, "license plate", -1, False, "#00008e"),
)
_BY_ID = {row[0]: row for row in _TABLE}
_BY_TRAIN = {row[2]: row for row in _TABLE if 0 <= row[2] < 255}
_BY_NAME = {row[1]: row for row in _TABLE}
_KINDS = ("polygons.json", "instanceIds.png", "labelIds.png", "labelTrainIds.png")
_GT = re.compile(
    r"^(?P<stem>.+)_gtFine_(?P<kind>polygons\.json|instanceIds\.png|labelIds\.png|labelTrainIds\.png)$"
)


class _Reader:
    def __init__(self, root: Path, report: Report) -> None:
        self.root = root
        self.report = report
        self.finder = ImageFinder(root)
        self.labels: dict[str, DatasetLabel] = {}

    def label(self, name: str, class_id: int | None) -> str:
        if name not in self.labels:
            row = _BY_NAME.get(name[:-5] if name.endswith("group") else name)
            self.labels[name] = DatasetLabel(
                name,
                color=row[4] if row else None,
                source_id=class_id if class_id is not None else (row[0] if row else None),
            )
        return name

    def _png(self, rel: str) -> np.ndarray:
        p = self.root / rel
        check_size(p, current_limits().image_bytes, "mask file")
        try:
            with PILImage.open(p) as im:
                refused = check_dimensions(im.width, im.height)
                if refused:
                    raise BadInputError(p, refused)
                arr = np.asarray(im)
        except (OSError, SyntaxError, ValueError, PILImage.DecompressionBombError):
            raise BadInputError(p, "not a readable PNG") from None
        if arr.ndim != 2:
            raise BadInputError(p, f"expected a one-channel id image, got shape {arr.shape}")
        return arr.astype(np.int64)

    def _class(self, cid: int, f: str, where: str) -> tuple[str, bool] | None:
        row = _BY_ID.get(cid)
        if row is None:
            self.report.warning(
                f, f"class id {cid} is not in the Cityscapes table; kept as 'class {cid}'", where
            )
            return f"class {cid}", False
        if cid == 0:
            return None
        return row[1], row[3]

    def masks_from_ids(self, rel: str, kind: str) -> tuple[list[DatasetObject], tuple[int, int]]:
        arr = self._png(rel)
        h, w = arr.shape
        f = str(self.root / rel)
        objs: list[DatasetObject] = []
        for v in np.unique(arr).tolist():
            where = f"value {v}"
            attrs: dict[str, int] = {}
            crowd = False
            if kind == "labelTrainIds.png":
                row = _BY_TRAIN.get(v)
                if row is None:
                    continue  # 255 (and Datumaro's 19): ignore
                name = row[1]
                cid = row[0]
            elif kind == "instanceIds.png" and v >= 1000:
                cid, inst = divmod(v, 1000)
                got = self._class(cid, f, where)
                if got is None:
                    continue
                name = got[0]
                attrs["instance"] = inst
            else:
                cid = v
                got = self._class(cid, f, where)
                if got is None:
                    continue
                name, has_instances = got
                crowd = kind == "instanceIds.png" and has_instances
            obj = DatasetObject(
                self.label(name, cid), mask_ops.encode(arr == v), attrs, source_id=v, iscrowd=crowd
            )
            objs.append(obj)
        return objs, (w, h)

    def polygons(self, rel: str) -> tuple[list[DatasetObject], tuple[int, int] | None]:
        f = self.root / rel
        data = load_json(f)
        if not isinstance(data, dict) or not isinstance(data.get("objects"), list):
            raise BadInputError(f, "not a Cityscapes polygons file (no 'objects' list)")
        size = None
        if isinstance(data.get("imgWidth"), int) and isinstance(data.get("imgHeight"), int):
            size = (data["imgWidth"], data["imgHeight"])
        objs = []
        for k, o in enumerate(data["objects"]):
            where = f"objects[{k}]"
            if (
                not isinstance(o, dict)
                or not isinstance(o.get("label"), str)
                or not o["label"].strip()
            ):
                self.report.error(str(f), "object without a label", where)
                continue
            if o.get("deleted"):
                continue
            try:
                pts = o.get("polygon")
                if not isinstance(pts, list):
                    raise BadInputError(f, "'polygon' must be a list of [x, y]", where)
                xy = [tuple(finite_list(p, f, where, "point", length=2)) for p in pts]
                geom = Polygon.from_points(xy)  # type: ignore[arg-type]
            except (BadInputError, ValidationError) as exc:
                self.report.error(
                    str(f), exc.problem if isinstance(exc, BadInputError) else str(exc), where
                )
                continue
            name = o["label"].strip()
            crowd = name.endswith("group") and name[:-5] in _BY_NAME and _BY_NAME[name[:-5]][3]
            label = name[:-5] if crowd else name
            row = _BY_NAME.get(label)
            objs.append(
                DatasetObject(
                    self.label(label, row[0] if row else None), geom, source_id=k, iscrowd=crowd
                )
            )
        return objs, size

    def image_path(self, split: str, sub: str, stem: str) -> str:
        want = f"{stem}_leftImg8bit"
        for base in ("leftImg8bit", "imgsFine/leftImg8bit"):
            d = posixpath.join(base, split, sub) if sub else posixpath.join(base, split)
            for ext in (".png", ".jpg", ".jpeg"):
                if self.finder.exists(f"{d}/{want}{ext}"):
                    return f"{d}/{want}{ext}"
        hit = self.finder.by_stem(want, near=f"leftImg8bit/{split}")
        if hit is not None:
            return hit
        guess = posixpath.join("leftImg8bit", split, sub, f"{want}.png")
        self.report.warning(str(self.root / "gtFine"), f"image {guess} not found", stem)
        return guess


def _root(path: Path) -> Path:
    if path.name == "gtFine":
        return path.parent
    for p in (path, *path.parents):
        if (p / "gtFine").is_dir():
            return p
    raise BadInputError(path, "not a Cityscapes folder (no gtFine/ folder)")


def read(path: Path, report: Report) -> Dataset:
    path = Path(path)
    if not path.exists():
        raise BadInputError(path, "no such file or folder")
    root = _root(path if path.is_dir() else path.parent)
    r = _Reader(root, report)
    # stem key (split, sub folder, stem) -> {kind: rel}
    found: dict[tuple[str, str, str], dict[str, str]] = {}
    for rel in walk_files(root / "gtFine"):
        parts = rel.split("/")
        m = _GT.match(parts[-1])
        if not m:
            continue
        split = parts[0] if len(parts) > 1 else ""
        sub = "/".join(parts[1:-1])
        found.setdefault((split, sub, m.group("stem")), {})[m.group("kind")] = f"gtFine/{rel}"
    if not found:
        raise BadInputError(root / "gtFine", "no *_gtFine_* annotation files")
    ds = Dataset(format=NAME, root=str(root.resolve()))
    for (split, sub, stem), kinds in sorted(found.items()):
        kind = next(k for k in _KINDS if k in kinds)
        rel = kinds[kind]
        try:
            if kind == "polygons.json":
                objs, size = r.polygons(rel)
            else:
                objs, size = r.masks_from_ids(rel, kind)
        except (BadInputError, ValidationError) as exc:
            problem = exc.problem if isinstance(exc, BadInputError) else str(exc)
            report.error(str(root / rel), problem)
            continue
        img = DatasetImage(
            r.image_path(split, sub, stem), split=split or None, objects=objs, source_id=stem
        )
        if size is not None:
            img.width, img.height = size
        ds.images.append(img)
    ds.labels = list(r.labels.values())
    return ds


def detect(path: Path) -> float:
    path = Path(path)
    if not path.is_dir():
        return 0.0
    gt = path if path.name == "gtFine" else path / "gtFine"
    if not gt.is_dir():
        return 0.0
    # gtFine/<split>/<city>/<name>_gtFine_<kind>: look two levels down, a few entries.
    try:
        for split in sorted(p for p in gt.iterdir() if p.is_dir())[:5]:
            for city in sorted(p for p in split.iterdir() if p.is_dir())[:5]:
                for f in sorted(city.iterdir())[:20]:
                    if _GT.match(f.name):
                        return 0.95
    except OSError:
        return 0.0
    return 0.3


register(
    FormatSpec(
        name=NAME,
        title="Cityscapes (gtFine)",
        reader=read,
        detect=detect,
        description="Cityscapes gtFine polygons / instanceIds / labelIds / labelTrainIds",
    )
)
