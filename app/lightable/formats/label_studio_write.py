"""Label Studio JSON writer (the reader and the mapping are in ``formats.label_studio``).

``tasks.json``: one task per image with one annotation (a predictions dataset goes
to ``predictions`` with scores); coordinates in percent of the image size, which is
also kept in the task's ``meta`` (``image_width``/``image_height``) so that images
without regions keep their size. Boxes -> ``rectanglelabels`` (a polygon read from
a rotated rectangle goes back to one with ``rotation``), Polygons ->
``polygonlabels`` (one per part), Keypoints -> one ``keypointlabels`` per labelled
point, Masks -> ``brushlabels`` (brush RLE), Tags -> one ``choices`` result.
``label_config.xml`` declares the tags these results use.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import quote

from lightable.core.geometry import Box, Geometry, Keypoints, Mask, Polygon, Tag
from lightable.formats import brush_rle
from lightable.formats.export_io import place_media
from lightable.formats.model import Dataset, DatasetImage, DatasetLabel, ExportOptions, Report
from lightable.formats.shape_approx import ellipse_matches, rect_from_corners
from lightable.imaging import masks as mask_ops

_REGION_TYPES = ("rectangle", "polygon", "keypoint", "brush", "ellipse")
# Attributes the reader derives from the region itself; others have no place here.
_RESERVED = frozenset({"rotation", "point_width", "shape", "center", "rx", "ry"})

_FROM = {
    "rectangle": "label",
    "polygon": "polygon",
    "keypoint": "keypoint",
    "brush": "brush",
    "ellipse": "ellipse",
}
_TAGS = {
    "rectangle": "RectangleLabels",
    "polygon": "PolygonLabels",
    "keypoint": "KeyPointLabels",
    "brush": "BrushLabels",
    "ellipse": "EllipseLabels",
}


class _Writer:
    def __init__(self, report: Report) -> None:
        self.report = report
        self.used: dict[str, list[str]] = {}  # region type -> label names
        self.dropped_attrs = 0

    def _use(self, kind: str, label: str) -> None:
        names = self.used.setdefault(kind, [])
        if label not in names:
            names.append(label)

    def results(self, img: DatasetImage, k: int) -> list[dict[str, Any]]:
        w, h = img.width or 0, img.height or 0
        out: list[dict[str, Any]] = []
        choices: list[str] = []
        regionless = [o for o in img.objects if not isinstance(o.geometry, Tag)]
        if regionless and not (w and h):
            self.report.error(
                img.path,
                f"image size unknown: percent coordinates cannot be written; "
                f"{len(regionless)} object(s) dropped",
            )
        px, py = (100.0 / w, 100.0 / h) if w and h else (0.0, 0.0)
        for i, obj in enumerate(img.objects):
            where = f"{img.path} object {i}"
            g = obj.geometry
            a = obj.attributes
            if any(key not in _RESERVED and key != "score" for key in a):
                self.dropped_attrs += 1
            if isinstance(g, Tag):
                if obj.label not in choices:
                    choices.append(obj.label)
                continue
            if not (w and h):
                continue
            regions = self._regions(g, a, px, py, w, h, where)
            for n, (kind, value) in enumerate(regions):
                self._use(kind, obj.label)
                value[f"{kind}labels"] = [obj.label]
                res: dict[str, Any] = {
                    "id": f"r{k}-{i}" + (f"-{n}" if len(regions) > 1 else ""),
                    "type": f"{kind}labels",
                    "from_name": _FROM[kind],
                    "to_name": "image",
                    "original_width": w,
                    "original_height": h,
                    "image_rotation": 0,
                    "origin": "manual",
                    "value": value,
                }
                if obj.score is not None:
                    res["score"] = obj.score
                out.append(res)
        if choices:
            self._use("choices", "")
            for c in choices:
                self._use("choice_values", c)
            out.append(
                {
                    "id": f"r{k}-tags",
                    "type": "choices",
                    "from_name": "choice",
                    "to_name": "image",
                    "origin": "manual",
                    "value": {"choices": choices},
                }
            )
        return out

    def _regions(
        self, g: Geometry, a: dict[str, Any], px: float, py: float, w: int, h: int, where: str
    ) -> list[tuple[str, dict[str, Any]]]:
        if isinstance(g, Box):
            return [
                (
                    "rectangle",
                    {
                        "x": g.x * px,
                        "y": g.y * py,
                        "width": g.w * px,
                        "height": g.h * py,
                        "rotation": 0,
                    },
                )
            ]
        if isinstance(g, Polygon):
            if a.get("shape") == "ellipse":
                try:
                    cx, cy, rx, ry = (
                        float(a["center"][0]),
                        float(a["center"][1]),
                        float(a["rx"]),
                        float(a["ry"]),
                    )
                    rot = float(a.get("rotation", 0.0))
                except (TypeError, KeyError, ValueError, IndexError):
                    cx = math.nan
                if math.isfinite(cx) and ellipse_matches(g, cx, cy, rx, ry, rot):
                    return [
                        (
                            "ellipse",
                            {
                                "x": cx * px,
                                "y": cy * py,
                                "radiusX": rx * px,
                                "radiusY": ry * py,
                                "rotation": rot,
                            },
                        )
                    ]
            if "rotation" in a and len(g.rings) == 1 and len(g.rings[0]) == 8:
                rect = rect_from_corners(g.points(0), about_center=False)
                if rect is not None:
                    x, y, rw, rh, rot = rect
                    return [
                        (
                            "rectangle",
                            {
                                "x": x * px,
                                "y": y * py,
                                "width": rw * px,
                                "height": rh * py,
                                "rotation": rot,
                            },
                        )
                    ]
            return [
                ("polygon", {"points": [[x * px, y * py] for x, y in g.points(r)], "closed": True})
                for r in range(len(g.rings))
            ]
        if isinstance(g, Keypoints):
            pts = g.labeled()
            if len(pts) < len(g.points) or len(g.points) > 1:
                self.report.warning(
                    where,
                    f"keypoints written as {len(pts)} separate Label Studio points (no skeletons, no hidden points)",
                )
            out = []
            for x, y, _v in pts:
                val: dict[str, Any] = {"x": x * px, "y": y * py}
                if isinstance(a.get("point_width"), int | float):
                    val["width"] = a["point_width"]
                out.append(("keypoint", val))
            return out
        if isinstance(g, Mask):
            if (g.height, g.width) != (h, w):
                self.report.error(
                    where, f"mask is {g.width}x{g.height}, image {w}x{h}; not written"
                )
                return []
            return [("brush", {"format": "rle", "rle": brush_rle.encode_mask(mask_ops.decode(g))})]
        self.report.warning(
            where, f"{type(g).__name__} cannot be written to Label Studio"
        )  # pragma: no cover
        return []

    def config(self, labels: list[DatasetLabel]) -> str:
        colors = {lb.name: lb.color for lb in labels if lb.color}
        view = ET.Element("View")
        ET.SubElement(view, "Image", name="image", value="$image")
        for kind in _REGION_TYPES:
            if kind not in self.used:
                continue
            el = ET.SubElement(view, _TAGS[kind], name=_FROM[kind], toName="image")
            for n in self.used[kind]:
                lab = ET.SubElement(el, "Label", value=n)
                if n in colors:
                    lab.set("background", str(colors[n]))
        if "choices" in self.used:
            el = ET.SubElement(view, "Choices", name="choice", toName="image", choice="multiple")
            for n in self.used.get("choice_values", []):
                ET.SubElement(el, "Choice", value=n)
        ET.indent(view, space="  ")
        return ET.tostring(view, encoding="unicode") + "\n"


def write(dataset: Dataset, out_dir: Path, report: Report, options: ExportOptions) -> None:
    """``tasks.json`` and ``label_config.xml`` in ``out_dir``.

    ``options.extra["image_prefix"]`` is put before each (URL-quoted) image path in
    ``data.image``, e.g. ``"/data/local-files/?d="`` for Label Studio's local storage.
    """
    prefix = str(options.extra.get("image_prefix", ""))
    w = _Writer(report)
    tasks = []
    for k, img in enumerate(dataset.images):
        results = w.results(img, k)
        image = prefix + quote(img.path) if prefix else img.path
        task: dict[str, Any] = {
            "id": k + 1,
            "data": {"image": image},
            "annotations": [],
            "predictions": [],
        }
        if img.width and img.height:
            task["meta"] = {"image_width": img.width, "image_height": img.height}
        if dataset.predictions:
            scores = [r["score"] for r in results if isinstance(r.get("score"), float)]
            task["predictions"].append(
                {
                    "model_version": dataset.name or "lightable",
                    "score": sum(scores) / len(scores) if scores else None,
                    "result": results,
                }
            )
        else:
            task["annotations"].append(
                {"id": k + 1, "result": results, "was_cancelled": False, "ground_truth": False}
            )
        tasks.append(task)
        place_media(dataset, img, Path(out_dir), f"images/{img.path}", options.media, report)
    if w.dropped_attrs:
        report.warning(
            "label_studio",
            f"{w.dropped_attrs} object(s) have attributes Label Studio cannot hold without a matching labeling config; not written",
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "tasks.json", "w", encoding="utf-8") as fh:
        json.dump(tasks, fh, ensure_ascii=False, indent=1, allow_nan=False)
        fh.write("\n")
    (out / "label_config.xml").write_text(w.config(dataset.labels), encoding="utf-8")
