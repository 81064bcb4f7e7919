"""Pascal VOC reader and import: the shared VOC fixtures, the devkit's coordinates, masks,
hostile XML."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lightable.core.errors import BadInputError
from lightable.core.geometry import Box, Mask
from lightable.formats.model import StrictError
from tests.formats.conftest import counts, kinds_of, load, read, tiny_jpeg

# (folder, images, objects by kind, labels, splits by image file), counted from the files.
FIXTURES = [
    # 1 XML: cat + person (+ its head part) = 3 boxes; SegmentationObject has 1 instance
    # whose SegmentationClass colour is bicycle: 1 mask. 2007_000002 is only in test lists.
    (
        "datumaro-voc_dataset1", 2, {"box": 3, "mask": 1}, 4,
        {"JPEGImages/2007_000001.jpg": "train", "JPEGImages/2007_000002.jpg": "test"},
    ),
    ("datumaro-voc_dataset3", 1, {"box": 1}, 1, {"JPEGImages/2007_000001.jpg": "train"}),
    # labelme2voc: 3 XMLs, 2 + 5 + 2 = 9 boxes of person, bus, car; no ImageSets.
    (
        "labelme-bbox_detection-voc", 3, {"box": 9}, 3,
        {f"JPEGImages/2011_0000{n}.jpg": None for n in ("03", "06", "25")},
    ),
    # Roboflow: XML beside each image; split from the folder: 2 train (1 + 1 boxes), 1 val (2).
    (
        "datumaro-roboflow_voc", 3, {"box": 4}, 2,
        {"train/train_001.jpg": "train", "train/train_002.jpg": "train", "val/val_001.jpg": "val"},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("rel", "n_images", "kinds", "n_labels", "splits"), FIXTURES)
def test_fixture_counts(project, fx: Path, rel, n_images, kinds, n_labels, splits) -> None:  # type: ignore[no-untyped-def]
    ds, report = read(fx / "voc" / rel, "voc")
    assert not report.errors, report.errors
    assert len(ds.images) == n_images
    assert dict(kinds_of(ds)) == kinds
    assert len(ds.labels) == n_labels
    assert {im.path: im.split for im in ds.images} == splits
    s = load(project, fx / "voc" / rel, "voc")
    c = counts(project)
    assert c["images"] == s.images_added == n_images and s.images_missing == 0
    assert c["kinds"] == kinds and c["labels"] == n_labels


def test_devkit_coordinates_attributes_parts(fx: Path) -> None:
    ds, _ = read(fx / "voc/datumaro-voc_dataset1", "voc")
    im = next(i for i in ds.images if i.objects)
    cat, person, head, mask = im.objects
    # xmin=1 ymin=2 xmax=3 ymax=4: pixels 0..2 x 1..3, i.e. the box 0..3 x 1..4.
    assert cat.geometry == Box(0, 1, 3, 3)
    assert cat.attributes == {"difficult": False, "truncated": True, "pose": "Unspecified"}
    assert person.geometry == Box(3, 4, 3, 3)
    assert person.attributes["actions"]["jumping"] is False
    assert person.attributes["actions"]["phoning"] is True
    # The part's fractional box (5.5, 6, 7.5, 8) is kept as written, grouped with its object.
    assert head.label == "head" and head.geometry == Box(4.5, 5, 3, 3)
    assert head.attributes == {"part_of": "person"} and head.group == person.group == 2
    assert isinstance(mask.geometry, Mask) and mask.label == "bicycle"
    assert mask.geometry.area() == 200  # the whole 20x10 image
    assert mask.group is None  # instance 1 is the cat's index, but its class is bicycle


def test_zero_based_option(fx: Path) -> None:
    ds, _ = read(fx / "voc/labelme-bbox_detection-voc", "voc", one_based=False)
    first = next(im for im in ds.images if im.path.endswith("2011_000003.jpg"))
    assert first.objects[0].geometry.bbox() == pytest.approx(
        (191.0, 107.36900369003689, 122.0, 222.00000000000006)
    )
    ds, _ = read(fx / "voc/labelme-bbox_detection-voc", "voc")
    first = next(im for im in ds.images if im.path.endswith("2011_000003.jpg"))
    assert first.objects[0].geometry.bbox()[0] == 190.0


def _voc(root: Path, body: str, name: str = "a") -> Path:
    tiny_jpeg(root / "JPEGImages" / f"{name}.jpg", 40, 30)
    (root / "Annotations").mkdir(parents=True, exist_ok=True)
    (root / "Annotations" / f"{name}.xml").write_text(body)
    return root


GOOD = (
    "<annotation><filename>a.jpg</filename><size><width>40</width><height>30</height></size>"
    "<object><name>cat</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>10</ymax>"
    "</bndbox></object>{extra}</annotation>"
)


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ("<object><name>dog</name></object>", "object 2: object has no <bndbox>"),
        (
            "<object><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object>",
            "object 2: object has no <name>",
        ),
        (
            "<object><name>dog</name><bndbox><xmin>nan</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object>",
            "object 2: xmin 'nan' is not a finite number",
        ),
        (
            "<object><name>dog</name><bndbox><xmin>9</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object>",
            "object 2: xmax/ymax 2,2 before xmin/ymin 9,1",
        ),
        (
            "<object><name>dog</name><difficult>maybe</difficult><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object>",
            "object 2/difficult: flag value 'maybe'",
        ),
    ],
)
def test_bad_objects_named(project, tmp_path: Path, extra, problem) -> None:  # type: ignore[no-untyped-def]
    root = _voc(tmp_path / "voc", GOOD.format(extra=extra))
    s = load(project, root, "voc")
    assert s.annotations == 1
    (err,) = s.report.errors
    assert problem in str(err) and "Annotations/a.xml" in err.file, str(err)
    with pytest.raises(StrictError):
        load(project, root, "voc", strict=True)


def test_out_of_image_box_clipped(tmp_path: Path) -> None:
    body = GOOD.format(extra="").replace("<xmax>10</xmax>", "<xmax>45</xmax>")
    ds, report = read(_voc(tmp_path / "voc", body), "voc")
    assert ds.images[0].objects[0].geometry == Box(0, 0, 40, 10)
    assert "clipped" in report.warnings[0].problem


def test_hostile_xml(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = _voc(tmp_path / "voc", GOOD.format(extra=""))
    # External entity (XXE) and entity expansion: refused before parsing.
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + GOOD.format(extra="").replace("cat", "&x;")
    )
    _voc(root, xxe, "b")
    _voc(root, "<annotation><object><name>cat</name>", "c")  # truncated
    s = load(project, root, "voc")
    problems = sorted(
        (Path(e.file).name, e.problem.split(":")[0], e.where) for e in s.report.errors
    )
    assert problems == [
        ("b.xml", "XML with a DOCTYPE or ENTITY declaration is refused (external entities)", None),
        ("c.xml", "malformed XML", "line 1 column 36"),
    ]
    assert s.annotations == 1
    assert "passwd" not in str(counts(project))


def test_huge_xml_refused(tmp_path: Path) -> None:
    from lightable.formats import safe_io

    root = _voc(tmp_path / "voc", GOOD.format(extra=""))
    with safe_io.limits(xml_bytes=50):
        _ds, report = read(root, "voc")
    assert "over the 50 bytes limit" in report.errors[0].problem


def test_palette_masks_and_labelmap(tmp_path: Path) -> None:
    from PIL import Image

    root = _voc(
        tmp_path / "voc",
        GOOD.format(
            extra=GOOD.split("<annotation>")[1]
            .split("</annotation>")[0]
            .split("</size>")[1]
            .replace("cat", "dog")
        ),
    )
    (root / "labelmap.txt").write_text(
        "# label:color_rgb:parts:actions\nbackground:0,0,0::\ncat:10,20,30::\ndog:200,0,0::\n"
    )
    inst = np.zeros((30, 40), np.uint8)
    inst[0:10, 0:10] = 1
    inst[20:25, 20:30] = 2
    inst[0, :] = 255  # void border is not an object
    cls = np.where(inst == 1, 1, np.where(inst == 2, 2, 0)).astype(np.uint8)
    for folder, arr in (("SegmentationObject", inst), ("SegmentationClass", cls)):
        (root / folder).mkdir()
        img = Image.fromarray(arr, "P")
        img.putpalette([0, 0, 0, 10, 20, 30, 200, 0, 0] + [0] * 759)
        img.save(root / folder / "a.png")
    ds, report = read(root, "voc")
    assert not report.errors
    objs = ds.images[0].objects
    masks = [o for o in objs if isinstance(o.geometry, Mask)]
    assert [(o.label, o.geometry.area(), o.group) for o in masks] == [
        ("cat", 90, 1),
        ("dog", 50, 2),
    ]
    assert {lb.name: lb.color for lb in ds.labels} == {"cat": "#0a141e", "dog": "#c80000"}


def test_not_voc(tmp_path: Path) -> None:
    f = tmp_path / "x.xml"
    f.write_text("<annotations><image/></annotations>")
    _ds, report = read(f, "voc")
    assert "root element is <annotations>" in report.errors[0].problem
    with pytest.raises(BadInputError, match="not a VOC annotation"):
        read(tmp_path / "x.json" if (tmp_path / "x.json").write_text("{}") else tmp_path, "voc")
