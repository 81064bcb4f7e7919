"""labelme JSON: the shared fixtures, every shape type, hostile files, round trips."""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage

from lightable.core.errors import BadInputError
from lightable.core.geometry import Box, Keypoints, Mask, Polygon, Tag
from lightable.formats import label_studio, labelme, labelme_mit
from lightable.formats.model import DatasetImage, DatasetObject, ExportOptions, Report, StrictError
from lightable.formats.safe_io import limits
from lightable.formats.shape_approx import circle_polygon
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

# (sample, images, objects, labels) counted from the files:
FIXTURES = [
    # 1 JSON; 4 polygon shapes (shelf + 3 products); 4 distinct labels.
    ("labelme-tutorial-imagedata", 1, 4, 4),
    # 3 JSONs with 5 + 10 + 3 = 18 polygons (MANIFEST: "18 polygons"); labels used:
    # person, bottle, __ignore__, chair, sofa, bus, car = 7 (labels.txt is not read).
    ("labelme-instance_segmentation-annotated", 3, 18, 7),
    # 3 JSONs with 2 + 4 + 3 = 9 rectangles (MANIFEST: "9 rectangles: person, bus, car").
    ("labelme-bbox_detection-annotated", 3, 9, 3),
    # 2 JSONs, no shapes; flags {__ignore__, cat, dog}: one true flag each -> 2 tags;
    # every flag name is a label -> 3.
    ("labelme-classification-flags", 2, 2, 3),
    # 1 JSON, 51 rectangles (MANIFEST), labels person, car, handbag, truck, bicycle, bus.
    ("x-anylabeling-labelme", 1, 51, 6),
    # 1 JSON, 1 rectangle labelled "text".
    ("x-anylabeling-ocr-japanese", 1, 1, 1),
]


def read(path: Path, strict: bool = False) -> tuple[Any, Report]:
    report = Report(strict=strict)
    return labelme.read(path, report), report


@pytest.mark.parametrize(("sample", "n_images", "n_objects", "n_labels"), FIXTURES)
def test_fixture_counts(
    fixtures_dir: Path, sample: str, n_images: int, n_objects: int, n_labels: int
) -> None:
    ds, report = read(fixtures_dir / "labelme" / sample)
    assert len(ds.images) == n_images
    assert ds.object_count() == n_objects
    assert len(ds.labels) == n_labels
    assert not report.errors
    for im in ds.images:
        assert (Path(ds.root) / im.path).is_file(), im.path  # every fixture ships its images
        assert im.width and im.height


def test_tutorial_image_path_points_at_json(fixtures_dir: Path) -> None:
    ds, report = read(fixtures_dir / "labelme/labelme-tutorial-imagedata")
    im = ds.images[0]
    assert im.path == "apc2016_obj3.jpg"  # the JPEG beside it, not the JSON imagePath names
    assert im.embedded is None  # the file exists, so imageData is not needed
    assert (im.width, im.height) == (1210, 907)
    assert any("is not an image file" in i.problem for i in report.issues)


def test_embedded_image_without_file(fixtures_dir: Path, tmp_path: Path) -> None:
    shutil.copy(fixtures_dir / "labelme/labelme-tutorial-imagedata/apc2016_obj3.json", tmp_path)
    ds, report = read(tmp_path)
    im = ds.images[0]
    assert im.path == "apc2016_obj3.jpg"  # named after the JSON, suffix from the bytes
    assert im.embedded is not None and im.embedded.startswith(b"\xff\xd8\xff")
    with PILImage.open(io.BytesIO(im.embedded)) as pil:
        assert pil.size == (1210, 907)
    assert len(im.objects) == 4 and not report.errors


def test_bbox_two_corner_rectangles(fixtures_dir: Path) -> None:
    ds, _ = read(fixtures_dir / "labelme/labelme-bbox_detection-annotated")
    first = {im.path: im for im in ds.images}["data_annotated/2011_000003.jpg"].objects[0]
    assert first.label == "person"
    assert isinstance(first.geometry, Box)
    assert first.geometry.bbox() == pytest.approx(
        (191.0, 107.36900369003689, 122.0, 222.00000000000006)
    )


def test_x_anylabeling_four_corner_rectangles_and_extras(fixtures_dir: Path) -> None:
    ds, _ = read(fixtures_dir / "labelme/x-anylabeling-labelme")
    objs = ds.images[0].objects
    assert all(isinstance(o.geometry, Box) for o in objs)
    b = objs[0].geometry
    assert b.bbox() == pytest.approx(
        (568.0528541564942, 1437.3789642333986, 233.4007781982421, 503.6245697021484)
    )
    assert objs[0].attributes == {"score": 0.8585938811302185}
    ds2, _ = read(fixtures_dir / "labelme/x-anylabeling-ocr-japanese")
    o = ds2.images[0].objects[0]
    assert o.attributes["description"] == "だいビようボ。未来は元気だよ"
    assert o.group == 0  # group_id 0 is a group, not "none"


def test_group_ids_and_ignore_label(fixtures_dir: Path) -> None:
    ds, _ = read(fixtures_dir / "labelme/labelme-instance_segmentation-annotated")
    im = {i.path: i for i in ds.images}["data_annotated/2011_000003.jpg"]
    assert [o.group for o in im.objects] == [None, 0, 0, None, None]
    assert im.objects[4].label == "__ignore__"
    assert all(isinstance(o.geometry, Polygon) for o in im.objects)


def test_flags_become_tags(fixtures_dir: Path) -> None:
    ds, _ = read(fixtures_dir / "labelme/labelme-classification-flags")
    tags = {im.path: [(o.label, type(o.geometry)) for o in im.objects] for im in ds.images}
    assert tags == {
        "data_annotated/0001.jpg": [("cat", Tag)],
        "data_annotated/0002.jpg": [("dog", Tag)],
    }
    assert ds.label_names() == ["__ignore__", "cat", "dog"]


def test_mit_xml_is_not_labelme_json(fixtures_dir: Path) -> None:
    mit = fixtures_dir / "labelme_mit_xml/datumaro-labelme_dataset"
    assert labelme.detect(mit) == 0.0
    assert labelme_mit.detect(mit) > 0.8
    with pytest.raises(BadInputError, match="no labelme JSON"):
        read(mit)


@pytest.mark.parametrize("sample", [s[0] for s in FIXTURES])
def test_detect_fixtures(fixtures_dir: Path, sample: str) -> None:
    path = fixtures_dir / "labelme" / sample
    assert labelme.detect(path) > 0.9
    assert label_studio.detect(path) == 0.0


# -- every shape type ------------------------------------------------------------------------


def _doc(shapes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    doc = {
        "version": "5.5.0",
        "flags": {},
        "shapes": shapes,
        "imagePath": "a.png",
        "imageData": None,
        "imageHeight": 20,
        "imageWidth": 30,
    }
    doc.update(extra)
    return doc


def _write(folder: Path, doc: Any, name: str = "a.json", image: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if image:
        PILImage.new("RGB", (30, 20)).save(folder / "a.png")
    p = folder / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return p


def _shape(
    kind: str | None, points: list[list[float]], label: str = "cat", **extra: Any
) -> dict[str, Any]:
    d: dict[str, Any] = {"label": label, "points": points, "group_id": None, "flags": {}}
    if kind is not None:
        d["shape_type"] = kind
    d.update(extra)
    return d


def _png_b64(arr: np.ndarray) -> str:
    buf = io.BytesIO()
    PILImage.fromarray(arr).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def test_all_shape_types(tmp_path: Path) -> None:
    crop = np.zeros((3, 4), dtype=bool)
    crop[1, 1:3] = True
    shapes = [
        _shape(None, [[1, 1], [5, 1], [5, 5]]),  # labelme 3.x: untyped = polygon
        _shape("circle", [[10, 10], [13, 14]]),
        _shape("point", [[2.5, 3.5]]),
        _shape("line", [[0, 0], [4, 4]]),
        _shape("linestrip", [[0, 0], [4, 4], [8, 0]]),
        _shape("mask", [[5, 6], [8, 8]], mask=_png_b64(crop)),
        _shape("rotation", [[1, 1], [5, 3], [4, 5], [0, 3]], direction=0.46),
        _shape(
            "rectangle",
            [[9, 2], [3, 8]],
            description="d",
            difficult=True,
            group_id=4,
            flags={"x": True},
        ),
    ]
    ds, report = read(_write(tmp_path, _doc(shapes)))
    assert not report.errors
    objs = ds.images[0].objects
    assert isinstance(objs[0].geometry, Polygon)
    circle = objs[1]
    assert circle.attributes == {"shape": "circle", "center": [10.0, 10.0], "radius": 5.0}
    assert circle.geometry == circle_polygon(10, 10, 5)
    assert objs[2].geometry == Keypoints(((2.5, 3.5, 2),))
    assert objs[3].attributes == {"shape": "line"} and len(objs[3].geometry.points) == 2
    assert objs[4].attributes == {"shape": "linestrip"} and len(objs[4].geometry.points) == 3
    m = objs[5].geometry
    assert isinstance(m, Mask) and (m.height, m.width) == (20, 30)
    full = mask_ops.decode(m)
    assert full.sum() == 2 and full[7, 6] == 1 and full[7, 7] == 1
    assert objs[6].attributes == {"shape": "rotation", "direction": 0.46}
    rect = objs[7]
    assert rect.geometry == Box(3, 2, 6, 6)  # corners given in any order
    assert rect.group == 4
    assert rect.attributes == {"description": "d", "difficult": True, "flags": {"x": True}}


# -- hostile input ---------------------------------------------------------------------------


def test_malformed_json_single_file_raises_with_line(tmp_path: Path) -> None:
    p = _write(tmp_path, '{"shapes": [\n  {"label": "a",,}\n]}')
    with pytest.raises(BadInputError) as exc:
        read(p)
    assert str(p) in str(exc.value) and "line 2" in str(exc.value)


def test_malformed_json_in_folder_is_reported_and_skipped(tmp_path: Path) -> None:
    _write(tmp_path, _doc([_shape("point", [[1, 1]])]))
    bad = _write(tmp_path, "{not json", name="b.json", image=False)
    ds, report = read(tmp_path)
    assert len(ds.images) == 1
    assert [i.file for i in report.errors] == [str(bad)]
    assert "malformed JSON" in report.errors[0].problem


def test_nan_coordinates_refused(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        '{"shapes": [{"label": "a", "points": [[NaN, 1]], "shape_type": "point"}], "imagePath": "a.png"}',
    )
    with pytest.raises(BadInputError, match="NaN"):
        read(p)


def test_string_and_bad_points_are_item_errors(tmp_path: Path) -> None:
    shapes = [
        _shape("point", [["x", 1]]),
        _shape("polygon", [[1, 1], [2, 2]]),
        _shape("hexagon", [[1, 1]]),
        _shape("point", [[1, 1]], label=""),
        _shape("point", [[3, 3]]),
    ]
    ds, report = read(_write(tmp_path, _doc(shapes)))
    assert ds.object_count() == 1
    where = [i.where for i in report.errors]
    assert where == ["shapes[0].points[0]", "shapes[1]", "shapes[2]", "shapes[3]"]
    assert "unsupported shape_type 'hexagon'" in report.errors[2].problem


def test_strict_stops_at_first_error(tmp_path: Path) -> None:
    p = _write(tmp_path, _doc([_shape("polygon", [[1, 1]]), _shape("point", [[1, 1]])]))
    with pytest.raises(StrictError, match=r"shapes\[0\]"):
        read(p, strict=True)


def test_image_path_escaping_root_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "data"
    doc = _doc([_shape("point", [[1, 1]])], imagePath="../../etc/passwd.png")
    p = _write(root, doc)
    ds, report = read(root)
    assert ds.images == []
    assert report.errors[0].file == str(p)
    assert "outside the import root" in report.errors[0].problem
    assert report.errors[0].where == "imagePath"


def test_escaping_even_with_image_data(tmp_path: Path) -> None:
    root = tmp_path / "data"
    doc = _doc([], imagePath="../x.png", imageData=_png_b64(np.zeros((2, 2), np.uint8)))
    _write(root, doc, image=False)
    ds, report = read(root)
    assert ds.images == [] and "outside the import root" in report.errors[0].problem


def test_dotdot_inside_root_is_fine(tmp_path: Path) -> None:
    PILImage.new("RGB", (30, 20)).save(tmp_path / "img.png")
    _write(tmp_path / "ann", _doc([], imagePath="../img.png"), image=False)
    ds, report = read(tmp_path)
    assert [im.path for im in ds.images] == ["img.png"] and not report.errors


def test_absolute_windows_path_falls_back_to_the_file_beside(tmp_path: Path) -> None:
    _write(tmp_path, _doc([], imagePath="C:\\Users\\me\\data\\a.png"))
    ds, report = read(tmp_path)
    assert ds.images[0].path == "a.png"
    assert "absolute" in report.warnings[0].problem


def test_huge_image_data_refused(tmp_path: Path) -> None:
    blob = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 5000).decode()
    _write(tmp_path, _doc([], imagePath="missing.png", imageData=blob), image=False)
    with limits(image_bytes=1000):
        ds, report = read(tmp_path)
    assert ds.images == []
    assert "over the" in report.errors[0].problem and report.errors[0].where == "imageData"


@pytest.mark.parametrize(
    ("blob", "problem"),
    [
        ("@@not base64@@", "not valid base64"),
        (base64.b64encode(b"hello world").decode(), "is not a PNG/JPEG"),
    ],
)
def test_bad_image_data(tmp_path: Path, blob: str, problem: str) -> None:
    _write(tmp_path, _doc([], imagePath="missing.png", imageData=blob), image=False)
    ds, report = read(tmp_path)
    assert ds.images == [] and problem in report.errors[0].problem


def test_mask_larger_than_image_refused(tmp_path: Path) -> None:
    big = _png_b64(np.ones((50, 50), np.uint8) * 255)
    ds, report = read(_write(tmp_path, _doc([_shape("mask", [[0, 0], [49, 49]], mask=big)])))
    assert ds.object_count() == 0 and "larger than the image" in report.errors[0].problem


def test_duplicate_annotation_of_one_image(tmp_path: Path) -> None:
    _write(tmp_path, _doc([]))
    _write(tmp_path, _doc([]), name="b.json", image=False)
    ds, report = read(tmp_path)
    assert len(ds.images) == 1 and "already annotated" in report.errors[0].problem


def test_other_json_in_folder_skipped_with_warning(tmp_path: Path) -> None:
    _write(tmp_path, _doc([]))
    (tmp_path / "config.json").write_text('{"a": 1}')
    ds, report = read(tmp_path)
    assert len(ds.images) == 1 and "not a labelme file" in report.warnings[0].problem


# -- writing and round trips -------------------------------------------------------------------


def _roundtrip(ds: Any, tmp_path: Path, **extra: Any) -> tuple[Any, Report]:
    out = tmp_path / "out"
    wreport = Report()
    labelme.write(ds, out, wreport, ExportOptions(extra=extra))
    got, report = read(out)
    assert not report.errors
    return got, wreport


def test_fixture_round_trip(fixtures_dir: Path, tmp_path: Path) -> None:
    for sample, *_ in FIXTURES:
        ds, _ = read(fixtures_dir / "labelme" / sample)
        out = tmp_path / sample
        labelme.write(ds, out, Report(), ExportOptions())
        got, report = read(out)
        assert not report.errors
        assert_same_images(ds, got, tol=0.0)
        # Only true flags are written: a flag that is false on every image is gone.
        assert set(got.label_names()) <= set(ds.label_names())


def test_written_file_is_labelme_5(tmp_path: Path) -> None:
    ds = make_dataset(
        [DatasetImage("sub/x.jpg", 30, 20, objects=[DatasetObject("cat", Box(1, 2, 3, 4))])]
    )
    labelme.write(ds, tmp_path, Report(), ExportOptions())
    doc = json.loads((tmp_path / "sub/x.json").read_text())
    assert doc["version"].startswith("5.")
    assert doc["imagePath"] == "x.jpg" and doc["imageData"] is None
    assert doc["shapes"] == [
        {
            "label": "cat",
            "description": "",
            "flags": {},
            "points": [[1.0, 2.0], [4.0, 6.0]],
            "group_id": None,
            "shape_type": "rectangle",
        }
    ]


def test_image_data_option(fixtures_dir: Path, tmp_path: Path) -> None:
    ds, _ = read(fixtures_dir / "labelme/x-anylabeling-ocr-japanese")
    labelme.write(ds, tmp_path / "o", Report(), ExportOptions(extra={"image_data": True}))
    doc = json.loads((tmp_path / "o/japan_1.json").read_text(encoding="utf-8"))
    assert (
        base64.b64decode(doc["imageData"])
        == (fixtures_dir / "labelme/x-anylabeling-ocr-japanese/japan_1.jpg").read_bytes()
    )


def test_multi_ring_polygon_becomes_a_group(tmp_path: Path) -> None:
    poly = Polygon(((0, 0, 5, 0, 5, 5), (10, 10, 15, 10, 15, 15)))
    ds = make_dataset([DatasetImage("x.png", 30, 20, objects=[DatasetObject("cat", poly)])])
    got, _ = _roundtrip(ds, tmp_path)
    objs = got.images[0].objects
    assert len(objs) == 2 and objs[0].group == objs[1].group is not None
    assert objs[0].geometry.rings[0] == poly.rings[0] and objs[1].geometry.rings[0] == poly.rings[1]


def test_skeleton_keypoints_written_as_grouped_points(tmp_path: Path) -> None:
    kp = Keypoints(((1, 1, 2), (2, 2, 0), (3, 3, 1)))
    ds = make_dataset([DatasetImage("x.png", 30, 20, objects=[DatasetObject("person", kp)])])
    got, wreport = _roundtrip(ds, tmp_path)
    assert [o.geometry for o in got.images[0].objects] == [
        Keypoints(((1, 1, 2),)),
        Keypoints(((3, 3, 2),)),
    ]
    assert "labelme has no skeletons" in wreport.warnings[0].problem


@st.composite
def labelme_objects(draw: Any, w: int, h: int) -> DatasetObject:
    kind = draw(
        st.sampled_from(["box", "polygon", "point", "line", "linestrip", "circle", "mask", "tag"])
    )
    label = draw(st.sampled_from(LABELS))
    attrs: dict[str, Any] = {}
    if draw(st.booleans()):
        attrs["description"] = draw(
            st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
        )
    if kind == "box":
        geom: Any = draw(boxes(w, h))
    elif kind == "polygon":
        geom = draw(polygons(w, h))
    elif kind == "point":
        geom = Keypoints(((draw(coord(w)), draw(coord(h)), 2),))
    elif kind in ("line", "linestrip"):
        n = 2 if kind == "line" else draw(st.integers(2, 6))
        geom = Keypoints(tuple((draw(coord(w)), draw(coord(h)), 2) for _ in range(n)))
        attrs["shape"] = kind
    elif kind == "circle":
        cx, cy, r = draw(coord(w)), draw(coord(h)), draw(st.floats(0.5, 20))
        geom = circle_polygon(cx, cy, r)
        attrs.update(shape="circle", center=[cx, cy], radius=r)
    elif kind == "mask":
        geom = draw(masks(w, h))
    else:
        return DatasetObject(label, Tag())
    group = draw(st.one_of(st.none(), st.integers(0, 5)))
    return DatasetObject(label, geom, attrs, group=group)


@st.composite
def labelme_datasets(draw: Any) -> Any:
    images = []
    for k in range(draw(st.integers(1, 3))):
        w, h = draw(image_sizes())
        objs = draw(st.lists(labelme_objects(w, h), max_size=6))
        # One flag per label: two tags of one label are one flag.
        seen: set[str] = set()
        objs = [
            o
            for o in objs
            if not isinstance(o.geometry, Tag) or not (o.label in seen or seen.add(o.label))
        ]
        images.append(DatasetImage(f"d{k % 2}/img{k}.png", w, h, objects=objs))
    return make_dataset(images)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ds=labelme_datasets())
def test_round_trip_property(tmp_path_factory: pytest.TempPathFactory, ds: Any) -> None:
    tmp = tmp_path_factory.mktemp("lm")
    got, _ = _roundtrip(ds, tmp)
    assert_same_images(ds, got, groups=True)


# -- into a project ----------------------------------------------------------------------------


def test_import_into_project(project: Any, fixtures_dir: Path, tmp_path: Path) -> None:
    from lightable.formats.project_io import import_path

    summary = import_path(
        project, fixtures_dir / "labelme/labelme-instance_segmentation-annotated", "labelme"
    )
    assert (summary.images_added, summary.annotations, summary.labels_created) == (3, 18, 7)
    assert project.annotations.count() == 18
    # An embedded image with no file beside it is written into the project.
    shutil.copy(fixtures_dir / "labelme/labelme-tutorial-imagedata/apc2016_obj3.json", tmp_path)
    summary = import_path(project, tmp_path, "labelme")
    assert (summary.images_added, summary.images_written, summary.annotations) == (1, 1, 4)
    assert project.annotations.count() == 22


def test_huge_claimed_image_size_refused(tmp_path: Path) -> None:
    crop = _png_b64(np.ones((2, 2), np.uint8))
    doc = _doc(
        [_shape("mask", [[0, 0], [1, 1]], mask=crop)], imageWidth=100_000, imageHeight=100_000
    )
    ds, report = read(_write(tmp_path, doc))
    assert ds.images == [] and "image claims 100000 x 100000" in report.errors[0].problem


def test_cvat_polyline_becomes_linestrip(fixtures_dir: Path, tmp_path: Path) -> None:
    from lightable.formats import cvat

    ds = cvat.read(fixtures_dir / "cvat_xml/datumaro-cvat_for_video", Report())
    labelme.write(ds, tmp_path, Report(), ExportOptions())
    doc = json.loads((tmp_path / "images/frame_000013.json").read_text())
    (shape,) = doc["shapes"]
    assert shape["shape_type"] == "linestrip" and shape["label"] == "II"
    assert shape["points"] == [[7.85, 13.88], [3.5, 6.67], [15.9, 2.0], [13.31, 7.21]]
