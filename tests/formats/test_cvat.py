"""CVAT XML 1.1 (images and video): fixtures, shapes, hostile XML, round trips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lightable.core.errors import BadInputError
from lightable.core.geometry import Box, Keypoints, Mask, Polygon, Tag
from lightable.core.model import Skeleton
from lightable.formats import cvat, labelme_mit
from lightable.formats.model import (
    Dataset,
    DatasetImage,
    DatasetObject,
    ExportOptions,
    Report,
    StrictError,
)
from lightable.formats.shape_approx import ellipse_polygon, rotated_rect_corners
from lightable.imaging import masks as mask_ops

from .geom_compare import (
    LABELS,
    assert_same_images,
    boxes,
    coord,
    image_sizes,
    make_dataset,
    masks,
    polygons,
)

# (sample, images, objects, labels), counted from the XML:
FIXTURES = [
    # 2 <image>: box + polyline, polygon + points = 4 shapes; labels label1, label2 from
    # <meta>, plus "unlabeled" for the two shapes with label="".
    ("datumaro-cvat_for_images_task", 2, 4, 3),
    # Same plus one <skeleton> per image = 6 shapes; labels label1, label2, skeleton
    # (its sub-labels 1..4 are node names, not labels) + "unlabeled".
    ("cvat-datumaro-cvat_for_images", 2, 6, 4),
    # 4 <image>: 1 + 6 + 2 + 1 = 10 shapes (4 boxes, 4 polygons, 1 points, 1 skeleton);
    # labels Baby Yoda, Ship, Yoda, Robot, Person (Yoda's sub-labels 1..7 are nodes).
    ("dagshub-cvat_project_export", 4, 10, 5),
    # 3 tracks over frames 10/13/16 (frame files images/frame_0000{10,13,16}.png): the
    # shapes with outside="0" are track 0 @10, track 1 @10, track 2 @13 = 3 objects;
    # labels klhg, z U k, II.
    ("datumaro-cvat_for_video", 3, 3, 3),
]


def read(path: Path, strict: bool = False) -> tuple[Dataset, Report]:
    report = Report(strict=strict)
    return cvat.read(path, report), report


@pytest.mark.parametrize(("sample", "n_images", "n_objects", "n_labels"), FIXTURES)
def test_fixture_counts(
    fixtures_dir: Path, sample: str, n_images: int, n_objects: int, n_labels: int
) -> None:
    ds, report = read(fixtures_dir / "cvat_xml" / sample)
    assert len(ds.images) == n_images
    assert ds.object_count() == n_objects
    assert len(ds.labels) == n_labels
    assert not report.errors
    assert cvat.detect(fixtures_dir / "cvat_xml" / sample) > 0.9


def test_task_export_details(fixtures_dir: Path) -> None:
    ds, report = read(fixtures_dir / "cvat_xml/datumaro-cvat_for_images_task")
    img0, img1 = ds.images
    assert (img0.path, img0.width, img0.height, img0.split) == ("images/img0.jpg", 8, 8, "train")
    box, line = img0.objects
    assert box.geometry == Box(0, 2, 4, 2)
    # Typed by the label's attribute schema: checkbox -> bool, number -> float, text stays text.
    assert box.attributes == {
        "occluded": True,
        "z_order": 1,
        "a1": True,
        "a2": "v3",
        "a3": "0003",
        "a4": 2.4,
    }
    assert line.label == "unlabeled" and line.attributes == {"shape": "polyline"}
    assert line.geometry == Keypoints(((1, 2, 2), (3, 4, 2), (5, 6, 2), (7, 8, 2)))
    poly, pts = img1.objects
    assert poly.geometry == Polygon.from_points([(1, 2), (3, 4), (6, 5)])
    assert pts.label == "label2" and pts.attributes == {"z_order": 2}
    assert sum("without a label" in w.problem for w in report.warnings) == 2


def test_skeletons(fixtures_dir: Path) -> None:
    ds, _ = read(fixtures_dir / "cvat_xml/cvat-datumaro-cvat_for_images")
    skel = {lb.name: lb for lb in ds.labels}["skeleton"]
    assert skel.color == "#0c81b5"
    assert skel.skeleton == Skeleton(["1", "2", "3", "4"], [(2, 1), (0, 3)])
    kp = [o.geometry for im in ds.images for o in im.objects if o.label == "skeleton"]
    # outside="1" -> visibility 0 (coordinates kept).
    assert kp == [
        Keypoints(((1, 1, 0), (2, 2, 2), (3, 3, 2), (4, 4, 2))),
        Keypoints(((3, 3, 2), (4, 4, 2), (5, 5, 0), (6, 6, 2))),
    ]


def test_project_export(fixtures_dir: Path) -> None:
    ds, report = read(fixtures_dir / "cvat_xml/dagshub-cvat_project_export")
    labels = {lb.name: lb for lb in ds.labels}
    assert labels["Baby Yoda"].color == "#bb2c9d"
    assert labels["Yoda"].skeleton is not None and labels["Yoda"].skeleton.names == [
        str(i) for i in range(1, 8)
    ]
    img = {im.path: im for im in ds.images}
    assert img["002.png"].objects[0].attributes == {"z_order": -1}
    # Nodes are listed 4, 2, 1, 7, 6, 5, 3 in the file; keypoints come in skeleton order.
    yoda = img["004.png"].objects[0].geometry
    assert isinstance(yoda, Keypoints)
    assert yoda.points[0] == (797.51, 449.77, 2) and yoda.points[3] == (1249.72, 310.54, 2)
    assert all(im.split is None for im in ds.images)  # subset "default" is no split
    assert sum("not found" in w.problem for w in report.warnings) == 4  # no images shipped


def test_video_tracks(fixtures_dir: Path) -> None:
    ds, _ = read(fixtures_dir / "cvat_xml/datumaro-cvat_for_video")
    by = {im.path: im for im in ds.images}
    assert sorted(by) == [f"images/frame_0000{n}.png" for n in (10, 13, 16)]
    assert all((im.width, im.height) == (25, 20) for im in ds.images)
    f10 = by["images/frame_000010.png"].objects
    assert [(o.label, o.attributes["track_id"]) for o in f10] == [("II", 0), ("klhg", 1)]
    assert f10[0].geometry == Box(3, 4, 7, 1) and f10[0].attributes["occluded"] is True
    assert f10[1].attributes["hgl"] == "hgkf"
    f13 = by["images/frame_000013.png"].objects
    assert [o.attributes.get("shape") for o in f13] == ["polyline"]
    assert by["images/frame_000016.png"].objects == []  # every track is outside by then


# -- synthetic files ---------------------------------------------------------------------------


def _xml(body: str, labels: str = "<label><name>cat</name></label>") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations><version>1.1</version>'
        f"<meta><task><labels>{labels}</labels></task></meta>{body}</annotations>"
    )


def _write(folder: Path, text: str, name: str = "annotations.xml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


def test_mask_rle(tmp_path: Path) -> None:
    # 3x2 box at (4, 1): rows "0 1 1" / "1 1 0" -> runs 1,3,1 (background first).
    body = '<image id="0" name="a.png" width="10" height="5"><mask label="cat" rle="1, 3, 2" left="4" top="1" width="3" height="2"/></image>'
    ds, report = read(_write(tmp_path, _xml(body)))
    m = ds.images[0].objects[0].geometry
    assert isinstance(m, Mask) and not report.errors
    want = np.zeros((5, 10), np.uint8)
    want[1, 5:7] = 1
    want[2, 4:5] = 1
    assert np.array_equal(mask_ops.decode(m), want)


def test_rotated_box_ellipse_tag_and_cuboid(tmp_path: Path) -> None:
    body = (
        '<image id="0" name="a.png" width="100" height="100">'
        '<box label="cat" xtl="10" ytl="10" xbr="30" ybr="20" rotation="30" occluded="0"/>'
        '<ellipse label="cat" cx="50" cy="50" rx="10" ry="5" rotation="15"/>'
        '<tag label="cat"><attribute name="note">x</attribute></tag>'
        '<cuboid label="cat" xtl1="0" ytl1="0" xbl1="0" ybl1="0" xtr1="0" ytr1="0" xbr1="0" ybr1="0"/>'
        "</image>"
    )
    ds, report = read(_write(tmp_path, _xml(body)))
    rot, ell, tag = ds.images[0].objects
    assert rot.attributes == {"rotation": 30.0}
    assert rot.geometry == Polygon.from_points(
        rotated_rect_corners(10, 10, 20, 10, 30, about_center=True)
    )
    assert ell.geometry == ellipse_polygon(50, 50, 10, 5, 15)
    assert ell.attributes == {
        "shape": "ellipse",
        "center": [50.0, 50.0],
        "rx": 10.0,
        "ry": 5.0,
        "rotation": 15.0,
    }
    assert isinstance(tag.geometry, Tag) and tag.attributes == {"note": "x"}
    assert "<cuboid> shapes are not supported" in report.errors[0].problem


@pytest.mark.parametrize(
    ("shape", "problem"),
    [
        ('<box label="cat" xtl="nan" ytl="0" xbr="1" ybr="1"/>', "not a finite number"),
        ('<polygon label="cat" points="1,1;2,2"/>', "needs 3"),
        ('<polygon label="cat" points="1,1;2;3,3"/>', "is not 'x,y'"),
        ('<mask label="cat" rle="1, 2" left="0" top="0" width="3" height="2"/>', "covers 3 pixels"),
        ('<box label="cat" xtl="5" ytl="0" ybr="1"/>', "without xbr"),
    ],
)
def test_bad_shapes_are_item_errors(tmp_path: Path, shape: str, problem: str) -> None:
    body = f'<image id="7" name="a.png" width="10" height="5">{shape}<box label="cat" xtl="0" ytl="0" xbr="1" ybr="1"/></image>'
    p = _write(tmp_path, _xml(body))
    ds, report = read(p)
    assert ds.object_count() == 1
    assert problem in report.errors[0].problem
    assert report.errors[0].file == str(p) and report.errors[0].where.startswith("image id 7")
    with pytest.raises(StrictError):
        read(p, strict=True)


@pytest.mark.parametrize(
    "text",
    [
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><annotations>&a;</annotations>',
        '<?xml version="1.0"?><!DOCTYPE annotations SYSTEM "file:///etc/passwd"><annotations/>',
    ],
)
def test_doctype_and_entities_refused(tmp_path: Path, text: str) -> None:
    p = _write(tmp_path, text)
    with pytest.raises(BadInputError, match="DOCTYPE"):
        read(p)
    # In a folder, the file is reported and the others still read.
    _write(tmp_path, _xml('<image id="0" name="a.png" width="1" height="1"/>'), name="good.xml")
    ds, report = read(tmp_path)
    assert len(ds.images) == 1 and report.errors[0].file == str(p)


def test_malformed_xml_names_line(tmp_path: Path) -> None:
    p = _write(tmp_path, "<annotations>\n<image id='0' name='a.png'>\n</annotations>")
    with pytest.raises(BadInputError) as exc:
        read(p)
    assert "malformed XML" in str(exc.value) and "line 3" in str(exc.value)


def test_image_name_escaping_root(tmp_path: Path) -> None:
    body = '<image id="0" name="../../secret.png" width="4" height="4"/><image id="1" name="/etc/x.png" width="4" height="4"/><image id="2" name="ok.png" width="4" height="4"/>'
    ds, report = read(_write(tmp_path, _xml(body)))
    assert [im.path for im in ds.images] == ["ok.png"]
    assert "escapes the import root" in report.errors[0].problem
    assert "absolute path" in report.errors[1].problem


def test_undeclared_label_and_duplicate_image(tmp_path: Path) -> None:
    body = '<image id="0" name="a.png" width="4" height="4"><box label="dog" xtl="0" ytl="0" xbr="1" ybr="1"/></image><image id="1" name="a.png" width="4" height="4"/>'
    ds, report = read(_write(tmp_path, _xml(body)))
    assert ds.label_names() == ["cat", "dog"]
    assert "not declared" in report.warnings[-1].problem or any(
        "not declared" in w.problem for w in report.warnings
    )
    assert "listed twice" in report.errors[0].problem


def test_not_cvat_xml(fixtures_dir: Path) -> None:
    mit = fixtures_dir / "labelme_mit_xml/datumaro-labelme_dataset/Annotations/subset1/img1.xml"
    assert cvat.detect(mit) == 0.0
    with pytest.raises(BadInputError, match="not a CVAT XML"):
        read(mit)
    assert labelme_mit.detect(fixtures_dir / "cvat_xml/datumaro-cvat_for_images_task") == 0.0


# -- writing -----------------------------------------------------------------------------------


def _roundtrip(ds: Dataset, out: Path) -> tuple[Dataset, Report]:
    wreport = Report()
    cvat.write(ds, out, wreport, ExportOptions())
    got, report = read(out / "annotations.xml")
    assert not report.errors, report.errors
    return got, wreport


@pytest.mark.parametrize("sample", [s[0] for s in FIXTURES])
def test_fixture_round_trip(fixtures_dir: Path, tmp_path: Path, sample: str) -> None:
    ds, _ = read(fixtures_dir / "cvat_xml" / sample)
    got, wreport = _roundtrip(ds, tmp_path)
    if sample.endswith("video"):
        # Written as CVAT for images: the track of each shape is reported, not kept.
        assert "has no tracks" in wreport.warnings[0].problem
        for im in ds.images:
            for o in im.objects:
                del o.attributes["track_id"], o.attributes["keyframe"]
    assert_same_images(ds, got, tol=0.0, groups=True)
    assert {lb.name: (lb.color, lb.skeleton) for lb in got.labels} == {
        lb.name: (lb.color, lb.skeleton) for lb in ds.labels
    }
    assert [im.split for im in got.images] == [im.split for im in ds.images]


def test_written_shapes(tmp_path: Path) -> None:
    m = np.zeros((6, 8), bool)
    m[2:4, 3:6] = True
    m[3, 3] = False  # crop rows "1 1 1" / "0 1 1"
    objs = [
        DatasetObject(
            "cat", Box(1.25, 2, 3, 4), {"occluded": True, "color": "red", "n": 3, "ok": False}
        ),
        DatasetObject("cat", Polygon(((0, 0, 4, 0, 4, 4), (5, 5, 7, 5, 7, 6)))),
        DatasetObject("cat", mask_ops.encode(m)),
        DatasetObject("cat", Tag()),
    ]
    ds = make_dataset([DatasetImage("x/y.png", 8, 6, objects=objs)])
    cvat.write(ds, tmp_path, Report(), ExportOptions())
    text = (tmp_path / "annotations.xml").read_text()
    assert '<image id="0" name="x/y.png" width="8" height="6">' in text
    assert 'xtl="1.25"' in text and '<attribute name="color">red</attribute>' in text
    assert 'rle="0, 3, 1, 2" left="3" top="2" width="3" height="2"' in text
    got, _ = read(tmp_path / "annotations.xml")
    objs2 = got.images[0].objects
    assert objs2[0].attributes == {"occluded": True, "color": "red", "n": 3, "ok": False}
    # A two-part polygon: two CVAT polygons sharing a group_id.
    assert objs2[1].group == objs2[2].group is not None
    assert np.array_equal(mask_ops.decode(objs2[3].geometry), m)


@st.composite
def cvat_objects(draw: Any, w: int, h: int) -> DatasetObject:
    kind = draw(
        st.sampled_from(
            [
                "box",
                "polygon",
                "points",
                "polyline",
                "skeleton",
                "mask",
                "tag",
                "rotated",
                "ellipse",
            ]
        )
    )
    label = "pose" if kind == "skeleton" else draw(st.sampled_from(LABELS))
    attrs: dict[str, Any] = {}
    if draw(st.booleans()):
        attrs["occluded"] = True
    if draw(st.booleans()):
        attrs["z_order"] = draw(st.integers(-3, 3).filter(bool))
    if draw(st.booleans()):
        attrs["note"] = draw(
            st.text(
                st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                min_size=1,
                max_size=6,
            ).filter(lambda s: s.strip() == s)
        )
    if draw(st.booleans()):
        attrs["count"] = draw(st.integers(-5, 5))
    if kind == "box":
        geom: Any = draw(boxes(w, h))
    elif kind == "polygon":
        geom = draw(polygons(w, h))
    elif kind == "points":
        geom = Keypoints(
            tuple((draw(coord(w)), draw(coord(h)), 2) for _ in range(draw(st.integers(1, 4))))
        )
    elif kind == "polyline":
        geom = Keypoints(
            tuple((draw(coord(w)), draw(coord(h)), 2) for _ in range(draw(st.integers(2, 5))))
        )
        attrs["shape"] = "polyline"
    elif kind == "skeleton":
        geom = Keypoints(
            tuple(
                (draw(coord(w)), draw(coord(h)), draw(st.sampled_from([0, 1, 2]))) for _ in range(3)
            )
        )
    elif kind == "rotated":
        x, y = draw(coord(w)), draw(coord(h))
        bw, bh = draw(st.floats(1, 30)), draw(st.floats(1, 30))
        rot = draw(st.floats(1, 359))
        geom = Polygon.from_points(rotated_rect_corners(x, y, bw, bh, rot, about_center=True))
        attrs["rotation"] = rot
    elif kind == "ellipse":
        cx, cy, rx, ry = (
            draw(coord(w)),
            draw(coord(h)),
            draw(st.floats(1, 20)),
            draw(st.floats(1, 20)),
        )
        geom = ellipse_polygon(cx, cy, rx, ry)
        attrs.update(shape="ellipse", center=[cx, cy], rx=rx, ry=ry)
    elif kind == "mask":
        geom = draw(masks(w, h))
    else:
        geom = Tag()
        attrs.pop("occluded", None)
        attrs.pop("z_order", None)
    group = draw(st.one_of(st.none(), st.integers(1, 4)))
    return DatasetObject(label, geom, attrs, group=None if kind == "tag" else group)


@st.composite
def cvat_datasets(draw: Any) -> Dataset:
    images = []
    for k in range(draw(st.integers(1, 3))):
        w, h = draw(image_sizes())
        objs = draw(st.lists(cvat_objects(w, h), max_size=6))
        split = draw(st.sampled_from([None, "train", "val"]))
        images.append(DatasetImage(f"f{k}/img {k}.png", w, h, split=split, objects=objs))
    ds = make_dataset(images)
    for lb in ds.labels:
        if lb.name == "pose":
            lb.skeleton = Skeleton(["nose", "left eye", "right eye"], [(0, 1), (0, 2)])
            lb.color = "#123456"
    return ds


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ds=cvat_datasets())
def test_round_trip_property(tmp_path_factory: pytest.TempPathFactory, ds: Dataset) -> None:
    out = tmp_path_factory.mktemp("cvat")
    got, _ = _roundtrip(ds, out)
    assert_same_images(ds, got, groups=True)
    assert [im.split for im in got.images] == [im.split for im in ds.images]
    want_labels = {lb.name: (lb.color, lb.skeleton) for lb in ds.labels}
    assert {lb.name: (lb.color, lb.skeleton) for lb in got.labels} == want_labels


# -- into a project ------------------------------------------------------------------------------


def test_import_into_project(project: Any, fixtures_dir: Path) -> None:
    from lightable.formats.project_io import import_path

    summary = import_path(project, fixtures_dir / "cvat_xml/cvat-datumaro-cvat_for_images", "cvat")
    assert (summary.images_added, summary.annotations, summary.labels_created) == (2, 6, 4)
    labels = {lb.name: lb for lb in project.labels.all()}
    assert labels["skeleton"].color == "#0c81b5"
    assert labels["skeleton"].skeleton is not None and labels["skeleton"].skeleton.names == [
        "1",
        "2",
        "3",
        "4",
    ]
    summary = import_path(project, fixtures_dir / "cvat_xml/datumaro-cvat_for_video", "cvat")
    assert (summary.images_added, summary.annotations) == (3, 3)
    assert project.annotations.count() == 9


def test_huge_claimed_image_size_refused(tmp_path: Path) -> None:
    body = '<image id="0" name="a.png" width="90000" height="90000"><mask label="cat" rle="0, 1" left="0" top="0" width="1" height="1"/></image>'
    ds, report = read(_write(tmp_path, _xml(body)))
    assert ds.images == [] and "image claims 90000 x 90000" in report.errors[0].problem
