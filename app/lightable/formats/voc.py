"""Pascal VOC: ``Annotations/*.xml``, ``ImageSets``, ``JPEGImages``, segmentation PNGs.

Coordinates follow the VOC devkit: pixel indices are 1-based and ``xmax``/``ymax``
are inclusive, so ``xmin=1, xmax=10`` covers pixels 0..9, i.e. the continuous box
x = 0..10 in our (COCO) convention. Read: ``x = xmin - 1``, ``x2 = xmax``;
written back the same way, so round trips are exact (detectron2 reads VOC the
same way). ``--option one_based=false`` reads files whose writer used 0-based
continuous coordinates (e.g. labelme2voc) as they are.

- ``difficult``/``truncated``/``occluded`` (0/1) and ``pose`` become attributes;
  ``actions`` an ``actions`` mapping; CVAT's ``<attributes>`` its names/values.
- ``<part>`` boxes (person layout) become objects of their own, grouped with
  their object and marked ``part_of``.
- ``ImageSets/Main/<split>.txt`` (then Segmentation, Layout, Action) give splits;
  per-class lists (``cat_train.txt``) are derived from the XML in VOC and are
  not imported as tags.
- ``SegmentationObject/<id>.png`` gives one mask per instance (class from
  ``SegmentationClass``), grouped with the XML object of the same index;
  ``SegmentationClass`` alone gives one mask per class. 255 is the void border.
  Palette PNGs use their indices; RGB PNGs are mapped through ``labelmap.txt``
  colours or the VOC colour map.
- Flat exports (Roboflow: XML beside each image in split folders) work too.

The writer lives in ``formats/voc_write.py``.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from lightable.core.errors import BadInputError, ValidationError
from lightable.core.geometry import Box, Mask, Polygon
from lightable.formats import safe_io
from lightable.formats.detect import peek, sample_files
from lightable.formats.model import Dataset, DatasetImage, DatasetLabel, DatasetObject, Report
from lightable.formats.registry import FormatSpec, register

NAME = "voc"
VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
    "sheep", "sofa", "train", "tvmonitor",
)  # fmt: skip
SPLIT_ORDER = ("train", "val", "test")
VOID = 255
CLIP_TOLERANCE = 1.0
FLAGS = ("difficult", "truncated", "occluded")


def voc_colormap(n: int = 256) -> list[tuple[int, int, int]]:
    """The devkit's colour map: index -> RGB (bit-interleaved)."""
    out = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        out.append((r, g, b))
    return out


def read(path: Path, report: Report, one_based: bool = True) -> Dataset:
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() != ".xml":
            raise BadInputError(path, "not a VOC annotation (expected an .xml file or a folder)")
        root = path.parent.parent if path.parent.name == "Annotations" else path.parent
        xmls = [path.resolve().relative_to(root.resolve()).as_posix()]
        root = root.resolve()
    else:
        root = path.resolve()
        if (root / "Annotations").is_dir():
            xmls = [f"Annotations/{r}" for r in safe_io.walk_files(root / "Annotations", (".xml",))]
        else:
            xmls = safe_io.walk_files(root, (".xml",))
    ds = Dataset(format=NAME, root=str(root), source=str(path))
    classes, colors = _labelmap(root, report)
    splits = _splits(root, report)
    # The class list names mask indices; labels are created only when used.
    labels: dict[str, DatasetLabel] = {}
    images: dict[str, DatasetImage] = {}
    for rel in xmls:
        ident = rel[len("Annotations/") :] if rel.startswith("Annotations/") else rel
        ident = ident[: -len(".xml")]
        im = _read_xml(root, rel, ident, report, one_based, labels, colors)
        if im is None:
            continue
        im.split = splits.get(ident) or splits.get(ident.rsplit("/", 1)[-1]) or _folder_split(rel)
        images[ident] = im
    # Images listed in ImageSets or lying in JPEGImages without an XML still belong to the set.
    jpeg = root / "JPEGImages"
    if jpeg.is_dir():
        for rel in safe_io.walk_files(jpeg, safe_io.IMAGE_EXTENSIONS):
            ident = rel.rsplit(".", 1)[0]
            if ident not in images:
                images[ident] = DatasetImage(path=f"JPEGImages/{rel}", split=splits.get(ident))
    for ident, split in splits.items():
        if ident not in images:
            images[ident] = DatasetImage(path=f"JPEGImages/{ident}.jpg", split=split)
    for ident, im in images.items():
        _read_masks(root, ident, im, classes, colors, labels, report)
    ds.images = list(images.values())
    ds.labels = list(labels.values())
    return ds


def _folder_split(rel: str) -> str | None:
    parts = rel.split("/")
    if len(parts) >= 2 and parts[-2].lower() in ("train", "val", "valid", "test"):
        return "val" if parts[-2].lower() == "valid" else parts[-2].lower()
    return None


def _labelmap(root: Path, report: Report) -> tuple[list[str], dict[str, str]]:
    """Class names by mask index and their colours: ``labelmap.txt`` (Datumaro/CVAT:
    ``name:r,g,b:parts:actions``) or the VOC classes."""
    f = root / "labelmap.txt"
    if not f.is_file():
        cmap = voc_colormap(len(VOC_CLASSES))
        return list(VOC_CLASSES), {
            n: "#{:02x}{:02x}{:02x}".format(*cmap[i]) for i, n in enumerate(VOC_CLASSES)
        }
    names: list[str] = []
    colors: dict[str, str] = {}
    for n, line in enumerate(safe_io.read_lines(f), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(":")
        name = parts[0].strip()
        names.append(name)
        if len(parts) > 1 and parts[1].strip():
            try:
                r, g, b = (int(v) for v in parts[1].split(","))
                colors[name] = f"#{r:02x}{g:02x}{b:02x}"
            except ValueError:
                report.warning(str(f), f"colour {parts[1]!r} is not r,g,b", f"line {n}")
    return names, colors


def _is_class_list(stem: str, plain: set[str]) -> bool:
    cls, sep, split = stem.rpartition("_")
    return bool(sep and cls and (split in plain or split in ("train", "val", "trainval", "test")))


def _splits(root: Path, report: Report) -> dict[str, str]:
    """Image id -> split from ImageSets (Main first, then the other tasks)."""
    out: dict[str, str] = {}
    sets = root / "ImageSets"
    if not sets.is_dir():
        return out
    for task in ("Main", "Segmentation", "Layout", "Action"):
        d = sets / task
        if not d.is_dir():
            continue
        stems = {p.stem for p in d.glob("*.txt")}
        plain = {s for s in stems if "_" not in s}
        names = sorted(s for s in stems if not _is_class_list(s, plain))
        if "trainval" in names and ({"train", "val"} & set(names)):
            names.remove("trainval")
        names.sort(key=lambda s: (SPLIT_ORDER.index(s) if s in SPLIT_ORDER else 9, s))
        for split in names:
            f = d / f"{split}.txt"
            for line in safe_io.read_lines(f):
                s = line.strip()
                if not s or s.startswith("#"):
                    continue
                ident = s.split()[0]
                out.setdefault(ident, split)
    return out


def _text(el: ET.Element | None, tag: str) -> str | None:
    if el is None:
        return None
    c = el.find(tag)
    if c is None or c.text is None:
        return None
    t = c.text.strip()
    return t or None


def _flag(v: str | None, f: str, where: str) -> bool | None:
    if v is None:
        return None
    if v in ("0", "1"):
        return v == "1"
    if v.lower() in ("true", "false", "yes", "no"):
        return v.lower() in ("true", "yes")
    raise BadInputError(f, f"flag value {v!r} is not 0 or 1", where)


def _find_image(
    root: Path, rel_xml: str, ident: str, filename: str | None, path_el: str | None
) -> str:
    xml_dir = rel_xml.rpartition("/")[0]
    id_dir = ident.rpartition("/")[0]
    cands = []
    if filename:
        fn = safe_io.safe_relpath(filename, rel_xml)
        cands += [f"JPEGImages/{id_dir}/{fn}" if id_dir else f"JPEGImages/{fn}", f"JPEGImages/{fn}"]
        cands.append(f"{xml_dir}/{fn}" if xml_dir else fn)
    for ext in (".jpg", ".jpeg", ".png", ".JPG", ".bmp"):
        cands.append(f"JPEGImages/{ident}{ext}")
        base = ident.rsplit("/", 1)[-1]
        cands.append(f"{xml_dir}/{base}{ext}" if xml_dir else f"{base}{ext}")
    for c in cands:
        if os.path.isfile(root / c):
            return c
    return cands[0]


def _read_xml(
    root: Path,
    rel: str,
    ident: str,
    report: Report,
    one_based: bool,
    labels: dict[str, DatasetLabel],
    colors: dict[str, str],
) -> DatasetImage | None:
    f = str(root / rel)
    try:
        doc = safe_io.load_xml(root / rel)
    except BadInputError as exc:
        report.error(f, exc.problem, exc.where)
        return None
    if doc.tag != "annotation":
        report.error(f, f"root element is <{doc.tag}>, not <annotation>")
        return None
    try:
        size = doc.find("size")
        w = _opt_int(_text(size, "width"), f, "size/width")
        h = _opt_int(_text(size, "height"), f, "size/height")
        path = _find_image(root, rel, ident, _text(doc, "filename"), _text(doc, "path"))
    except BadInputError as exc:
        report.error(f, exc.problem, exc.where)
        return None
    im = DatasetImage(path=path, width=w, height=h, source_id=ident)
    off = 1.0 if one_based else 0.0
    for k, obj in enumerate(doc.findall("object"), 1):
        where = f"object {k}"
        try:
            objs = _read_object(obj, k, f, where, off, im, report)
        except (BadInputError, ValidationError) as exc:
            report.error(f, getattr(exc, "problem", str(exc)), getattr(exc, "where", None) or where)
            continue
        for o in objs:
            if o.label not in labels:
                labels[o.label] = DatasetLabel(name=o.label, color=colors.get(o.label))
            im.objects.append(o)
    return im


def _opt_int(v: str | None, f: str, where: str) -> int | None:
    if v is None:
        return None
    n = safe_io.as_int(float(safe_io.finite(v, f, where, where)), f, where, where)
    return n if n > 0 else None


def _bndbox(
    el: ET.Element | None, f: str, where: str, off: float, im: DatasetImage, report: Report
) -> Box:
    if el is None:
        raise BadInputError(f, "object has no <bndbox>", where)
    vals = []
    for tag in ("xmin", "ymin", "xmax", "ymax"):
        v = _text(el, tag)
        if v is None:
            raise BadInputError(f, f"<bndbox> has no <{tag}>", where)
        vals.append(safe_io.finite(v, f, where, tag))
    x1, y1, x2, y2 = vals[0] - off, vals[1] - off, vals[2], vals[3]
    if x2 < x1 - 1e-6 or y2 < y1 - 1e-6:  # (a zero-size box may come back 1e-16 inverted)
        raise BadInputError(
            f, f"xmax/ymax {vals[2]:g},{vals[3]:g} before xmin/ymin {vals[0]:g},{vals[1]:g}", where
        )
    if im.width and im.height:
        W, H = float(im.width), float(im.height)
        if (
            x1 < -CLIP_TOLERANCE
            or y1 < -CLIP_TOLERANCE
            or x2 > W + CLIP_TOLERANCE
            or y2 > H + CLIP_TOLERANCE
        ):
            report.warning(
                f, f"box more than 1 px outside the {im.width}x{im.height} image; clipped", where
            )
            x1, x2 = min(max(x1, 0.0), W), min(max(x2, 0.0), W)
            y1, y2 = min(max(y1, 0.0), H), min(max(y2, 0.0), H)
    return Box(x1, y1, max(x2 - x1, 0.0), max(y2 - y1, 0.0))


def _read_object(
    obj: ET.Element, k: int, f: str, where: str, off: float, im: DatasetImage, report: Report
) -> list[DatasetObject]:
    name = _text(obj, "name")
    if not name:
        raise BadInputError(f, "object has no <name>", where)
    attrs: dict[str, Any] = {}
    for flag in FLAGS:
        v = _flag(_text(obj, flag), f, f"{where}/{flag}")
        if v is not None:
            attrs[flag] = v
    pose = _text(obj, "pose")
    if pose is not None:
        attrs["pose"] = pose
    actions = obj.find("actions")
    if actions is not None:
        acts = {}
        for a in actions:
            v = _flag((a.text or "").strip() or None, f, f"{where}/actions/{a.tag}")
            if v is not None:
                acts[a.tag] = v
        attrs["actions"] = acts
    extra = obj.find("attributes")
    if extra is not None:
        for a in extra.findall("attribute"):
            an, av = _text(a, "name"), _text(a, "value")
            if an:
                attrs[an] = av if av is not None else ""
    box = _bndbox(obj.find("bndbox"), f, where, off, im, report)
    parts = obj.findall("part")
    group = k if parts else None
    out = [DatasetObject(label=name, geometry=box, attributes=attrs, group=group, source_id=k)]
    for j, part in enumerate(parts, 1):
        pname = _text(part, "name")
        if not pname:
            report.error(f, "part has no <name>", f"{where}/part {j}")
            continue
        try:
            pbox = _bndbox(part.find("bndbox"), f, f"{where}/part {j}", off, im, report)
        except BadInputError as exc:
            report.error(f, exc.problem, exc.where)
            continue
        out.append(
            DatasetObject(label=pname, geometry=pbox, attributes={"part_of": name}, group=group)
        )
    return out


# -- segmentation masks ---------------------------------------------------------------------


def _load_index_png(path: Path, classes: list[str], colors: dict[str, str], report: Report) -> Any:
    """A segmentation PNG as an index array (palette indices, or RGB mapped to indices)."""
    import numpy as np
    from PIL import Image

    import lightable.imaging.safety  # noqa: F401  (decompression-bomb limit for Pillow)

    safe_io.check_size(path, safe_io.current_limits().image_bytes, "mask")
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode == "P" or img.mode in ("L", "I", "I;16"):
                return np.asarray(img, dtype=np.int64)
            rgb = np.asarray(img.convert("RGB"), dtype=np.int64)
    except Exception as exc:
        raise BadInputError(path, f"cannot read mask PNG ({exc})") from None
    table: dict[int, int] = {}
    cmap = voc_colormap(256)
    for i, c in enumerate(cmap):
        table.setdefault((c[0] << 16) | (c[1] << 8) | c[2], i)
    for i, name in enumerate(classes):
        col = colors.get(name)
        if col:
            table[int(col[1:], 16)] = i
    table[(224 << 16) | (224 << 8) | 192] = VOID  # the devkit's void colour
    keys = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    out = np.zeros(keys.shape, dtype=np.int64)
    for key in np.unique(keys):
        idx = table.get(int(key))
        if idx is None:
            report.warning(
                str(path), f"colour #{int(key):06x} is not in the colour map; treated as void"
            )
            idx = VOID
        out[keys == key] = idx
    return out


def _read_masks(
    root: Path,
    ident: str,
    im: DatasetImage,
    classes: list[str],
    colors: dict[str, str],
    labels: dict[str, DatasetLabel],
    report: Report,
) -> None:
    obj_png = root / "SegmentationObject" / f"{ident}.png"
    cls_png = root / "SegmentationClass" / f"{ident}.png"
    if not obj_png.is_file() and not cls_png.is_file():
        return
    import numpy as np

    from lightable.imaging import masks

    try:
        cls = _load_index_png(cls_png, classes, colors, report) if cls_png.is_file() else None
        inst = _load_index_png(obj_png, classes, colors, report) if obj_png.is_file() else None
    except BadInputError as exc:
        report.error(exc.path, exc.problem)
        return
    shape = (inst if inst is not None else cls).shape
    if im.width and im.height and shape != (im.height, im.width):
        report.error(
            str(obj_png if inst is not None else cls_png),
            f"mask is {shape[1]}x{shape[0]}, the image {im.width}x{im.height}",
        )
        return
    boxes = [o for o in im.objects if o.source_id is not None]
    if inst is not None:
        for v in np.unique(inst):
            v = int(v)
            if v in (0, VOID):
                continue
            binary = inst == v
            name = None
            if cls is not None:
                vals = cls[binary]
                vals = vals[(vals != 0) & (vals != VOID)]
                if vals.size:
                    c = int(np.bincount(vals).argmax())
                    name = classes[c] if c < len(classes) else f"class {c}"
            if name is None and v <= len(boxes):
                name = boxes[v - 1].label
            if name is None:
                report.error(
                    str(obj_png),
                    f"instance {v} has no class (no SegmentationClass pixel, no XML object {v})",
                )
                continue
            _add_mask(im, name, masks.encode(binary), v, labels, colors, boxes)
    else:
        assert cls is not None
        for c in np.unique(cls):
            c = int(c)
            if c in (0, VOID):
                continue
            name = classes[c] if c < len(classes) else f"class {c}"
            m = masks.encode(cls == c)
            if name not in labels:
                labels[name] = DatasetLabel(name=name, color=colors.get(name))
            im.objects.append(DatasetObject(label=name, geometry=m, attributes={"semantic": True}))


def _add_mask(
    im: DatasetImage,
    name: str,
    m: Mask,
    v: int,
    labels: dict[str, DatasetLabel],
    colors: dict[str, str],
    boxes: list[DatasetObject],
) -> None:
    if name not in labels:
        labels[name] = DatasetLabel(name=name, color=colors.get(name))
    group = None
    if v <= len(boxes) and boxes[v - 1].label == name:
        # The devkit numbers instances in XML object order: pair the mask with its box.
        box = boxes[v - 1]
        if box.group is None:
            box.group = v
        group = box.group
    im.objects.append(DatasetObject(label=name, geometry=m, group=group))


# -- detection ----------------------------------------------------------------------------


def detect(path: Path) -> tuple[float, str]:
    path = Path(path)
    if path.is_file():
        files = [path] if path.suffix.lower() == ".xml" else []
    else:
        d = path / "Annotations" if (path / "Annotations").is_dir() else path
        files = sample_files(d, (".xml",), limit=5, depth=2)
    hits = 0
    for f in files:
        head = peek(f, 16384)
        if b"<annotation" in head and b"<bndbox>" in head:
            hits += 1
        elif b"<annotation" in head and b"<object>" not in head and b"<filename>" in head:
            hits += 1  # an image without objects
    if not hits:
        if (
            path.is_dir()
            and (path / "SegmentationClass").is_dir()
            and (path / "JPEGImages").is_dir()
        ):
            return 0.7, "VOC segmentation folders"
        return 0.0, ""
    conf = 0.9 if (path.is_dir() and (path / "Annotations").is_dir()) else 0.8
    return conf, "Pascal VOC XML (<annotation>, <bndbox>)"


def _writer() -> Any:
    from lightable.formats import voc_write

    return voc_write


def _write(*args: Any) -> None:
    _writer().write(*args)


def _plan(*args: Any) -> None:
    _writer().plan(*args)


register(
    FormatSpec(
        name=NAME,
        title="Pascal VOC",
        reader=read,
        writer=_write,
        detect=detect,
        extensions=(".xml",),
        holds=frozenset({Box.kind, Mask.kind, Polygon.kind}),
        plan=_plan,
        aliases=("pascal_voc", "pascal", "voc_xml"),
        description="Pascal VOC XML, ImageSets and segmentation PNGs",
    )
)
