"""YOLO text labels: Ultralytics (``data.yaml``), Darknet (``obj.data``), loose folders
(``classes.txt``/``obj.names`` + labels), and classification folders.

One row per object, normalised to the image size (so every image is probed):

- ``c cx cy w h``: a box;
- ``c x1 y1 x2 y2 ...``: a segmentation polygon (3+ points);
- ``c x1 y1 ... x4 y4`` in an oriented-box data set: a 4-point polygon with the
  attribute ``obb: true`` (an OBB data set is one whose rows are all 4-corner
  rectangles, or ``task=obb`` / ``task: obb`` in the YAML);
- ``c cx cy w h`` + ``k`` keypoints of ``d`` values when the YAML has
  ``kpt_shape: [k, d]``: a box and a ``Keypoints`` object sharing a group.

Options (``--option`` on the command line): ``labels=NAME`` (the folder that
mirrors ``images/``, default ``labels``), ``task=detect|segment|pose|obb|classify``.

Paths in YAML/list files are hostile: they must stay under the folder being
imported; ``../`` prefixes (Roboflow) and ``data/`` prefixes (Darknet working
directories) are retried without them, with a note in the report.

The writer lives in ``formats/yolo_write.py``.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightable.core.errors import BadInputError
from lightable.core.geometry import Box, Keypoints, Polygon, Tag
from lightable.core.model import Skeleton
from lightable.formats import safe_io
from lightable.formats.detect import peek_text, sample_files
from lightable.formats.model import Dataset, DatasetImage, DatasetLabel, DatasetObject, Report
from lightable.formats.registry import FormatSpec, register

NAME = "yolo"
NAME_FILES = ("obj.names", "classes.txt", "classes.names", "coco.names", "voc.names")
YAML_NAMES = ("data.yaml", "dataset.yaml", "data.yml", "dataset.yml")
SPLIT_KEYS = (("train", "train"), ("val", "val"), ("valid", "val"), ("test", "test"))
MARGIN = 0.05  # normalised values this far outside 0..1 are clipped; further is an error
CLIP_TOLERANCE = 1.0  # pixels outside the image that are left alone


@dataclass
class Layout:
    kind: str  # ultralytics, darknet, loose, classify
    root: Path  # import root: nothing is read outside it
    names: dict[int, str] = field(default_factory=dict)
    splits: list[tuple[str | None, list[str]]] = field(default_factory=list)  # (split, images)
    kpt_shape: tuple[int, int] | None = None
    kpt_names: list[str] | None = None
    labels_dir: str = "labels"
    task: str | None = None
    config: str = ""  # the file that described the layout


# -- layout discovery ---------------------------------------------------------------------


def read(path: Path, report: Report, labels: str | None = None, task: str | None = None) -> Dataset:
    lay = discover(Path(path), report, labels, task)
    ds = Dataset(format=NAME, root=str(lay.root), source=str(path))
    if lay.kind == "classify":
        return _read_classify(lay, ds)
    ds.labels = [DatasetLabel(name=n, source_id=i) for i, n in sorted(lay.names.items())]
    if lay.kpt_shape:
        k = lay.kpt_shape[0]
        names = lay.kpt_names or [str(i + 1) for i in range(k)]
        for lb in ds.labels:
            lb.skeleton = Skeleton(list(names), [])
    _read_labels(lay, ds, report)
    return ds


def discover(path: Path, report: Report, labels: str | None, task: str | None) -> Layout:
    if not path.exists():
        raise BadInputError(path, "not found")
    if path.is_file():
        root = path.parent.resolve()
        name = path.name.lower()
        if name.endswith((".yaml", ".yml")):
            lay = _ultralytics(path, root, report)
        elif name.endswith(".data"):
            lay = _darknet(path, root, report)
        elif name.endswith((".names", ".txt")):
            lay = _loose(root, report, names_file=path)
        else:
            raise BadInputError(
                path, "not a YOLO file (expected data.yaml, obj.data or a names file)"
            )
    else:
        root = path.resolve()
        yamls = [p for n in YAML_NAMES if (p := root / n).is_file()]
        if not yamls:
            yamls = sorted(p for p in root.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))
        datas = sorted(root.glob("*.data"))
        if len(yamls) > 1 and not (root / "data.yaml").is_file():
            names = ", ".join(p.name for p in yamls)
            raise BadInputError(
                root, f"several YAML files ({names}); import one of them by its path"
            )
        if yamls:
            lay = _ultralytics(yamls[0], root, report)
        elif datas:
            lay = _darknet(datas[0], root, report)
        elif task == "classify" or (task is None and _looks_classify(root)):
            lay = _classify(root)
        else:
            lay = _loose(root, report)
    if labels:
        lay.labels_dir = safe_io.safe_relpath(labels, path, "labels option").split("/")[-1]
    if task:
        lay.task = task
    return lay


def _names_from(value: Any, nc: Any, f: Path) -> dict[int, str]:
    if isinstance(value, list):
        return {i: str(n) for i, n in enumerate(value)}
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out[safe_io.as_int(k, f, "names", "class id")] = str(v)
        return out
    if value is None and nc is not None:
        return {i: f"class {i}" for i in range(safe_io.as_int(nc, f, "nc", "nc"))}
    raise BadInputError(f, "'names' must be a list or a mapping of class ids to names", "names")


def _inside(root: Path, p: Path) -> bool:
    try:
        p.resolve().relative_to(root)
        return True
    except ValueError:
        return False


def _resolve(root: Path, base: Path, raw: str, f: Path, where: str, report: Report) -> Path | None:
    """A path written in a config file, kept under ``root``; retried without ``../`` and a
    leading ``data/`` (Darknet's working directory) when it does not exist as written."""
    s = str(raw).strip().replace("\\", "/")
    if not s:
        return None
    cands: list[Path] = []
    if not (s.startswith("/") or re.match(r"^[A-Za-z]:/", s)):
        cands.append(base / s)
        cands.append(root / s)
    stripped = re.sub(r"^(\.\./|\./)+", "", s.lstrip("/"))
    cands.append(root / stripped)
    parts = stripped.split("/")
    if len(parts) > 1:
        cands.append(root / "/".join(parts[1:]))
    for c in cands:
        if c.exists() and _inside(root, c):
            if c != base / s:
                report.info(
                    str(f),
                    f"{s!r} not found as written; used {c.relative_to(root).as_posix()}",
                    where,
                )
            return c.resolve()
    return None


def _ultralytics(yaml_path: Path, root: Path, report: Report) -> Layout:
    cfg = safe_io.load_yaml(yaml_path)
    if not isinstance(cfg, dict):
        raise BadInputError(yaml_path, "expected a mapping (names, path, train, val ...)")
    lay = Layout("ultralytics", root, config=str(yaml_path))
    lay.names = _names_from(cfg.get("names"), cfg.get("nc"), yaml_path)
    if cfg.get("kpt_shape") is not None:
        ks = cfg["kpt_shape"]
        if not (isinstance(ks, list) and len(ks) == 2):
            raise BadInputError(yaml_path, "kpt_shape must be [keypoints, 2 or 3]", "kpt_shape")
        k = safe_io.as_int(ks[0], yaml_path, "kpt_shape", "keypoints")
        d = safe_io.as_int(ks[1], yaml_path, "kpt_shape", "dimensions")
        if k <= 0 or d not in (2, 3):
            raise BadInputError(yaml_path, f"kpt_shape {ks} must be [k > 0, 2 or 3]", "kpt_shape")
        lay.kpt_shape = (k, d)
        kn = cfg.get("kpt_names")
        if isinstance(kn, dict) and kn:
            first = next(iter(kn.values()))
            if isinstance(first, list) and len(first) == k:
                lay.kpt_names = [str(n) for n in first]
        elif isinstance(kn, list) and len(kn) == k:
            lay.kpt_names = [str(n) for n in kn]
    if isinstance(cfg.get("task"), str):
        lay.task = cfg["task"]
    base = root
    if cfg.get("path") not in (None, "", "."):
        p = _resolve(root, root, str(cfg["path"]), yaml_path, "path", report)
        if p is None or not p.is_dir():
            report.warning(
                str(yaml_path), f"path {cfg['path']!r} not found under {root}; used {root}", "path"
            )
        else:
            base = p
    any_split = False
    for key, split in SPLIT_KEYS:
        if key not in cfg or cfg[key] in (None, ""):
            continue
        any_split = True
        entries = cfg[key] if isinstance(cfg[key], list) else [cfg[key]]
        images: list[str] = []
        for entry in entries:
            images += _split_images(lay, base, str(entry), split, yaml_path, key, report)
        lay.splits.append((split, images))
    if not any_split:
        lay.splits.append((None, _all_images(root if base == root else base, root)))
    return lay


def _split_images(
    lay: Layout, base: Path, entry: str, split: str, f: Path, key: str, report: Report
) -> list[str]:
    p = _resolve(lay.root, base, entry, f, key, report)
    if p is None:
        # Roboflow writes ../valid/images for a folder called val/: look for the usual names.
        for cand in (
            f"{split}/images",
            f"images/{split}",
            f"{key}/images",
            f"images/{key}",
            split,
            key,
        ):
            c = lay.root / cand
            if c.is_dir():
                report.warning(str(f), f"{key}: {entry!r} not found; used {cand}/", key)
                p = c.resolve()
                break
    if p is None:
        report.error(str(f), f"{key}: {entry!r} not found under {lay.root}", key)
        return []
    if p.is_dir():
        return _all_images(p, lay.root)
    if p.suffix.lower() in safe_io.IMAGE_EXTENSIONS:
        return [p.relative_to(lay.root).as_posix()]
    return _list_file(lay, p, report)


def _all_images(folder: Path, root: Path) -> list[str]:
    prefix = folder.resolve().relative_to(root).as_posix()
    rels = safe_io.walk_files(folder, safe_io.IMAGE_EXTENSIONS)
    return [r if prefix == "." else f"{prefix}/{r}" for r in rels]


def _list_file(lay: Layout, list_path: Path, report: Report) -> list[str]:
    out = []
    for n, line in enumerate(safe_io.read_lines(list_path), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        p = _resolve(lay.root, list_path.parent, s, list_path, f"line {n}", report)
        if p is None or not p.is_file():
            report.error(str(list_path), f"image {s!r} not found under {lay.root}", f"line {n}")
            continue
        out.append(p.relative_to(lay.root).as_posix())
    return out


def _darknet(data_path: Path, root: Path, report: Report) -> Layout:
    lay = Layout("darknet", root, config=str(data_path))
    cfg: dict[str, str] = {}
    for n, line in enumerate(safe_io.read_lines(data_path), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            report.warning(
                str(data_path), f"line {line!r} is not KEY = VALUE; ignored", f"line {n}"
            )
            continue
        cfg[key.strip().lower()] = value.strip()
    names_path = None
    if "names" in cfg:
        names_path = _resolve(root, root, cfg["names"], data_path, "names", report)
    names_path = names_path or next((root / n for n in NAME_FILES if (root / n).is_file()), None)
    if names_path is None:
        raise BadInputError(data_path, "names file not found (names = ... or obj.names)", "names")
    lay.names = _read_names(names_path)
    for key, split in (("train", "train"), ("valid", "val"), ("val", "val"), ("test", "test")):
        if key not in cfg:
            continue
        p = _resolve(root, root, cfg[key], data_path, key, report)
        if p is None:
            report.error(str(data_path), f"{key} list {cfg[key]!r} not found", key)
            continue
        lay.splits.append(
            (split, _list_file(lay, p, report) if p.is_file() else _all_images(p, root))
        )
    if not lay.splits:
        lay.splits.append((None, _all_images(root, root)))
    return lay


def _read_names(f: Path) -> dict[int, str]:
    lines = safe_io.read_lines(f)
    while lines and not lines[-1].strip():
        lines.pop()
    return {i: ln.strip() for i, ln in enumerate(lines)}


def _loose(root: Path, report: Report, names_file: Path | None = None) -> Layout:
    lay = Layout("loose", root)
    nf = names_file or next((root / n for n in NAME_FILES if (root / n).is_file()), None)
    if nf is None:
        nf = next(iter(sorted(root.glob("*.names"))), None)
    if nf is not None:
        lay.names = _read_names(nf)
        lay.config = str(nf)
    else:
        report.warning(str(root), "no classes.txt, obj.names or data.yaml: classes named 'class N'")
    lay.splits.append((None, _all_images(root, root)))
    return lay


def _looks_classify(root: Path) -> bool:
    if any(sample_files(root, (".txt",), limit=1, depth=3)):
        return False
    imgs = sample_files(root, tuple(safe_io.IMAGE_EXTENSIONS), limit=50, depth=3)
    if not imgs:
        return False
    depths = {len(p.relative_to(root).parts) for p in imgs}
    return depths <= {2, 3} and bool(depths)


def _classify(root: Path) -> Layout:
    lay = Layout("classify", root, task="classify")
    lay.splits.append((None, _all_images(root, root)))
    return lay


def _read_classify(lay: Layout, ds: Dataset) -> Dataset:
    splits = {"train", "val", "valid", "test"}
    names: dict[str, None] = {}
    for _split, images in lay.splits:
        for rel in images:
            parts = rel.split("/")
            if len(parts) < 2:
                continue  # an image beside the class folders has no class
            split = parts[0] if len(parts) >= 3 and parts[0].lower() in splits else None
            cls = parts[-2]
            names.setdefault(cls)
            split = "val" if split and split.lower() == "valid" else split
            ds.images.append(
                DatasetImage(
                    path=rel, split=split, objects=[DatasetObject(label=cls, geometry=Tag())]
                )
            )
    ds.labels = [DatasetLabel(name=n) for n in names]
    return ds


# -- label files -------------------------------------------------------------------------


def _label_candidates(lay: Layout, rel: str) -> list[str]:
    stem = rel.rsplit(".", 1)[0]
    parts = stem.split("/")
    cands = []
    for i in range(len(parts) - 2, -1, -1):  # the last "images" folder becomes "labels"
        if parts[i].lower() == "images":
            cands.append("/".join([*parts[:i], lay.labels_dir, *parts[i + 1 :]]) + ".txt")
            if lay.labels_dir == "labels" and parts[i] == "Images":
                cands.append("/".join([*parts[:i], "Annotations", *parts[i + 1 :]]) + ".txt")
            break
    cands.append(stem + ".txt")  # Darknet: beside the image
    if len(parts) >= 2:
        parent = "/".join(parts[:-2])
        for d in (lay.labels_dir, "labels", "Annotations", "annotations"):
            cands.append(f"{parent}/{d}/{parts[-1]}.txt" if parent else f"{d}/{parts[-1]}.txt")
    return list(dict.fromkeys(cands))


def _is_obb(lay: Layout, files: list[Path]) -> bool:
    """An OBB data set: every row of the first label files is a 4-corner rectangle."""
    if lay.task is not None:
        return lay.task == "obb"
    if lay.kpt_shape:
        return False
    rows = 0
    for f in files[:20]:
        try:
            lines = safe_io.read_lines(f)
        except BadInputError:
            continue
        for line in lines:
            tok = line.split()
            if not tok:
                continue
            if len(tok) != 9:
                return False
            try:
                v = [float(t) for t in tok[1:]]
            except ValueError:
                return False
            if not _is_rectangle(v):
                return False
            rows += 1
    return rows > 0


def _is_rectangle(v: list[float]) -> bool:
    pts = [(v[i], v[i + 1]) for i in range(0, 8, 2)]
    for i in range(4):
        ax, ay = pts[i]
        bx, by = pts[(i + 1) % 4]
        cx, cy = pts[(i + 2) % 4]
        d1 = (bx - ax, by - ay)
        d2 = (cx - bx, cy - by)
        n1 = (d1[0] ** 2 + d1[1] ** 2) ** 0.5
        n2 = (d2[0] ** 2 + d2[1] ** 2) ** 0.5
        if n1 < 1e-9 or n2 < 1e-9:
            return False
        # Normalised coordinates distort angles when the image is not square: a
        # rectangle stays a parallelogram, so test opposite sides instead of angles.
    return (
        abs((pts[1][0] - pts[0][0]) - (pts[2][0] - pts[3][0])) < 1e-4
        and abs((pts[1][1] - pts[0][1]) - (pts[2][1] - pts[3][1])) < 1e-4
    )


def _read_labels(lay: Layout, ds: Dataset, report: Report) -> None:
    from lightable.imaging.probe import probe_image

    root = lay.root
    root_s = str(root)
    plan: list[tuple[str | None, str, str | None]] = []
    seen: set[str] = set()
    for split, images in lay.splits:
        for rel in images:
            if rel in seen:
                continue
            seen.add(rel)
            label = next(
                (c for c in _label_candidates(lay, rel) if os.path.isfile(f"{root_s}/{c}")), None
            )
            plan.append((split, rel, label))
    if not plan:
        report.error(str(root), "no images found")
        return
    if not any(lb for _, _, lb in plan):
        report.warning(
            str(root),
            f"no label files found for the images (looked for {lay.labels_dir}/ beside images/); "
            "pass --option labels=FOLDER if they are elsewhere",
        )
    obb = _is_obb(lay, [root / lb for _, _, lb in plan if lb])
    names = dict(lay.names)
    for split, rel, label in plan:
        try:
            header = probe_image(root / rel)
        except BadInputError as exc:
            if label is not None:
                report.error(
                    str(root / label), f"image {rel}: {exc.problem}; YOLO coordinates need its size"
                )
            else:
                ds.images.append(DatasetImage(path=rel, split=split))
            continue
        im = DatasetImage(
            path=rel, width=header.width, height=header.height, split=split, header=header
        )
        ds.images.append(im)
        if label is not None:
            _parse_file(lay, root / label, label, im, names, obb, report)
    known = {lb.source_id for lb in ds.labels}
    for cid, name in sorted(names.items()):
        if cid not in known:
            ds.labels.append(DatasetLabel(name=name, source_id=cid))


def _parse_file(
    lay: Layout,
    path: Path,
    rel: str,
    im: DatasetImage,
    names: dict[int, str],
    obb: bool,
    report: Report,
) -> None:
    W, H = float(im.width or 0), float(im.height or 0)
    rel = str(path)  # reports name the label file by its full path
    try:
        lines = safe_io.read_lines(path)
    except BadInputError as exc:
        report.error(rel, exc.problem)
        return
    group = 0
    for n, line in enumerate(lines, 1):
        tok = line.split()
        if not tok or tok[0].startswith("#"):
            continue
        where = f"line {n}"
        try:
            try:
                cid = int(tok[0])
            except ValueError:
                cid = safe_io.as_int(tok[0], rel, where, "class id")
            if cid not in names:
                if lay.names:
                    raise BadInputError(
                        rel, f"class id {cid} is not in the {len(lay.names)} class names", where
                    )
                names[cid] = f"class {cid}"
            try:  # the fast path for 100k-file data sets; errors are named by the slow one
                vals = [float(t) for t in tok[1:]]
                if not math.isfinite(sum(vals)):
                    raise ValueError
            except ValueError:
                vals = [safe_io.finite(t, rel, where, "coordinate") for t in tok[1:]]
            objs = _row(lay, vals, W, H, obb, rel, where, report)
        except BadInputError as exc:
            report.error(rel, exc.problem, where)
            continue
        label = names[cid]
        g = None
        if len(objs) > 1:
            group += 1
            g = group
        for geom, attrs in objs:
            im.objects.append(DatasetObject(label=label, geometry=geom, attributes=attrs, group=g))


def _check_range(vals: list[float], rel: str, where: str) -> None:
    bad = [v for v in vals if v < -MARGIN or v > 1 + MARGIN]
    if bad:
        raise BadInputError(rel, f"coordinate {bad[0]:g} is outside 0..1 (not normalised?)", where)


def _clip_px(xy: list[float], W: float, H: float) -> tuple[list[float], bool]:
    xs, ys = xy[0::2], xy[1::2]
    if (
        min(xs) >= -CLIP_TOLERANCE
        and min(ys) >= -CLIP_TOLERANCE
        and max(xs) <= W + CLIP_TOLERANCE
        and max(ys) <= H + CLIP_TOLERANCE
    ):
        return xy, False
    out = list(xy)
    out[0::2] = [min(max(x, 0.0), W) for x in xs]
    out[1::2] = [min(max(y, 0.0), H) for y in ys]
    return out, True


def _row(
    lay: Layout, v: list[float], W: float, H: float, obb: bool, rel: str, where: str, report: Report
) -> list[tuple[Any, dict[str, Any]]]:
    n = len(v)
    if lay.kpt_shape:
        k, d = lay.kpt_shape
        if n != 4 + k * d:
            raise BadInputError(
                rel,
                f"pose row needs {5 + k * d} values (kpt_shape {list(lay.kpt_shape)}), got {n + 1}",
                where,
            )
        box = _box(v[:4], W, H, rel, where, report)
        pts = []
        for i in range(k):
            x, y = v[4 + i * d], v[5 + i * d]
            vis = 2
            if d == 3:
                vv = v[6 + i * d]
                if vv not in (0.0, 1.0, 2.0):
                    raise BadInputError(rel, f"keypoint visibility {vv:g} is not 0, 1 or 2", where)
                vis = int(vv)
            if vis:
                _check_range([x, y], rel, where)
            pts.append((x * W, y * H, vis))
        return [(box, {}), (Keypoints(tuple(pts)), {})]
    if n == 4:
        return [(_box(v, W, H, rel, where, report), {})]
    if n >= 6 and n % 2 == 0:
        _check_range(v, rel, where)
        xy = [c * (W if i % 2 == 0 else H) for i, c in enumerate(v)]
        xy, clipped = _clip_px(xy, W, H)
        if clipped:
            report.warning(rel, "polygon more than 1 px outside the image; clipped", where)
        attrs = {"obb": True} if obb and n == 8 else {}
        return [(Polygon((tuple(xy),)), attrs)]
    raise BadInputError(
        rel, f"{n + 1} values: not a box (5), polygon (7, 9, ...) or pose row", where
    )


def _box(v: list[float], W: float, H: float, rel: str, where: str, report: Report) -> Box:
    _check_range(v, rel, where)
    cx, cy, w, h = v
    if w < 0 or h < 0:
        raise BadInputError(rel, f"box has a negative size ({w:g} x {h:g})", where)
    xy = [(cx - w / 2) * W, (cy - h / 2) * H, (cx + w / 2) * W, (cy + h / 2) * H]
    xy, clipped = _clip_px(xy, W, H)
    if clipped:
        report.warning(rel, "box more than 1 px outside the image; clipped", where)
    return Box(xy[0], xy[1], xy[2] - xy[0], xy[3] - xy[1])


# -- detection ----------------------------------------------------------------------------


def detect(path: Path) -> tuple[float, str]:
    path = Path(path)
    if path.is_file():
        name = path.name.lower()
        if name.endswith((".yaml", ".yml")):
            txt = peek_text(path, 8192)
            if re.search(r"^names\s*:", txt, re.M):
                return 0.9, "Ultralytics data YAML (names)"
            return 0.0, ""
        if name.endswith(".data") and "names" in peek_text(path, 4096):
            return 0.9, "Darknet obj.data"
        return 0.0, ""
    if any((path / n).is_file() for n in YAML_NAMES):
        txt = peek_text(next(path / n for n in YAML_NAMES if (path / n).is_file()), 8192)
        if re.search(r"^names\s*:", txt, re.M):
            return 0.9, "Ultralytics layout (data.yaml)"
    if list(path.glob("*.data")) and any((path / n).is_file() for n in NAME_FILES):
        return 0.9, "Darknet layout (obj.data, obj.names)"
    has_names = any((path / n).is_file() for n in NAME_FILES) or bool(list(path.glob("*.names")))
    txts = [
        p
        for p in sample_files(path, (".txt",), limit=30, depth=3)
        if p.name.lower() not in NAME_FILES
    ]
    rows = 0
    for t in txts[:10]:
        for line in peek_text(t, 2048).splitlines()[:5]:
            tok = line.split()
            if not tok:
                continue
            if not (tok[0].isdigit() and len(tok) >= 5 and all(_is_num(x) for x in tok[1:])):
                return (0.0, "")
            rows += 1
    if rows:
        return (0.8 if has_names else 0.6), "YOLO label files" + (
            " and a class list" if has_names else ""
        )
    if any((path / s).is_dir() for s in ("train", "val")) and _looks_classify(path):
        return 0.5, "image folders per class (YOLO classification)"
    return 0.0, ""


def _is_num(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _writer() -> Any:
    from lightable.formats import yolo_write

    return yolo_write


def _write(*args: Any) -> None:
    _writer().write(*args)


def _plan(*args: Any) -> None:
    _writer().plan(*args)


register(
    FormatSpec(
        name=NAME,
        title="YOLO (Ultralytics)",
        reader=read,
        writer=_write,
        detect=detect,
        extensions=(".yaml", ".yml", ".data", ".txt", ".names"),
        holds=frozenset({Box.kind, Polygon.kind, Keypoints.kind}),
        plan=_plan,
        aliases=("ultralytics", "yolov8", "yolov5", "darknet", "yolo_ultralytics"),
        description="YOLO txt labels: Ultralytics data.yaml, Darknet obj.data, classification folders",
    )
)
