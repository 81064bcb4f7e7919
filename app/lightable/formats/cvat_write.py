"""CVAT for images 1.1 XML writer (the reader and the mapping are in ``formats.cvat``).

One ``annotations.xml``: ``<meta><task><labels>`` with the label colours, an
attribute schema inferred from the values (booleans -> checkbox, numbers ->
number, the rest text) and skeletons (sub-labels with ``<parent>`` and an SVG of
the nodes and edges); one ``<image>`` per image with its shapes. Shapes that
Lightable reads back from CVAT as polygons or keypoints with parameters in their
attributes (rotated boxes, ellipses, polylines) are written back as those shapes.
Coordinates are written in full (the shortest text that reads back as the same
float), not rounded to CVAT's two decimals.
"""

from __future__ import annotations

import html
import itertools
import json
import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from lightable.core.geometry import Box, Keypoints, Mask, Polygon, Tag
from lightable.core.model import Skeleton
from lightable.formats.export_io import place_media
from lightable.formats.model import Dataset, DatasetImage, DatasetObject, ExportOptions, Report
from lightable.formats.shape_approx import ellipse_matches, rect_from_corners
from lightable.imaging import masks as mask_ops

# Attributes the reader derives from CVAT's own element attributes; everything
# else is an ``<attribute name>`` child.
OWN_ATTRIBUTES = frozenset(
    {"occluded", "z_order", "source", "rotation", "shape", "center", "rx", "ry"}
    | {"track_id", "keyframe"}
)
_OWN = OWN_ATTRIBUTES


def _f(v: float) -> str:
    """Shortest text that reads back as the same float."""
    return repr(float(v)) if not float(v).is_integer() else f"{float(v):.1f}"


def _pts(pts: list[tuple[float, float]]) -> str:
    return ";".join(f"{_f(x)},{_f(y)}" for x, y in pts)


def _attr_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return _f(v) if isinstance(v, float) else str(v)
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False)


def _input_type(values: list[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "checkbox"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "number"
    return "text"


def _schema_values(input_type: str, values: list[Any]) -> tuple[str, str]:
    """(default_value, values) as CVAT writes them: checkbox "false"/"false\ntrue";
    number "min\nmax\nstep" (step 1 for integers); text: no fixed values."""
    if input_type == "checkbox":
        return "false", "false\ntrue"
    if input_type == "number":
        lo, hi = min(values), max(values)
        ints = all(isinstance(v, int) for v in values)
        step = "1" if ints else "0.01"
        return _attr_text(lo), "\n".join((_attr_text(lo), _attr_text(hi), step))
    return "", ""


class _Writer:
    def __init__(self, dataset: Dataset, report: Report) -> None:
        self.ds = dataset
        self.report = report
        self.skeletons = {lb.name: lb.skeleton for lb in dataset.labels if lb.skeleton}

    def labels_el(self, parent: ET.Element) -> None:
        used: dict[str, dict[str, list[Any]]] = {}
        for img in self.ds.images:
            for o in img.objects:
                d = used.setdefault(o.label, {})
                for k, v in o.attributes.items():
                    if k not in _OWN:
                        d.setdefault(k, []).append(v)
        names = [lb.name for lb in self.ds.labels] + [
            n for n in used if n not in {lb.name for lb in self.ds.labels}
        ]
        by_name = {lb.name: lb for lb in self.ds.labels}
        labels = ET.SubElement(parent, "labels")
        for name in names:
            lb = by_name.get(name)
            el = ET.SubElement(labels, "label")
            ET.SubElement(el, "name").text = name
            if lb is not None and lb.color:
                ET.SubElement(el, "color").text = lb.color
            skel = self.skeletons.get(name)
            ET.SubElement(el, "type").text = "skeleton" if skel else "any"
            attrs = ET.SubElement(el, "attributes")
            for an, values in used.get(name, {}).items():
                a = ET.SubElement(attrs, "attribute")
                ET.SubElement(a, "name").text = an
                ET.SubElement(a, "mutable").text = "False"
                it = _input_type(values)
                ET.SubElement(a, "input_type").text = it
                default, allowed = _schema_values(it, values)
                ET.SubElement(a, "default_value").text = default
                ET.SubElement(a, "values").text = allowed
            if skel:
                ET.SubElement(el, "svg").text = self._svg(skel)
        for name, skel in self.skeletons.items():
            for node in skel.names:
                el = ET.SubElement(labels, "label")
                ET.SubElement(el, "name").text = node
                ET.SubElement(el, "type").text = "points"
                ET.SubElement(el, "attributes")
                ET.SubElement(el, "parent").text = name

    @staticmethod
    def _svg(skel: Skeleton) -> str:
        parts = []
        for a, b in skel.edges:
            parts.append(
                f'<line data-type="edge" data-node-from="{a + 1}" data-node-to="{b + 1}"></line>'
            )
        n = max(len(skel.names), 1)
        for k, name in enumerate(skel.names):
            cx, cy = (
                50 + 40 * math.cos(2 * math.pi * k / n),
                50 + 40 * math.sin(2 * math.pi * k / n),
            )
            parts.append(
                f'<circle r="1.5" cx="{cx:.2f}" cy="{cy:.2f}" data-type="element node" '
                f'data-element-id="{k + 1}" data-node-id="{k + 1}" data-label-name="{html.escape(name)}"></circle>'
            )
        return "".join(parts)

    def _common(self, el: ET.Element, obj: DatasetObject, group: int | None) -> None:
        a = obj.attributes
        if el.tag != "tag":
            el.set("occluded", "1" if a.get("occluded") else "0")
            z = a.get("z_order", 0)
            el.set(
                "z_order",
                str(int(z)) if isinstance(z, int | float) and not isinstance(z, bool) else "0",
            )
        el.set("source", str(a.get("source", "manual")))
        if group is not None:
            el.set("group_id", str(group))
        for k, v in a.items():
            if k in _OWN:
                continue
            at = ET.SubElement(el, "attribute", name=str(k))
            at.text = _attr_text(v)

    def shapes(self, img_el: ET.Element, img: DatasetImage) -> None:
        # CVAT group ids are positive (0 reads as "no group"); other groups get fresh ids.
        taken = {o.group for o in img.objects if isinstance(o.group, int) and o.group > 0}
        counter = itertools.count(max(taken, default=0) + 1)
        gmap: dict[Any, int] = {}
        for i, obj in enumerate(img.objects):
            g = obj.group
            if g is not None and not (isinstance(g, int) and not isinstance(g, bool) and g > 0):
                if g not in gmap:
                    gmap[g] = next(counter)
                g = gmap[g]
            els = self._elements(obj, img, f"{img.path} object {i}")
            if len(els) > 1 and g is None:
                g = next(counter)  # a multi-part polygon: its parts share a group
            for el in els:
                self._common(el, obj, g)
                img_el.append(el)

    def _elements(self, obj: DatasetObject, img: DatasetImage, where: str) -> list[ET.Element]:
        g = obj.geometry
        a = obj.attributes
        lab = obj.label
        if isinstance(g, Tag):
            return [ET.Element("tag", label=lab)]
        if isinstance(g, Box):
            return [
                ET.Element("box", label=lab, xtl=_f(g.x), ytl=_f(g.y), xbr=_f(g.x2), ybr=_f(g.y2))
            ]
        if isinstance(g, Polygon):
            if a.get("shape") == "ellipse":
                c = a.get("center")
                try:
                    cx, cy, rx, ry = float(c[0]), float(c[1]), float(a["rx"]), float(a["ry"])  # type: ignore[index]
                    rot = float(a.get("rotation", 0.0))
                except (TypeError, KeyError, ValueError, IndexError):
                    cx = cy = rx = ry = rot = math.nan
                if math.isfinite(cx) and ellipse_matches(g, cx, cy, rx, ry, rot):
                    el = ET.Element(
                        "ellipse", label=lab, cx=_f(cx), cy=_f(cy), rx=_f(rx), ry=_f(ry)
                    )
                    if rot:
                        el.set("rotation", _f(rot))
                    return [el]
            if "rotation" in a and len(g.rings) == 1 and len(g.rings[0]) == 8:
                rect = rect_from_corners(g.points(0), about_center=True)
                if rect is not None:
                    x, y, w, h, rot = rect
                    return [
                        ET.Element(
                            "box",
                            label=lab,
                            xtl=_f(x),
                            ytl=_f(y),
                            xbr=_f(x + w),
                            ybr=_f(y + h),
                            rotation=_f(rot),
                        )
                    ]
            return [
                ET.Element("polygon", label=lab, points=_pts(g.points(k)))
                for k in range(len(g.rings))
            ]
        if isinstance(g, Keypoints):
            if a.get("shape") in ("polyline", "line", "linestrip") and len(g.points) >= 2:
                return [
                    ET.Element("polyline", label=lab, points=_pts([(x, y) for x, y, _ in g.points]))
                ]
            skel = self.skeletons.get(lab)
            if skel and len(skel.names) == len(g.points):
                el = ET.Element("skeleton", label=lab, points="")
                for name, (x, y, v) in zip(skel.names, g.points, strict=True):
                    ET.SubElement(
                        el,
                        "points",
                        label=name,
                        outside="1" if v == 0 else "0",
                        occluded="1" if v == 1 else "0",
                        points=f"{_f(x)},{_f(y)}",
                    )
                return [el]
            labeled = [(x, y) for x, y, v in g.points if v > 0]
            if len(labeled) < len(g.points):
                self.report.warning(
                    where,
                    f"{len(g.points) - len(labeled)} unlabeled keypoints dropped (CVAT points have no visibility)",
                )
            if not labeled:
                return []
            return [ET.Element("points", label=lab, points=_pts(labeled))]
        if isinstance(g, Mask):
            full = mask_ops.decode(g).astype(bool)
            ys, xs = np.nonzero(full)
            if not len(xs):
                self.report.warning(where, "empty mask not written")
                return []
            x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
            flat = full[y0:y1, x0:x1].reshape(-1)
            change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
            bounds = np.concatenate(([0], change, [flat.size]))
            runs = np.diff(bounds).tolist()
            if flat[0]:
                runs.insert(0, 0)  # CVAT's runs start with background
            return [
                ET.Element(
                    "mask",
                    label=lab,
                    rle=", ".join(str(int(c)) for c in runs),
                    left=str(x0),
                    top=str(y0),
                    width=str(x1 - x0),
                    height=str(y1 - y0),
                )
            ]
        self.report.warning(
            where, f"{type(g).__name__} cannot be written to CVAT"
        )  # pragma: no cover
        return []


def write(dataset: Dataset, out_dir: Path, report: Report, options: ExportOptions) -> None:
    """``annotations.xml`` (CVAT for images 1.1) in ``out_dir``; image names are the
    project paths; an image split is written as the image's ``subset``."""
    w = _Writer(dataset, report)
    tracked = sum(1 for im in dataset.images for o in im.objects if "track_id" in o.attributes)
    if tracked:
        report.warning(
            "cvat",
            f"{tracked} objects come from video tracks; CVAT for images has no tracks, "
            "so track_id and keyframe are not written",
        )
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    meta = ET.SubElement(root, "meta")
    task = ET.SubElement(meta, "task")
    ET.SubElement(task, "name").text = str(options.extra.get("task_name", "lightable export"))
    ET.SubElement(task, "size").text = str(len(dataset.images))
    ET.SubElement(task, "mode").text = "annotation"
    w.labels_el(task)
    ET.SubElement(meta, "dumped").text = datetime.now(UTC).isoformat()
    for k, img in enumerate(dataset.images):
        if img.width is None or img.height is None:
            report.warning(
                img.path, "image size unknown; CVAT needs width and height (written as 0)"
            )
        el = ET.SubElement(
            root,
            "image",
            id=str(k),
            name=img.path,
            width=str(img.width or 0),
            height=str(img.height or 0),
        )
        if img.split:
            el.set("subset", img.split)
        w.shapes(el, img)
        place_media(dataset, img, Path(out_dir), f"images/{img.path}", options.media, report)
    ET.indent(root, space="  ")
    out = Path(out_dir) / "annotations.xml"
    out.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(out, encoding="utf-8", xml_declaration=True)
