"""LabelMe 3.0 XML, the MIT CSAIL web tool's format (read only).

Not to be confused with labelme JSON: one ``<annotation>`` XML per image with
``<filename>``, ``<folder>``, ``<imagesize>`` and ``<object>`` elements holding a
``<polygon>`` of ``<pt><x/><y/></pt>`` (``<type>bounding_box</type>`` marks a box
drawn as a polygon) or a ``<segm>`` naming a mask PNG. The usual layout keeps
``Annotations/<folder>/x.xml``, ``Images/<folder>/x.jpg`` and ``Masks/<folder>/``.

Pascal VOC shares the ``<annotation>`` root but uses ``<bndbox>``: detection
tells them apart by ``<pt>``/``<segm>`` versus ``<bndbox>``.

Mapping: deleted objects are skipped; ``occluded`` yes/no -> boolean attribute;
the free-text ``<attributes>`` (``a, k=v``) -> attributes; parts
(``hasparts``/``ispartof``) -> one ``group`` per part tree (the root object's id).
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage

from lightable.core.errors import BadInputError, ValidationError
from lightable.core.geometry import Box, Geometry, Polygon
from lightable.formats.file_lookup import ImageFinder
from lightable.formats.model import Dataset, DatasetImage, DatasetLabel, DatasetObject, Report
from lightable.formats.registry import FormatSpec, register
from lightable.formats.safe_io import (
    as_int,
    check_size,
    current_limits,
    finite,
    load_xml,
    safe_relpath,
    walk_files,
)
from lightable.imaging import masks as mask_ops
from lightable.imaging.safety import check_dimensions

NAME = "labelme_mit"


def _text(el: ET.Element | None, tag: str) -> str:
    if el is None:
        return ""
    sub = el.find(tag)
    return (sub.text or "").strip() if sub is not None else ""


def _parse_attributes(text: str) -> dict[str, Any]:
    """``"a1, size=3, visible=false"`` -> {"a1": True, "size": 3.0, "visible": False}."""
    out: dict[str, Any] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if "=" in part:
            k, v = (s.strip() for s in part.split("=", 1))
            if v.lower() in ("true", "false"):
                out[k] = v.lower() == "true"
            else:
                try:
                    out[k] = float(v)
                except ValueError:
                    out[k] = v
        else:
            out[part] = True
    return out


def _ids(text: str) -> list[int]:
    return [int(t) for t in re.findall(r"-?\d+", text)]


def _is_mit(root: ET.Element) -> bool:
    if root.tag != "annotation":
        return False
    objs = root.findall("object")
    if any(o.find("bndbox") is not None for o in objs):
        return False  # Pascal VOC
    return root.find("filename") is not None and (
        not objs or any(o.find("polygon") is not None or o.find("segm") is not None for o in objs)
    )


class _Reader:
    def __init__(self, root: Path, report: Report) -> None:
        self.root = root
        self.report = report
        self.finder = ImageFinder(root)
        self.labels: dict[str, DatasetLabel] = {}

    def _locate(self, rel_xml: str, folder: str, name: str, kind: str, file: Path) -> str | None:
        """``name`` under Images/ (or Masks/) mirrored from the XML's place, beside it, or by name."""
        xml_dir = posixpath.dirname(rel_xml)
        parts = xml_dir.split("/") if xml_dir else []
        mirrored = ""
        if "Annotations" in parts:
            i = parts.index("Annotations")
            mirrored = "/".join([*parts[:i], kind, *parts[i + 1 :]])
        cands = []
        for d in (mirrored, f"{kind}/{folder}" if folder else kind, xml_dir, folder):
            cands.append(f"{d}/{name}" if d else name)
        for c in cands:
            try:
                rel = safe_relpath(c, file)
            except BadInputError:
                continue
            if self.finder.exists(rel):
                return rel
        return self.finder.by_name(posixpath.basename(name), near=mirrored)

    def _mask(self, path: str, file: Path, where: str) -> Geometry:
        p = self.root / path
        check_size(p, current_limits().image_bytes, "mask file")
        try:
            with PILImage.open(p) as im:
                refused = check_dimensions(im.width, im.height)
                if refused:
                    raise BadInputError(file, f"mask {path}: {refused}", where)
                arr = np.asarray(im)
        except (OSError, SyntaxError, ValueError, PILImage.DecompressionBombError):
            raise BadInputError(file, f"mask {path} is not a readable image", where) from None
        binary = arr.any(axis=2) if arr.ndim == 3 else arr > 0
        if not binary.any():
            raise BadInputError(file, f"mask {path} is empty", where)
        return mask_ops.encode(binary)

    def _geometry(
        self, obj: ET.Element, rel_xml: str, folder: str, file: Path, where: str
    ) -> Geometry:
        poly = obj.find("polygon")
        if poly is not None:
            pts = []
            for k, pt in enumerate(poly.findall("pt")):
                x = finite(_text(pt, "x"), file, f"{where}/pt[{k}]", "x")
                y = finite(_text(pt, "y"), file, f"{where}/pt[{k}]", "y")
                pts.append((x, y))
            if _text(obj, "type") == "bounding_box" and len(pts) >= 2:
                xs, ys = [p[0] for p in pts], [p[1] for p in pts]
                return Box.from_corners(min(xs), min(ys), max(xs), max(ys))
            if len(pts) < 3:
                raise BadInputError(file, f"polygon with {len(pts)} points (needs 3)", where)
            return Polygon.from_points(pts)
        segm = obj.find("segm")
        if segm is not None:
            name = _text(segm, "mask")
            found = self._locate(rel_xml, folder, name, "Masks", file) if name else None
            if found is not None:
                return self._mask(found, file, where)
            box = segm.find("box")
            if box is None:
                raise BadInputError(file, f"mask file {name!r} not found and no box", where)
            vals = [finite(_text(box, t), file, where, t) for t in ("xmin", "ymin", "xmax", "ymax")]
            self.report.warning(str(file), f"mask file {name!r} not found; kept its box", where)
            return Box.from_corners(*vals)
        raise BadInputError(file, "object has neither <polygon> nor <segm>", where)

    def file(self, f: Path, rel: str, root: ET.Element) -> DatasetImage | None:
        file = str(f)
        name = _text(root, "filename")
        folder = _text(root, "folder")
        if not name:
            self.report.error(file, "no <filename>")
            return None
        try:
            safe_relpath(name, f, "filename")
            found = self._locate(rel, folder, name, "Images", f)
        except BadInputError as exc:
            self.report.error(file, exc.problem, exc.where)
            return None
        if found is None:
            found = safe_relpath(posixpath.join(posixpath.dirname(rel), name), f, "filename")
            self.report.warning(file, f"image {name!r} not found under the import root", "filename")
        img = DatasetImage(found, source_id=rel)
        size = root.find("imagesize")
        if size is not None:
            try:
                img.height = as_int(_text(size, "nrows"), f, "imagesize", "nrows") or None
                img.width = as_int(_text(size, "ncols"), f, "imagesize", "ncols") or None
            except BadInputError as exc:
                self.report.warning(file, exc.problem, exc.where)
        parents: dict[int, int] = {}
        by_id: dict[int, DatasetObject] = {}
        for k, obj in enumerate(root.findall("object")):
            oid_text = _text(obj, "id")
            where = f"object[{k}]" + (f" id {oid_text}" if oid_text else "")
            if _text(obj, "deleted") == "1":
                self.report.info(file, "deleted object skipped", where)
                continue
            label = _text(obj, "name")
            if not label:
                self.report.error(file, "object has no <name>", where)
                continue
            try:
                geom = self._geometry(obj, rel, folder, f, where)
            except (BadInputError, ValidationError) as exc:
                self.report.error(
                    file, exc.problem if isinstance(exc, BadInputError) else str(exc), where
                )
                continue
            attrs = _parse_attributes(_text(obj, "attributes"))
            occ = _text(obj, "occluded")
            if occ in ("yes", "no"):
                attrs["occluded"] = occ == "yes"
            oid = int(oid_text) if re.fullmatch(r"-?\d+", oid_text) else None
            if label not in self.labels:
                self.labels[label] = DatasetLabel(label)
            o = DatasetObject(label, geom, attrs, source_id=oid if oid is not None else k)
            img.objects.append(o)
            if oid is not None:
                by_id[oid] = o
                for parent in _ids(_text(obj.find("parts"), "ispartof"))[:1]:
                    parents[oid] = parent
        # A part tree is one group, named by its root object's id.
        children = {p for p in parents.values()}
        for oid, o in by_id.items():
            if oid in parents or oid in children:
                top, seen = oid, {oid}
                while top in parents and parents[top] not in seen:
                    top = parents[top]
                    seen.add(top)
                o.group = top
        return img


def _root_for(path: Path) -> Path:
    """The dataset root of one chosen XML: above ``Annotations/`` when it is inside one."""
    for parent in path.parents:
        if parent.name == "Annotations":
            return parent.parent
    return path.parent


def read(path: Path, report: Report) -> Dataset:
    path = Path(path)
    if path.is_file():
        root = _root_for(path)
        files = [path.relative_to(root).as_posix()]
    elif path.is_dir():
        root = path
        files = walk_files(root, {".xml"})
    else:
        raise BadInputError(path, "no such file or folder")
    r = _Reader(root, report)
    ds = Dataset(format=NAME, root=str(root.resolve()))
    for rel in files:
        f = root / rel
        try:
            xml = load_xml(f)
        except BadInputError as exc:
            if len(files) == 1:
                raise
            report.error(str(f), exc.problem, exc.where)
            continue
        if not _is_mit(xml):
            if len(files) == 1:
                raise BadInputError(f, "not a LabelMe 3.0 XML file (<annotation> with polygons)")
            report.warning(str(f), "not a LabelMe 3.0 XML file; skipped")
            continue
        img = r.file(f, rel, xml)
        if img is not None:
            ds.images.append(img)
    if not ds.images and not report.errors:
        raise BadInputError(path, "no LabelMe 3.0 XML files found")
    ds.labels = list(r.labels.values())
    return ds


def _sniff(f: Path) -> float:
    try:
        with open(f, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return 0.0
    if b"<annotation" not in head or b"<bndbox" in head:
        return 0.0
    if b"<pt>" in head or b"<segm>" in head:
        return 0.9
    return 0.3 if b"<filename>" in head and b"<imagesize>" in head else 0.0


def detect(path: Path) -> float:
    path = Path(path)
    if path.is_file():
        return _sniff(path) if path.suffix.lower() == ".xml" else 0.0
    if not path.is_dir():
        return 0.0
    base = path / "Annotations" if (path / "Annotations").is_dir() else path
    cands: list[Path] = []
    try:
        cands = sorted(p for p in base.glob("*.xml") if p.is_file())[:10]
        if not cands:
            for sub in sorted(p for p in base.iterdir() if p.is_dir())[:10]:
                cands.extend(sorted(q for q in sub.glob("*.xml") if q.is_file())[:5])
    except OSError:
        return 0.0
    scores = [_sniff(p) for p in cands[:10]]
    hits = [s for s in scores if s > 0]
    return max(hits) * len(hits) / len(scores) if hits else 0.0


register(
    FormatSpec(
        name=NAME,
        title="LabelMe 3.0 XML (MIT)",
        reader=read,
        detect=detect,
        extensions=(".xml",),
        aliases=("labelme_xml", "labelme3", "mit_labelme"),
        description="the MIT CSAIL LabelMe web tool's XML (not labelme JSON)",
    )
)
