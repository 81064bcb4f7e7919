"""labelme JSON (wkentaro/labelme 3.x-5.x, and X-AnyLabeling's labelme-compatible files).

One JSON per image: ``shapes`` (``label``, ``points``, ``shape_type``, ``group_id``,
``flags``, ``description``; X-AnyLabeling adds ``score``, ``difficult``,
``attributes``, ``kie_linking``), image-level ``flags``, ``imagePath`` (relative
to the JSON) and optionally the image itself as base64 ``imageData``.

How shapes become Lightable geometry:

- ``rectangle`` (2 corners, or 4 corners as X-AnyLabeling writes) -> Box;
- ``polygon`` -> Polygon; ``rotation`` (X-AnyLabeling rotated box) -> Polygon with
  ``shape="rotation"`` and ``direction``;
- ``circle`` -> 64-gon Polygon with ``shape="circle"``, ``center`` and ``radius``
  (the writer turns an unedited one back into a circle);
- ``point`` -> Keypoints with one point;
- ``line``/``linestrip`` -> Keypoints (every vertex visible) with
  ``shape="line"``/``"linestrip"``, so no coordinate is lost and the writer
  restores the line (Lightable has no polyline geometry; a skip would lose data);
- ``mask`` (labelme 5, a base64 PNG of the box given by the two points) -> Mask;
- ``group_id`` -> ``DatasetObject.group``; true image ``flags`` -> Tag objects (every
  flag name becomes a label, so the classification taxonomy is complete).

``labels.txt``/``flags.txt`` beside the files are conventions of labelme's
example scripts, not part of the format, and are not read.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import posixpath
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage

from lightable.core.errors import BadInputError, ValidationError
from lightable.core.geometry import Box, Geometry, Keypoints, Mask, Polygon, Tag
from lightable.formats.file_lookup import ImageFinder, sniff_image_suffix
from lightable.formats.labelme_write import RESERVED as _RESERVED
from lightable.formats.labelme_write import write
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
    as_int,
    current_limits,
    finite_list,
    load_json,
    safe_relpath,
    walk_files,
)
from lightable.formats.shape_approx import circle_polygon
from lightable.imaging import masks as mask_ops
from lightable.imaging.safety import check_dimensions

NAME = "labelme"


# -- reading -------------------------------------------------------------------------------


def _is_labelme(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("shapes"), list)


def _is_absolute(p: str) -> bool:
    s = p.replace("\\", "/")
    return s.startswith("/") or (len(s) > 2 and s[1] == ":" and s[2] == "/")


def _decode_b64(s: Any, file: str, where: str, what: str) -> bytes:
    if not isinstance(s, str):
        raise BadInputError(file, f"{what} must be a base64 string", where)
    if s.startswith("data:") and "," in s[:100]:  # a data URL, as some tools write it
        s = s.split(",", 1)[1]
    limit = current_limits().image_bytes
    if len(s) * 3 // 4 > limit:
        raise BadInputError(
            file, f"{what} is {len(s) * 3 // 4 >> 20} MiB, over the {limit >> 20} MiB limit", where
        )
    try:
        return base64.b64decode("".join(s.split()), validate=True)
    except (binascii.Error, ValueError):
        raise BadInputError(file, f"{what} is not valid base64", where) from None


class _Reader:
    def __init__(self, root: Path, report: Report) -> None:
        self.root = root
        self.report = report
        self.finder = ImageFinder(root)
        self.labels: dict[str, DatasetLabel] = {}

    def label(self, name: str) -> str:
        if name not in self.labels:
            self.labels[name] = DatasetLabel(name)
        return name

    # -- image file -----------------------------------------------------------------------

    def _beside(self, json_dir: str, name: str) -> str:
        return f"{json_dir}/{name}" if json_dir else name

    def _by_stem(self, json_dir: str, stem: str) -> str | None:
        for ext in sorted(IMAGE_EXTENSIONS):
            for cand in (stem + ext, stem + ext.upper()):
                rel = self._beside(json_dir, cand)
                if self.finder.exists(rel):
                    return rel
        return None

    def image(
        self, f: Path, rel: str, data: dict[str, Any]
    ) -> tuple[str, bytes | None, tuple[int, int] | None] | None:
        """(image path under the root, embedded bytes or None, size of the embedded image)."""
        file = str(f)
        json_dir = posixpath.dirname(rel)
        stem = posixpath.splitext(posixpath.basename(rel))[0]
        raw = data.get("imagePath")
        target: str | None = None
        if isinstance(raw, str) and raw.strip():
            if _is_absolute(raw):
                name = raw.replace("\\", "/").rsplit("/", 1)[-1]
                target = self._beside(json_dir, name)
                self.report.warning(
                    file,
                    f"imagePath {raw!r} is absolute; looking for {name!r} beside the JSON",
                    "imagePath",
                )
            else:
                try:
                    target = safe_relpath(self._beside(json_dir, raw), f, "imagePath")
                except BadInputError:
                    self.report.error(
                        file, f"imagePath {raw!r} points outside the import root", "imagePath"
                    )
                    return None
        elif raw is not None and not isinstance(raw, str):
            self.report.warning(file, f"imagePath {raw!r} is not a string; ignored", "imagePath")

        is_image = target is not None and posixpath.splitext(target)[1].lower() in IMAGE_EXTENSIONS
        if target is not None and is_image and self.finder.exists(target):
            return target, None, None
        # The tutorial's imagePath names the JSON itself; old files name a folder
        # that no longer exists: look beside the JSON, by name and then by stem.
        found = None
        if target is not None and is_image:
            cand = self._beside(json_dir, posixpath.basename(target))
            found = cand if self.finder.exists(cand) else None
        if found is None:
            found = self._by_stem(json_dir, stem)
        if found is not None:
            if raw:
                why = "not found" if is_image else "is not an image file"
                self.report.info(file, f"imagePath {raw!r} {why}; using {found}", "imagePath")
            return found, None, None
        blob = data.get("imageData")
        if blob:
            try:
                pixels = _decode_b64(blob, file, "imageData", "imageData")
            except BadInputError as exc:
                self.report.error(file, exc.problem, exc.where)
                return None
            suffix = sniff_image_suffix(pixels)
            if suffix is None:
                self.report.error(
                    file, "imageData is not a PNG/JPEG/BMP/GIF/TIFF/WebP image", "imageData"
                )
                return None
            size = _image_size(pixels)
            if size is None:
                self.report.error(file, "imageData is a damaged image", "imageData")
                return None
            path = (
                target if target is not None and is_image else self._beside(json_dir, stem + suffix)
            )
            return path, pixels, size
        if target is None:
            self.report.error(file, "no imagePath, no image beside the JSON and no imageData")
            return None
        self.report.warning(file, f"image {target} not found under the import root", "imagePath")
        return target, None, None

    # -- shapes ---------------------------------------------------------------------------

    def points(self, s: dict[str, Any], file: str, where: str) -> list[tuple[float, float]]:
        pts = s.get("points")
        if not isinstance(pts, list):
            raise BadInputError(file, "'points' must be a list of [x, y] pairs", where)
        out = []
        for i, p in enumerate(pts):
            x, y = finite_list(p, file, f"{where}.points[{i}]", "point", length=2)
            out.append((x, y))
        return out

    def shape(
        self, s: Any, file: str, where: str, size: tuple[int | None, int | None]
    ) -> DatasetObject:
        if not isinstance(s, dict):
            raise BadInputError(file, "a shape must be an object", where)
        label = s.get("label")
        if isinstance(label, int | float) and not isinstance(label, bool):
            label = str(label)
        if not isinstance(label, str) or not label.strip():
            raise BadInputError(file, "shape has no label", where)
        label = label.strip()
        kind = s.get("shape_type") or "polygon"  # labelme 3.x wrote polygons only, untyped
        pts = self.points(s, file, where)
        attrs: dict[str, Any] = {}
        geom: Geometry
        if kind == "rectangle":
            geom = self._rectangle(pts, file, where)
        elif kind == "polygon":
            if len(pts) < 3:
                raise BadInputError(file, f"polygon with {len(pts)} points (needs 3)", where)
            geom = Polygon.from_points(pts)
        elif kind == "rotation":
            if len(pts) != 4:
                raise BadInputError(file, f"rotation box with {len(pts)} points (needs 4)", where)
            geom = Polygon.from_points(pts)
            attrs["shape"] = "rotation"
            if s.get("direction") is not None:
                attrs["direction"] = s["direction"]
        elif kind == "circle":
            if len(pts) != 2:
                raise BadInputError(file, f"circle with {len(pts)} points (needs 2)", where)
            (cx, cy), (ex, ey) = pts
            r = math.hypot(ex - cx, ey - cy)
            if r <= 0:
                raise BadInputError(file, "circle with zero radius", where)
            geom = circle_polygon(cx, cy, r)
            attrs.update(shape="circle", center=[cx, cy], radius=r)
        elif kind == "point":
            if len(pts) != 1:
                raise BadInputError(file, f"point with {len(pts)} points", where)
            geom = Keypoints(((pts[0][0], pts[0][1], 2),))
        elif kind in ("line", "linestrip"):
            if len(pts) < 2:
                raise BadInputError(file, f"{kind} with {len(pts)} points (needs 2)", where)
            geom = Keypoints(tuple((x, y, 2) for x, y in pts))
            attrs["shape"] = kind
        elif kind == "mask":
            geom = self._mask(s, pts, file, where, size)
        else:
            raise BadInputError(file, f"unsupported shape_type {kind!r}", where)
        self._extras(s, attrs, file, where)
        group = s.get("group_id")
        if group is not None and (isinstance(group, bool) or not isinstance(group, int | str)):
            self.report.warning(file, f"group_id {group!r} ignored", where)
            group = None
        return DatasetObject(self.label(label), geom, attrs, group=group)

    def _rectangle(self, pts: list[tuple[float, float]], file: str, where: str) -> Geometry:
        if len(pts) == 2:
            (x1, y1), (x2, y2) = pts
            return Box.from_corners(x1, y1, x2, y2)
        if len(pts) == 4:
            xs = sorted({round(p[0], 9) for p in pts})
            ys = sorted({round(p[1], 9) for p in pts})
            bx = [p[0] for p in pts]
            by = [p[1] for p in pts]
            if len(xs) <= 2 and len(ys) <= 2:
                return Box.from_corners(min(bx), min(by), max(bx), max(by))
            self.report.warning(
                file, "rectangle with 4 corners that are not axis-aligned: kept as a polygon", where
            )
            return Polygon.from_points(pts)
        raise BadInputError(file, f"rectangle with {len(pts)} points (needs 2 or 4)", where)

    def _mask(
        self,
        s: dict[str, Any],
        pts: list[tuple[float, float]],
        file: str,
        where: str,
        size: tuple[int | None, int | None],
    ) -> Mask:
        w, h = size
        if not w or not h:
            raise BadInputError(file, "mask shape needs imageWidth/imageHeight", where)
        if len(pts) != 2:
            raise BadInputError(
                file, f"mask with {len(pts)} points (needs the 2 box corners)", where
            )
        png = _decode_b64(s.get("mask"), file, where, "mask")
        try:
            with PILImage.open(io.BytesIO(png)) as im:
                if im.width * im.height > w * h:
                    raise BadInputError(
                        file, f"mask of {im.width}x{im.height} is larger than the image", where
                    )
                crop = np.asarray(im) > 0
        except (OSError, SyntaxError, ValueError, PILImage.DecompressionBombError):
            raise BadInputError(file, "mask is not a readable PNG", where) from None
        if crop.ndim == 3:
            crop = crop.any(axis=2)
        x1, y1 = int(pts[0][0]), int(pts[0][1])
        x2, y2 = int(pts[1][0]), int(pts[1][1])
        if crop.shape != (y2 - y1 + 1, x2 - x1 + 1):
            self.report.warning(
                file,
                f"mask is {crop.shape[1]}x{crop.shape[0]} but its box is "
                f"{x2 - x1 + 1}x{y2 - y1 + 1}; placed at the box's top-left corner",
                where,
            )
        full = np.zeros((h, w), dtype=np.uint8)
        ch, cw = crop.shape
        # Clip the crop to the image (a box may stick out of it).
        sx, sy = max(0, -x1), max(0, -y1)
        ex, ey = min(cw, w - x1), min(ch, h - y1)
        if ex > sx and ey > sy:
            full[y1 + sy : y1 + ey, x1 + sx : x1 + ex] = crop[sy:ey, sx:ex]
        if not full.any():
            raise BadInputError(file, "mask is empty", where)
        return mask_ops.encode(full)

    def _extras(self, s: dict[str, Any], attrs: dict[str, Any], file: str, where: str) -> None:
        desc = s.get("description")
        if isinstance(desc, str) and desc:
            attrs["description"] = desc
        flags = s.get("flags")
        if isinstance(flags, dict) and flags:
            attrs["flags"] = flags
        score = s.get("score")
        if isinstance(score, int | float) and not isinstance(score, bool) and math.isfinite(score):
            attrs["score"] = float(score)
        if s.get("difficult") is True:
            attrs["difficult"] = True
        kie = s.get("kie_linking")
        if isinstance(kie, list) and kie:
            attrs["kie_linking"] = kie
        extra = s.get("attributes")
        if isinstance(extra, dict):
            for k, v in extra.items():
                if k in _RESERVED or k in attrs:
                    self.report.warning(
                        file,
                        f"attribute {k!r} clashes with a labelme field; kept as 'attr:{k}'",
                        where,
                    )
                    attrs[f"attr:{k}"] = v
                else:
                    attrs[k] = v

    # -- one file -------------------------------------------------------------------------

    def file(self, f: Path, rel: str, data: dict[str, Any]) -> DatasetImage | None:
        file = str(f)
        w = h = None
        for key in ("imageWidth", "imageHeight"):
            v = data.get(key)
            if v is None:
                continue
            try:
                n = as_int(v, f, key, key)
            except BadInputError as exc:
                self.report.warning(file, exc.problem, key)
                continue
            if n <= 0:
                self.report.warning(file, f"{key} {n} is not a size", key)
                continue
            if key == "imageWidth":
                w = n
            else:
                h = n
        if w and h and (refused := check_dimensions(w, h)):
            self.report.error(file, refused, "imageWidth")
            return None
        located = self.image(f, rel, data)
        if located is None:
            return None
        path, embedded, emb_size = located
        if emb_size is not None:
            if (w, h) not in ((None, None), emb_size):
                self.report.warning(
                    file,
                    f"imageWidth/imageHeight {w}x{h} differ from imageData's {emb_size[0]}x{emb_size[1]}; using imageData's",
                )
            w, h = emb_size
        img = DatasetImage(path, width=w, height=h, source_id=rel, embedded=embedded)
        flags = data.get("flags")
        if isinstance(flags, dict):
            for name, on in flags.items():
                if not isinstance(name, str) or not name.strip():
                    continue
                self.label(name.strip())
                if on is True:
                    img.objects.append(
                        DatasetObject(name.strip(), Tag(), source_id=f"flags.{name}")
                    )
        elif flags is not None:
            self.report.warning(file, "'flags' is not an object; ignored", "flags")
        for i, s in enumerate(data["shapes"]):
            where = f"shapes[{i}]"
            try:
                obj = self.shape(s, file, where, (w, h))
            except (BadInputError, ValidationError) as exc:
                if isinstance(exc, BadInputError):
                    self.report.error(file, exc.problem, exc.where or where)
                else:
                    self.report.error(file, str(exc), where)
                continue
            obj.source_id = i
            img.objects.append(obj)
        return img


def _image_size(data: bytes) -> tuple[int, int] | None:
    try:
        with PILImage.open(io.BytesIO(data)) as im:
            return None if check_dimensions(*im.size) else im.size
    except (OSError, SyntaxError, ValueError, PILImage.DecompressionBombError):
        return None


def _inputs(path: Path) -> tuple[Path, list[str], bool]:
    """(root, JSON files relative to it, whether the user chose one file)."""
    if path.is_file():
        return path.parent, [path.name], True
    if path.is_dir():
        return path, walk_files(path, {".json"}), False
    raise BadInputError(path, "no such file or folder")


def read(path: Path, report: Report) -> Dataset:
    path = Path(path)
    root, files, single = _inputs(path)
    r = _Reader(root, report)
    ds = Dataset(format=NAME, root=str(root.resolve()))
    owner: dict[str, str] = {}
    for rel in files:
        f = root / rel
        try:
            data = load_json(f)
        except BadInputError as exc:
            if single:
                raise
            report.error(str(f), exc.problem, exc.where)
            continue
        if not _is_labelme(data):
            if single:
                raise BadInputError(f, "not a labelme file (no 'shapes' list)")
            report.warning(str(f), "not a labelme file (no 'shapes' list); skipped")
            continue
        img = r.file(f, rel, data)
        if img is None:
            continue
        if img.path in owner:
            report.error(
                str(f), f"image {img.path} is already annotated by {owner[img.path]}; skipped"
            )
            continue
        owner[img.path] = rel
        ds.images.append(img)
    if not owner and not report.errors:
        raise BadInputError(path, "no labelme JSON files found")
    ds.labels = list(r.labels.values())
    return ds


# -- detection -----------------------------------------------------------------------------


def _sniff(f: Path) -> float:
    try:
        with open(f, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return 0.0
    if not head.lstrip().startswith(b"{") or b'"shapes"' not in head:
        return 0.0
    if b'"imagePath"' in head or b'"shape_type"' in head:
        return 0.95
    return 0.6


def detect(path: Path) -> float:
    path = Path(path)
    if path.is_file():
        return _sniff(path) if path.suffix.lower() == ".json" else 0.0
    if not path.is_dir():
        return 0.0
    # Cheap: the JSON files in the folder and one level below, at most 20 of them.
    cands: list[Path] = []
    try:
        for p in sorted(path.iterdir()):
            if p.suffix.lower() == ".json" and p.is_file():
                cands.append(p)
            elif p.is_dir() and not p.name.startswith("."):
                cands.extend(sorted(q for q in p.glob("*.json") if q.is_file())[:10])
            if len(cands) >= 20:
                break
    except OSError:
        return 0.0
    if not cands:
        return 0.0
    scores = [_sniff(p) for p in cands[:20]]
    hits = [s for s in scores if s > 0]
    score = max(hits) * len(hits) / len(scores) if hits else 0.0
    # X-AnyLabeling keeps labelme JSON sources next to a YOLO export; the YOLO
    # layout (labels/ plus a class list) is what such a folder is.
    if (path / "labels").is_dir() and any(
        (path / n).is_file() for n in ("classes.txt", "data.yaml", "obj.names")
    ):
        score *= 0.5
    return score


register(
    FormatSpec(
        name=NAME,
        title="labelme JSON",
        reader=read,
        writer=write,
        detect=detect,
        extensions=(".json",),
        description="labelme / X-AnyLabeling JSON, one file per image, with or without imageData",
    )
)
