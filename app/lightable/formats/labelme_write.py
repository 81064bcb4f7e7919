"""labelme 5 JSON writer (the reader and the mapping are in ``formats.labelme``).

One JSON per image at ``<image path minus suffix>.json``: Boxes -> ``rectangle``
(2 corners), Polygons -> ``polygon`` (a multi-part polygon -> one shape per part
sharing a ``group_id``; an unedited circle or X-AnyLabeling rotated box goes back
to its own shape), Keypoints -> ``point`` / ``line`` / ``linestrip`` (skeletons
become grouped points, reported), Masks -> ``mask`` (base64 PNG of the mask's
box), Tags -> true image ``flags``. Attributes go back to the shape fields they
came from (``description``, ``flags``, ``score``, ``difficult``, ``kie_linking``);
the rest to X-AnyLabeling's ``attributes`` dict, which labelme keeps untouched.
"""

from __future__ import annotations

import base64
import io
import json
import posixpath
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage

from lightable.core.errors import BadInputError
from lightable.core.geometry import Box, Keypoints, Mask, Polygon, Tag
from lightable.formats.export_io import place_media
from lightable.formats.model import Dataset, DatasetImage, DatasetObject, ExportOptions, Report
from lightable.formats.safe_io import current_limits, safe_relpath
from lightable.formats.shape_approx import ellipse_matches
from lightable.imaging import masks as mask_ops

WRITE_VERSION = "5.5.0"

# Shape keys we map to attributes ourselves; anything else in X-AnyLabeling's
# ``attributes`` dict is kept under its own name.
RESERVED = frozenset(
    {"shape", "center", "radius", "direction", "description", "flags", "score", "difficult"}
    | {"kie_linking", "attributes"}
)

_RESERVED = RESERVED


def _pt(x: float, y: float) -> list[float]:
    return [float(x), float(y)]


class _Writer:
    def __init__(self, report: Report) -> None:
        self.report = report

    def shapes(self, img: DatasetImage) -> tuple[list[dict[str, Any]], dict[str, bool]]:
        shapes: list[dict[str, Any]] = []
        flags: dict[str, bool] = {}
        used = {o.group for o in img.objects if isinstance(o.group, int)}
        next_group = max(used, default=-1) + 1
        group_ids: dict[Any, int] = {}

        def group_of(obj: DatasetObject) -> int | None:
            nonlocal next_group
            g = obj.group
            if g is None or isinstance(g, int):
                return g
            if isinstance(g, str) and g.lstrip("-").isdigit():
                return int(g)
            if g not in group_ids:
                group_ids[g] = next_group
                next_group += 1
            return group_ids[g]

        def fresh_group() -> int:
            nonlocal next_group
            next_group += 1
            return next_group - 1

        for i, obj in enumerate(img.objects):
            g = obj.geometry
            where = f"{img.path} object {i}"
            attrs = dict(obj.attributes)
            if isinstance(g, Tag):
                flags[obj.label] = True
                continue
            base = self._base(obj, attrs)
            gid = group_of(obj)
            if isinstance(g, Box):
                shapes.append(
                    base
                    | {
                        "points": [_pt(g.x, g.y), _pt(g.x2, g.y2)],
                        "group_id": gid,
                        "shape_type": "rectangle",
                    }
                )
            elif isinstance(g, Polygon):
                shapes.extend(self._polygon(g, base, attrs, gid, fresh_group))
            elif isinstance(g, Keypoints):
                shapes.extend(self._keypoints(g, base, attrs, gid, fresh_group, where))
            elif isinstance(g, Mask):
                m = self._mask(g, base, gid, where)
                if m is not None:
                    shapes.append(m)
            else:  # pragma: no cover - every geometry kind is handled above
                self.report.warning(where, f"{type(g).__name__} cannot be written to labelme")
        return shapes, flags

    def _base(self, obj: DatasetObject, attrs: dict[str, Any]) -> dict[str, Any]:
        d: dict[str, Any] = {"label": obj.label}
        score = obj.score if obj.score is not None else attrs.get("score")
        if score is not None:
            d["score"] = score
        d["description"] = attrs.get("description") or ""
        d["flags"] = attrs.get("flags") or {}
        if attrs.get("difficult") is True:
            d["difficult"] = True
        if attrs.get("kie_linking"):
            d["kie_linking"] = attrs["kie_linking"]
        extra = {}
        for k, v in attrs.items():
            if k in _RESERVED:
                continue
            extra[k[5:] if k.startswith("attr:") else k] = v
        if extra:
            d["attributes"] = extra
        return d

    def _polygon(
        self, g: Polygon, base: dict[str, Any], attrs: dict[str, Any], gid: int | None, fresh: Any
    ) -> list[dict[str, Any]]:
        shape = attrs.get("shape")
        if shape == "circle":
            c, r = attrs.get("center"), attrs.get("radius")
            if (
                isinstance(c, list | tuple)
                and len(c) == 2
                and isinstance(r, int | float)
                and ellipse_matches(g, float(c[0]), float(c[1]), float(r), float(r))
            ):
                cx, cy = float(c[0]), float(c[1])
                return [
                    base
                    | {
                        "points": [_pt(cx, cy), _pt(cx + float(r), cy)],
                        "group_id": gid,
                        "shape_type": "circle",
                    }
                ]
        if shape == "rotation" and len(g.rings) == 1 and len(g.rings[0]) == 8:
            d = base | {
                "points": [_pt(x, y) for x, y in g.points(0)],
                "group_id": gid,
                "shape_type": "rotation",
            }
            if "direction" in attrs:
                d["direction"] = attrs["direction"]
            return [d]
        if len(g.rings) > 1 and gid is None:
            gid = fresh()  # labelme's way of saying "these parts are one object"
        return [
            base
            | {
                "points": [_pt(x, y) for x, y in g.points(k)],
                "group_id": gid,
                "shape_type": "polygon",
            }
            for k in range(len(g.rings))
        ]

    def _keypoints(
        self,
        g: Keypoints,
        base: dict[str, Any],
        attrs: dict[str, Any],
        gid: int | None,
        fresh: Any,
        where: str,
    ) -> list[dict[str, Any]]:
        shape = attrs.get("shape")
        if shape in ("line", "linestrip", "polyline") and len(g.points) >= 2:
            # A CVAT polyline is labelme's linestrip (a "line" has exactly 2 points).
            kind = "line" if shape == "line" and len(g.points) == 2 else "linestrip"
            return [
                base
                | {
                    "points": [_pt(x, y) for x, y, _ in g.points],
                    "group_id": gid,
                    "shape_type": kind,
                }
            ]
        if len(g.points) == 1:
            x, y, v = g.points[0]
            if v != 2:
                self.report.warning(where, "labelme points have no visibility; written as visible")
            return [base | {"points": [_pt(x, y)], "group_id": gid, "shape_type": "point"}]
        labeled = g.labeled()
        self.report.warning(
            where,
            f"keypoints with {len(g.points)} points written as {len(labeled)} labelme points "
            "sharing a group_id (labelme has no skeletons; unlabeled points dropped)",
        )
        if gid is None:
            gid = fresh()
        return [
            base
            | {
                "points": [_pt(x, y)],
                "group_id": gid,
                "shape_type": "point",
                "description": f"keypoint {k}",
            }
            for k, (x, y, v) in enumerate(g.points)
            if v > 0
        ]

    def _mask(
        self, g: Mask, base: dict[str, Any], gid: int | None, where: str
    ) -> dict[str, Any] | None:
        full = mask_ops.decode(g).astype(bool)
        ys, xs = np.nonzero(full)
        if not len(xs):
            self.report.warning(where, "empty mask not written")
            return None
        x1, x2, y1, y2 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
        buf = io.BytesIO()
        PILImage.fromarray(full[y1 : y2 + 1, x1 : x2 + 1]).save(buf, format="PNG")
        return base | {
            "points": [[float(x1), float(y1)], [float(x2), float(y2)]],
            "group_id": gid,
            "shape_type": "mask",
            "mask": base64.b64encode(buf.getvalue()).decode("ascii"),
        }


def _embed(dataset: Dataset, img: DatasetImage, report: Report) -> str | None:
    data = img.embedded
    if data is None and dataset.root:
        p = Path(dataset.root) / img.path
        try:
            if p.stat().st_size > current_limits().image_bytes:
                report.warning(img.path, "image too large to embed; imageData left empty")
                return None
            data = p.read_bytes()
        except OSError as exc:
            report.warning(img.path, f"cannot embed the image: {exc.strerror or exc}")
            return None
    return base64.b64encode(data).decode("ascii") if data else None


def write(dataset: Dataset, out_dir: Path, report: Report, options: ExportOptions) -> None:
    """One labelme 5 JSON per image at ``<image path minus suffix>.json`` under ``out_dir``
    (beside the image when the images are exported too); ``imagePath`` is the file name.

    ``options.extra["image_data"] = True`` embeds the image bytes as ``imageData``.
    """
    out_dir = Path(out_dir)
    embed = bool(options.extra.get("image_data", False))
    w = _Writer(report)
    written: dict[str, str] = {}
    for img in dataset.images:
        try:
            rel = safe_relpath(img.path, img.path)
        except BadInputError as exc:
            report.error(img.path, exc.problem)
            continue
        json_rel = posixpath.splitext(rel)[0] + ".json"
        if json_rel in written:
            report.warning(
                img.path, f"{json_rel} is taken by {written[json_rel]}; written as {rel}.json"
            )
            json_rel = rel + ".json"
        written[json_rel] = rel
        shapes, flags = w.shapes(img)
        if img.width is None or img.height is None:
            report.warning(img.path, "image size unknown; imageWidth/imageHeight written as null")
        doc = {
            "version": WRITE_VERSION,
            "flags": flags,
            "shapes": shapes,
            "imagePath": posixpath.basename(rel),
            "imageData": _embed(dataset, img, report) if embed else None,
            "imageHeight": img.height,
            "imageWidth": img.width,
        }
        target = out_dir / json_rel
        target.parent.mkdir(parents=True, exist_ok=True)
        place_media(dataset, img, out_dir, rel, options.media, report)
        with open(target, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False, indent=2, allow_nan=False)
            fh.write("\n")
