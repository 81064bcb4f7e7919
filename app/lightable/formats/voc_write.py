"""Pascal VOC writer.

``Annotations/<id>.xml`` (devkit convention: ``xmin = x + 1``, ``xmax = x + w``),
``ImageSets/Main/<split>.txt``, ``labelmap.txt`` (Datumaro/CVAT form, so class
indices and colours come back), ``JPEGImages/`` with ``--media``, and, when the
data set has polygons or masks, palette PNGs ``SegmentationObject/<id>.png``
(value = the object's index in its XML; masks with no box of their own are numbered
after the XML objects) and ``SegmentationClass/<id>.png``
(value = the class index in ``labelmap.txt``). Objects that overlap in a mask
PNG keep the later object's pixels (VOC holds one label per pixel).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from lightable.core.geometry import Box, Keypoints, Mask, Polygon, Tag
from lightable.formats.export_io import place_media
from lightable.formats.model import (
    Dataset,
    DatasetImage,
    DatasetObject,
    ExportOptions,
    MediaMode,
    Report,
)
from lightable.formats.voc import FLAGS, VOID, voc_colormap

NAME = "voc"


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def plan(ds: Dataset, report: Report, options: ExportOptions) -> None:
    kinds = Counter(o.geometry.kind for im in ds.images for o in im.objects)
    for k, what in ((Keypoints.kind, "keypoints"), (Tag.kind, "image-level tags")):
        if kinds.get(k):
            report.warning(NAME, f"{kinds[k]} {what} cannot be held by Pascal VOC; left out")
    shapes = kinds.get(Polygon.kind, 0) + kinds.get(Mask.kind, 0)
    if shapes:
        report.warning(
            NAME,
            f"{shapes} polygons/masks are written as their boxes in the XML plus segmentation "
            "PNGs (polygons are rasterised; overlapping objects keep the later one's pixels)",
        )
    if ds.predictions:
        report.warning(NAME, "Pascal VOC holds no scores; predictions written as labels")


def _ident(im: DatasetImage) -> str:
    p = im.path
    if p.startswith("JPEGImages/"):
        p = p[len("JPEGImages/") :]
    return p.rsplit(".", 1)[0]


def write(ds: Dataset, out: Path, report: Report, options: ExportOptions) -> None:
    classes = ["background"] + [lb.name for lb in ds.labels if lb.name != "background"]
    cmap = voc_colormap(256)
    colors = {lb.name: lb.color for lb in ds.labels if lb.color}
    index = {n: i for i, n in enumerate(classes)}
    (out / "Annotations").mkdir(parents=True)
    splits: dict[str, list[str]] = defaultdict(list)
    seg_ids: dict[str, list[str]] = defaultdict(list)
    seen: set[str] = set()
    for im in ds.images:
        ident = _ident(im)
        if ident in seen:
            report.error(im.path, f"image id {ident!r} is used twice; left out")
            continue
        seen.add(ident)
        objs = [o for o in im.objects if not isinstance(o.geometry, Keypoints | Tag)]
        xml, shaped = _xml(im, ident, objs)
        target = out / "Annotations" / f"{ident}.xml"
        target.parent.mkdir(parents=True, exist_ok=True)
        ET.indent(xml)
        target.write_bytes(ET.tostring(xml, encoding="utf-8", xml_declaration=True))
        splits[im.split or "default"].append(ident)
        if shaped:
            if not im.width or not im.height:
                report.warning(im.path, "image size unknown: segmentation PNGs not written")
            else:
                _write_pngs(out, ident, im, shaped, index, cmap)
                seg_ids[im.split or "default"].append(ident)
        ext = im.path.rsplit(".", 1)[-1] if "." in im.path.rsplit("/", 1)[-1] else "jpg"
        place_media(ds, im, out, f"JPEGImages/{ident}.{ext}", options.media, report)
    for task, table in (("Main", splits), ("Segmentation", seg_ids)):
        for split, ids in table.items():
            f = out / "ImageSets" / task / f"{split}.txt"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text("".join(i + "\n" for i in ids), encoding="utf-8")
    lines = ["# label:color_rgb:parts:actions"]
    for i, n in enumerate(classes):
        col = colors.get(n)
        rgb = tuple(int(col[k : k + 2], 16) for k in (1, 3, 5)) if col else cmap[i]
        lines.append(f"{n}:{rgb[0]},{rgb[1]},{rgb[2]}::")
    (out / "labelmap.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _ = MediaMode  # media placement is done per image above


def _xml(
    im: DatasetImage, ident: str, objs: list[DatasetObject]
) -> tuple[ET.Element, list[tuple[int, DatasetObject]]]:
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "JPEGImages"
    ET.SubElement(
        root, "filename"
    ).text = f"{ident.rsplit('/', 1)[-1]}.{im.path.rsplit('.', 1)[-1]}"
    ET.SubElement(root, "path").text = im.path
    src = ET.SubElement(root, "source")
    ET.SubElement(src, "database").text = "Lightable"
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(im.width or 0)
    ET.SubElement(size, "height").text = str(im.height or 0)
    ET.SubElement(size, "depth").text = "3"
    seg = ET.SubElement(root, "segmented")
    # Parts are written inside the object of their group; the rest are objects.
    parts: dict[Any, list[DatasetObject]] = defaultdict(list)
    mains: list[DatasetObject] = []
    masks_by_group: dict[Any, DatasetObject] = {}
    loose: list[DatasetObject] = []
    for o in objs:
        if (
            o.attributes.get("part_of") is not None
            and o.group is not None
            and isinstance(o.geometry, Box)
        ):
            parts[o.group].append(o)
        elif (
            isinstance(o.geometry, Mask)
            and o.group is not None
            and any(p is not o and p.group == o.group and isinstance(p.geometry, Box) for p in objs)
        ):
            masks_by_group[o.group] = o  # the mask of a boxed object: PNG only
        elif isinstance(o.geometry, Mask):
            loose.append(o)  # a mask with no box: numbered after the XML objects, PNG only
        else:
            mains.append(o)
    shaped: list[tuple[int, DatasetObject]] = []
    for k, o in enumerate(mains, 1):
        el = ET.SubElement(root, "object")
        ET.SubElement(el, "name").text = o.label
        a = o.attributes
        ET.SubElement(el, "pose").text = str(a.get("pose", "Unspecified"))
        for flag in FLAGS:
            if flag in a or flag != "occluded":
                ET.SubElement(el, flag).text = "1" if a.get(flag) else "0"
        _bndbox(el, o.geometry.bbox())
        for p in parts.get(o.group, []) if o.group is not None else []:
            pe = ET.SubElement(el, "part")
            ET.SubElement(pe, "name").text = p.label
            _bndbox(pe, p.geometry.bbox())
        if isinstance(a.get("actions"), dict):
            acts = ET.SubElement(el, "actions")
            for name, v in a["actions"].items():
                ET.SubElement(acts, str(name)).text = "1" if v else "0"
        extra = {
            k2: v
            for k2, v in a.items()
            if k2 not in (*FLAGS, "pose", "actions", "semantic", "part_of")
        }
        if extra:
            ae = ET.SubElement(el, "attributes")
            for name, v in extra.items():
                at = ET.SubElement(ae, "attribute")
                ET.SubElement(at, "name").text = str(name)
                ET.SubElement(at, "value").text = "" if v is None else str(v)
        if isinstance(o.geometry, Polygon | Mask):
            shaped.append((k, o))
        elif o.group is not None and o.group in masks_by_group:
            shaped.append((k, masks_by_group[o.group]))
    shaped += [(len(mains) + j, o) for j, o in enumerate(loose, 1)]
    seg.text = "1" if shaped else "0"
    return root, shaped


def _bndbox(el: ET.Element, bbox: tuple[float, float, float, float]) -> None:
    x, y, w, h = bbox
    bb = ET.SubElement(el, "bndbox")
    ET.SubElement(bb, "xmin").text = _num(x + 1)
    ET.SubElement(bb, "ymin").text = _num(y + 1)
    ET.SubElement(bb, "xmax").text = _num(x + w)
    ET.SubElement(bb, "ymax").text = _num(y + h)


def _write_pngs(
    out: Path,
    ident: str,
    im: DatasetImage,
    shaped: list[tuple[int, DatasetObject]],
    index: dict[str, int],
    cmap: list[tuple[int, int, int]],
) -> None:
    import numpy as np
    from PIL import Image

    from lightable.imaging import masks

    H, W = int(im.height or 0), int(im.width or 0)
    inst = np.zeros((H, W), np.uint8)
    cls = np.zeros((H, W), np.uint8)
    for k, o in shaped:
        g = o.geometry
        m = masks.from_polygon(g, H, W) if isinstance(g, Polygon) else g
        if (m.height, m.width) != (H, W):
            continue
        b = masks.decode(m).astype(bool)
        inst[b] = min(k, VOID - 1)
        cls[b] = min(index.get(o.label, 0), VOID - 1)
    palette = [c for rgb in cmap for c in rgb]
    for folder, arr in (("SegmentationObject", inst), ("SegmentationClass", cls)):
        f = out / folder / f"{ident}.png"
        f.parent.mkdir(parents=True, exist_ok=True)
        img = Image.fromarray(arr, mode="P")
        img.putpalette(palette)
        img.save(f)
