"""CVAT XML 1.1: "CVAT for images" (read and write) and "CVAT for video" (read).

CVAT for images lists ``<image id name width height [subset]>`` elements with
``<box>``, ``<polygon>``, ``<polyline>``, ``<points>``, ``<mask>`` (CVAT's own RLE),
``<skeleton>``, ``<ellipse>`` and ``<tag>`` children; labels, their colours, their
attribute schema and skeletons are in ``<meta><task|project|job><labels>``.

CVAT for video lists ``<track id label>`` elements whose shapes carry a
``frame``; each frame becomes an image named ``frame_%06d`` (the name CVAT and
Datumaro give extracted frames; the file is looked up by that stem under the
root, any extension). Shapes with ``outside="1"`` end a track and are dropped;
the shapes CVAT wrote are used as they are (no interpolation of our own);
``track_id`` and ``keyframe`` are kept as attributes.

Mapping: polylines -> Keypoints with ``shape="polyline"`` (Lightable has no
polyline geometry; the writer restores them); rotated boxes and ellipses ->
Polygons with their parameters in attributes (see ``shape_approx``); skeletons
-> Keypoints in the skeleton's node order (``outside`` -> visibility 0,
``occluded`` -> 1); ``occluded``, ``z_order``, ``source`` (when not manual) and the
``<attribute>`` values (typed by the label's schema) -> attributes; ``group_id`` ->
group. Shapes with an empty label (Datumaro writes them) get the label
``unlabeled``; cuboids are not supported and are reported.
"""

from __future__ import annotations

import contextlib
import html
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from lightable.core.errors import BadInputError, ValidationError
from lightable.core.geometry import Box, Geometry, Keypoints, Mask, Polygon, Tag
from lightable.core.model import Skeleton
from lightable.formats.cvat_write import write
from lightable.formats.file_lookup import ImageFinder
from lightable.formats.model import (
    Dataset,
    DatasetImage,
    DatasetLabel,
    DatasetObject,
    Report,
)
from lightable.formats.registry import FormatSpec, register
from lightable.formats.safe_io import as_int, finite, load_xml, safe_relpath, walk_files
from lightable.formats.shape_approx import (
    ellipse_polygon,
    rotated_rect_corners,
)
from lightable.imaging import masks as mask_ops
from lightable.imaging.safety import check_dimensions

NAME = "cvat"
UNLABELED = "unlabeled"
_SHAPES = ("box", "polygon", "polyline", "points", "mask", "skeleton", "ellipse", "cuboid", "tag")


# -- meta ----------------------------------------------------------------------------------


class _LabelInfo:
    __slots__ = ("color", "name", "parent", "schema", "svg", "type")

    def __init__(self, name: str) -> None:
        self.name = name
        self.color: str | None = None
        self.type = "any"
        self.parent: str | None = None
        self.schema: dict[str, str] = {}  # attribute name -> input_type
        self.svg = ""


_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _meta_labels(root: ET.Element) -> list[_LabelInfo]:
    meta = root.find("meta")
    if meta is None:
        return []
    out: list[_LabelInfo] = []
    for holder in ("task", "project", "job"):
        labels = meta.find(f"{holder}/labels")
        if labels is None:
            continue
        for el in labels.findall("label"):
            info = _LabelInfo((el.findtext("name") or "").strip())
            if not info.name:
                continue
            color = (el.findtext("color") or "").strip()
            info.color = color.lower() if _COLOR.match(color) else None
            info.type = (el.findtext("type") or "any").strip()
            info.parent = (el.findtext("parent") or "").strip() or None
            info.svg = el.findtext("svg") or ""
            for a in el.findall("attributes/attribute"):
                an = (a.findtext("name") or "").strip()
                if an:
                    info.schema[an] = (a.findtext("input_type") or "text").strip()
            out.append(info)
        break
    return out


def _skeleton(info: _LabelInfo, children: list[str]) -> Skeleton:
    """Node names (by node id) and edges from the skeleton's SVG; falls back to the
    order of the sub-labels."""
    nodes: dict[int, str] = {}
    for m in re.finditer(r"<circle\b[^>]*>", info.svg):
        tag = m.group(0)
        nid = re.search(r'data-node-id="(\d+)"', tag)
        nm = re.search(r'data-label-name="([^"]*)"', tag)
        if nid and nm:
            nodes[int(nid.group(1))] = html.unescape(nm.group(1))
    if nodes and set(nodes.values()) >= set(children):
        order = sorted(nodes)
        names = [nodes[i] for i in order]
    else:
        order, names = [], list(children)
    edges: list[tuple[int, int]] = []
    pos = {nid: k for k, nid in enumerate(order)}
    for m in re.finditer(r"<line\b[^>]*>", info.svg):
        a = re.search(r'data-node-from="(\d+)"', m.group(0))
        b = re.search(r'data-node-to="(\d+)"', m.group(0))
        if a and b and int(a.group(1)) in pos and int(b.group(1)) in pos:
            edges.append((pos[int(a.group(1))], pos[int(b.group(1))]))
    return Skeleton(names, edges)


# -- reading -------------------------------------------------------------------------------


def _points(text: str | None, file: str, where: str) -> list[tuple[float, float]]:
    out = []
    for k, pair in enumerate(p for p in (text or "").split(";") if p.strip()):
        xy = pair.split(",")
        if len(xy) != 2:
            raise BadInputError(file, f"point {pair!r} is not 'x,y'", where)
        out.append(
            (finite(xy[0], file, where, f"point {k} x"), finite(xy[1], file, where, f"point {k} y"))
        )
    return out


def _num(el: ET.Element, key: str, file: str, where: str) -> float:
    v = el.get(key)
    if v is None:
        raise BadInputError(file, f"<{el.tag}> without {key}", where)
    return finite(v, file, where, key)


def _typed(value: str, input_type: str | None) -> Any:
    if input_type == "checkbox":
        return value.strip().lower() == "true"
    if input_type == "number":
        try:
            f = float(value)
        except ValueError:
            return value
        if math.isfinite(f):
            return int(f) if re.fullmatch(r"\s*-?\d+\s*", value) else f
    return value


class _Reader:
    def __init__(self, root: Path, report: Report) -> None:
        self.root = root
        self.report = report
        self.finder = ImageFinder(root)
        self.infos: dict[str, _LabelInfo] = {}
        self.labels: dict[str, DatasetLabel] = {}
        self.sub_labels: set[str] = set()

    def meta(self, xml: ET.Element) -> None:
        infos = _meta_labels(xml)
        for info in infos:
            if info.parent:
                self.sub_labels.add(info.name)
                continue
            self.infos.setdefault(info.name, info)
            if info.name not in self.labels:
                skel = None
                if info.type == "skeleton":
                    kids = [i.name for i in infos if i.parent == info.name]
                    skel = _skeleton(info, kids)
                self.labels[info.name] = DatasetLabel(info.name, color=info.color, skeleton=skel)

    def label(self, name: str | None, file: str, where: str) -> str:
        name = (name or "").strip()
        if not name:
            self.report.warning(
                file, f"shape without a label: given the label {UNLABELED!r}", where
            )
            name = UNLABELED
        if name not in self.labels:
            if name != UNLABELED:
                self.report.warning(file, f"label {name!r} is not declared in <meta>", where)
            self.labels[name] = DatasetLabel(name)
        return name

    def attributes(self, el: ET.Element, label: str) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        if el.get("occluded") == "1":
            attrs["occluded"] = True
        z = el.get("z_order")
        if z and z.strip() not in ("0", ""):
            with contextlib.suppress(ValueError):
                attrs["z_order"] = int(z)
        src = el.get("source")
        if src and src != "manual":
            attrs["source"] = src
        schema = self.infos[label].schema if label in self.infos else {}
        for a in el.findall("attribute"):
            an = a.get("name")
            if an:
                attrs[an] = _typed(a.text or "", schema.get(an))
        return attrs

    def geometry(
        self, el: ET.Element, label: str, size: tuple[int | None, int | None], file: str, where: str
    ) -> tuple[Geometry, dict[str, Any]]:
        tag = el.tag
        extra: dict[str, Any] = {}
        if tag == "box":
            x1, y1, x2, y2 = (_num(el, k, file, where) for k in ("xtl", "ytl", "xbr", "ybr"))
            rot = finite(el.get("rotation") or 0, file, where, "rotation") % 360.0
            box = Box.from_corners(x1, y1, x2, y2)
            if rot:
                corners = rotated_rect_corners(box.x, box.y, box.w, box.h, rot, about_center=True)
                extra["rotation"] = rot
                return Polygon.from_points(corners), extra
            return box, extra
        if tag == "polygon":
            pts = _points(el.get("points"), file, where)
            if len(pts) < 3:
                raise BadInputError(file, f"polygon with {len(pts)} points (needs 3)", where)
            return Polygon.from_points(pts), extra
        if tag == "polyline":
            pts = _points(el.get("points"), file, where)
            if len(pts) < 2:
                raise BadInputError(file, f"polyline with {len(pts)} points (needs 2)", where)
            extra["shape"] = "polyline"
            return Keypoints(tuple((x, y, 2) for x, y in pts)), extra
        if tag == "points":
            pts = _points(el.get("points"), file, where)
            if not pts:
                raise BadInputError(file, "points without coordinates", where)
            return Keypoints(tuple((x, y, 2) for x, y in pts)), extra
        if tag == "ellipse":
            cx, cy, rx, ry = (_num(el, k, file, where) for k in ("cx", "cy", "rx", "ry"))
            rot = finite(el.get("rotation") or 0, file, where, "rotation") % 360.0
            if rx <= 0 or ry <= 0:
                raise BadInputError(file, "ellipse with a zero radius", where)
            extra.update(shape="ellipse", center=[cx, cy], rx=rx, ry=ry)
            if rot:
                extra["rotation"] = rot
            return ellipse_polygon(cx, cy, rx, ry, rot), extra
        if tag == "mask":
            return self.mask(el, size, file, where), extra
        if tag == "skeleton":
            return self.skeleton(el, label, file, where), extra
        if tag == "tag":
            return Tag(), extra
        raise BadInputError(file, f"<{tag}> shapes are not supported", where)

    def mask(
        self, el: ET.Element, size: tuple[int | None, int | None], file: str, where: str
    ) -> Mask:
        w, h = size
        if not w or not h:
            raise BadInputError(file, "mask on an image without width/height", where)
        left, top, mw, mh = (
            as_int(el.get(k), file, where, k) for k in ("left", "top", "width", "height")
        )
        if mw <= 0 or mh <= 0 or mw * mh > 4 * w * h:
            raise BadInputError(file, f"mask box {mw}x{mh} does not fit the {w}x{h} image", where)
        try:
            counts = [int(c) for c in (el.get("rle") or "").split(",") if c.strip()]
        except ValueError:
            raise BadInputError(file, "mask rle is not a list of integers", where) from None
        if any(c < 0 for c in counts) or sum(counts) != mw * mh:
            raise BadInputError(
                file, f"mask rle covers {sum(counts)} pixels, its box {mw}x{mh}={mw * mh}", where
            )
        values = np.repeat(np.arange(len(counts)) % 2, counts).astype(np.uint8)
        crop = values.reshape(mh, mw)  # row-major, starting with background
        full = np.zeros((h, w), dtype=np.uint8)
        x0, y0 = max(0, left), max(0, top)
        x1, y1 = min(w, left + mw), min(h, top + mh)
        if x1 > x0 and y1 > y0:
            full[y0:y1, x0:x1] = crop[y0 - top : y1 - top, x0 - left : x1 - left]
        if not full.any():
            raise BadInputError(file, "mask is empty", where)
        return mask_ops.encode(full)

    def skeleton(self, el: ET.Element, label: str, file: str, where: str) -> Keypoints:
        lab = self.labels.get(label)
        names = list(lab.skeleton.names) if lab is not None and lab.skeleton else []
        nodes: dict[str, tuple[float, float, int]] = {}
        order: list[str] = []
        for k, p in enumerate(el.findall("points")):
            pts = _points(p.get("points"), file, f"{where}/points[{k}]")
            if len(pts) != 1:
                raise BadInputError(
                    file, "skeleton node needs exactly one point", f"{where}/points[{k}]"
                )
            v = 0 if p.get("outside") == "1" else 1 if p.get("occluded") == "1" else 2
            name = p.get("label") or str(k)
            nodes[name] = (pts[0][0], pts[0][1], v)
            order.append(name)
        if not names:
            names = order
        unknown = [n for n in order if n not in names]
        if unknown:
            raise BadInputError(
                file, f"skeleton nodes {unknown} are not in {label!r}'s skeleton", where
            )
        if not nodes:
            raise BadInputError(file, "skeleton without nodes", where)
        return Keypoints(tuple(nodes.get(n, (0.0, 0.0, 0)) for n in names))

    def shape(
        self, el: ET.Element, size: tuple[int | None, int | None], file: str, where: str
    ) -> DatasetObject:
        label = self.label(el.get("label"), file, where)
        geom, extra = self.geometry(el, label, size, file, where)
        attrs = self.attributes(el, label)
        attrs.update(extra)
        group = el.get("group_id")
        g: int | None = None
        if group and group.strip() not in ("", "0"):
            try:
                g = int(group)
            except ValueError:
                self.report.warning(file, f"group_id {group!r} ignored", where)
        return DatasetObject(label, geom, attrs, group=g)

    def resolve(self, name: str, f: Path, where: str) -> str:
        rel = safe_relpath(name, f, where)
        found = self.finder.find(rel, extra_dirs=("images",))
        if found is None:
            self.report.warning(str(f), f"image {name!r} not found under the import root", where)
            return rel
        return found


def _split_of(xml_file: Path, subset: str | None) -> str | None:
    if subset and subset.strip() and subset.strip().lower() != "default":
        return subset.strip()
    stem = xml_file.stem
    # Datumaro names a task export after its subset (train.xml); CVAT calls it annotations.xml.
    return None if stem.lower() in ("annotations", "default") else stem


def _read_images(
    r: _Reader, xml: ET.Element, f: Path, ds: Dataset, seen: dict[str, DatasetImage]
) -> None:
    file = str(f)
    for k, el in enumerate(xml.findall("image")):
        name = el.get("name")
        where = f"image id {el.get('id', k)}"
        if not name:
            r.report.error(file, "<image> without name", where)
            continue
        try:
            path = r.resolve(name, f, where)
        except BadInputError as exc:
            r.report.error(file, exc.problem, exc.where)
            continue
        w = h = None
        try:
            if el.get("width") is not None:
                w = as_int(el.get("width"), f, where, "width")
            if el.get("height") is not None:
                h = as_int(el.get("height"), f, where, "height")
        except BadInputError as exc:
            r.report.warning(file, exc.problem, exc.where)
        if w and h and (refused := check_dimensions(w, h)):
            r.report.error(file, refused, where)
            continue
        if path in seen:
            r.report.error(file, f"image {path} is listed twice", where)
            continue
        img = DatasetImage(path, width=w or None, height=h or None, source_id=el.get("id"))
        img.split = _split_of(f, el.get("subset"))
        for j, sh in enumerate(child for child in el if child.tag in _SHAPES):
            sw = f"{where} {sh.tag}[{j}]"
            try:
                obj = r.shape(sh, (img.width, img.height), file, sw)
            except (BadInputError, ValidationError) as exc:
                r.report.error(
                    file, exc.problem if isinstance(exc, BadInputError) else str(exc), sw
                )
                continue
            obj.source_id = j
            img.objects.append(obj)
        seen[path] = img
        ds.images.append(img)


def _read_tracks(
    r: _Reader, xml: ET.Element, f: Path, ds: Dataset, seen: dict[str, DatasetImage]
) -> None:
    file = str(f)
    tracks = xml.findall("track")
    if not tracks:
        return
    size_el = xml.find("meta/task/original_size")
    w = h = None
    if size_el is not None:
        try:
            w = as_int(size_el.findtext("width"), f, "original_size", "width")
            h = as_int(size_el.findtext("height"), f, "original_size", "height")
        except BadInputError as exc:
            r.report.warning(file, exc.problem, exc.where)
    if w and h and (refused := check_dimensions(w, h)):
        r.report.error(file, f"{refused}; frame sizes ignored", "original_size")
        w = h = None
    frames: dict[int, DatasetImage] = {}

    def frame_image(n: int) -> DatasetImage:
        if n not in frames:
            stem = f"frame_{n:06d}"
            path = r.finder.by_stem(stem, near="images/")
            if path is None:
                path = f"images/{stem}.png"
                r.report.warning(file, f"no image file for frame {n} ({stem}.*)", f"frame {n}")
            img = seen.get(path)
            if img is None:
                img = DatasetImage(path, width=w, height=h, source_id=n, split=_split_of(f, None))
                seen[path] = img
                ds.images.append(img)
            frames[n] = img
        return frames[n]

    for t in tracks:
        tid = t.get("id")
        for j, sh in enumerate(child for child in t if child.tag in _SHAPES):
            where = f"track id {tid} {sh.tag}[{j}]"
            try:
                n = as_int(sh.get("frame"), f, where, "frame")
                if n < 0:
                    raise BadInputError(f, f"frame {n} is negative", where)
            except BadInputError as exc:
                r.report.error(file, exc.problem, exc.where)
                continue
            img = frame_image(n)
            if sh.get("outside") == "1":
                continue  # the object has left the frame
            sh.set("label", t.get("label") or "")
            if t.get("group_id") and not sh.get("group_id"):
                sh.set("group_id", t.get("group_id") or "")
            try:
                obj = r.shape(sh, (img.width, img.height), file, where)
            except (BadInputError, ValidationError) as exc:
                r.report.error(
                    file, exc.problem if isinstance(exc, BadInputError) else str(exc), where
                )
                continue
            if tid is not None:
                obj.attributes["track_id"] = int(tid) if tid.isdigit() else tid
            if sh.get("keyframe") is not None:
                obj.attributes["keyframe"] = sh.get("keyframe") == "1"
            obj.source_id = f"track {tid} frame {n}"
            img.objects.append(obj)
    # Extracted frames on disk that no track mentions are still part of the video.
    for rel in r.finder.paths():
        m = re.search(r"frame_(\d+)\.[^/]+$", rel)
        if m and int(m.group(1)) not in frames and rel not in seen:
            img = DatasetImage(
                rel, width=w, height=h, source_id=int(m.group(1)), split=_split_of(f, None)
            )
            seen[rel] = img
            ds.images.append(img)


def _is_cvat(xml: ET.Element) -> bool:
    return xml.tag == "annotations" and (
        xml.find("image") is not None
        or xml.find("track") is not None
        or xml.find("meta") is not None
    )


def read(path: Path, report: Report) -> Dataset:
    path = Path(path)
    if path.is_file():
        root, files = path.parent, [path.name]
    elif path.is_dir():
        root, files = path, walk_files(path, {".xml"})
    else:
        raise BadInputError(path, "no such file or folder")
    r = _Reader(root, report)
    ds = Dataset(format=NAME, root=str(root.resolve()))
    seen: dict[str, DatasetImage] = {}
    found = 0
    for rel in files:
        f = root / rel
        try:
            xml = load_xml(f)
        except BadInputError as exc:
            if len(files) == 1:
                raise
            report.error(str(f), exc.problem, exc.where)
            continue
        if not _is_cvat(xml):
            if len(files) == 1:
                raise BadInputError(f, "not a CVAT XML file (root element is not <annotations>)")
            report.warning(str(f), "not a CVAT XML file; skipped")
            continue
        found += 1
        r.meta(xml)
        _read_images(r, xml, f, ds, seen)
        _read_tracks(r, xml, f, ds, seen)
    if not found and not report.errors:
        raise BadInputError(path, "no CVAT XML files found")
    ds.labels = list(r.labels.values())
    return ds


def detect(path: Path) -> float:
    path = Path(path)
    if path.is_dir():
        cands = sorted(p for p in path.glob("*.xml") if p.is_file())[:5]
        return max((detect(p) for p in cands), default=0.0)
    if path.suffix.lower() != ".xml":
        return 0.0
    try:
        with open(path, "rb") as fh:
            head = fh.read(16384)
    except OSError:
        return 0.0
    if b"<annotations" not in head:
        return 0.0
    if b"<version>1.1</version>" in head:
        return 0.95
    return 0.7 if (b"<image " in head or b"<track " in head or b"<meta>" in head) else 0.3


register(
    FormatSpec(
        name=NAME,
        title="CVAT XML 1.1",
        reader=read,
        writer=write,
        detect=detect,
        extensions=(".xml",),
        aliases=("cvat_images", "cvat_xml", "cvat_video"),
        description="CVAT for images 1.1 (read/write) and CVAT for video 1.1 (read, as frames)",
    )
)
