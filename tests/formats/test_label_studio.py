"""Label Studio JSON: fixtures, percent coordinates, brush RLE, hostile tasks, round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage

from lightable.core.errors import BadInputError
from lightable.core.geometry import Box, Keypoints, Mask, Polygon, Tag
from lightable.formats import brush_rle, cvat, label_studio, labelme
from lightable.formats.model import Dataset, DatasetImage, DatasetObject, ExportOptions, Report
from lightable.formats.shape_approx import rotated_rect_corners
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

LS = "label_studio"
# (file or folder, images, objects, labels), counted from the JSON:
FIXTURES = [
    # One task object (not an array); one annotation with one "choices" result: Cat.
    ("label-studio-previous_export/previous_export.json", 1, 1, 1),
    # 1 task: rectangle + polygon + 2 keypoints = 4 regions, 4 distinct labels.
    ("label-studio-sdk-export_coco/data.json", 1, 4, 4),
    # 1 task, 1 closed polygon (Airplane).
    ("label-studio-sdk-export_json_min/data.json", 1, 1, 1),
    # 1 task whose data holds 3 image URLs (images[0..2]); one rectangle on page_0 with a
    # taxonomy result on the same region (an attribute, not an object); label Document Title.
    ("label-studio-sdk-export_json_min/data_repeater.json", 3, 1, 1),
    # 2 tasks; task 1 has two annotations (2 rectangles each), the most recent one is
    # used -> 2 + task 2's 2 = 4 rectangles; labels parasites, white.
    ("label-studio-sdk-export_yolo/data.json", 2, 4, 2),
    # 1 task, 1 polygon with 37 vertices (Airplane).
    ("label-studio-sdk-export_yolo/data_polygons.json", 1, 1, 1),
    # Folders read every task file in them (and skip the rest with a warning):
    ("label-studio-previous_export", 1, 1, 1),
    ("label-studio-sdk-export_coco", 1, 4, 4),
    # data.json + data_repeater.json: 1 + 3 images, 1 + 1 objects, Airplane + Document Title.
    ("label-studio-sdk-export_json_min", 4, 2, 2),
]


def read(path: Path, strict: bool = False) -> tuple[Dataset, Report]:
    report = Report(strict=strict)
    return label_studio.read(path, report), report


@pytest.mark.parametrize(("sample", "n_images", "n_objects", "n_labels"), FIXTURES)
def test_fixture_counts(
    fixtures_dir: Path, sample: str, n_images: int, n_objects: int, n_labels: int
) -> None:
    path = fixtures_dir / "label_studio" / sample
    ds, report = read(path)
    assert len(ds.images) == n_images
    assert ds.object_count() == n_objects
    assert len(ds.labels) == n_labels
    assert not report.errors
    assert label_studio.detect(path) > 0.8
    assert labelme.detect(path) == 0.0 and cvat.detect(path) == 0.0


def test_yolo_folder_reports_the_name_clash(fixtures_dir: Path) -> None:
    # data.json and data_polygons.json both name "/image2" but at different sizes:
    # two different images under one name; the second task is refused, named.
    ds, report = read(fixtures_dir / "label_studio/label-studio-sdk-export_yolo")
    assert (len(ds.images), ds.object_count()) == (2, 4)
    (err,) = report.errors
    assert err.file.endswith("data_polygons.json") and err.where == "task 68501"
    assert "640x426 here but 2800x2800" in err.problem


def test_percent_coordinates(fixtures_dir: Path) -> None:
    ds, _ = read(fixtures_dir / "label_studio/label-studio-sdk-export_coco/data.json")
    im = ds.images[0]
    assert (im.path, im.width, im.height) == ("test_image1.jpg", 500, 320)
    rect, poly, kp1, _ = im.objects
    assert rect.label == "rectangle_label"
    assert rect.geometry.bbox() == pytest.approx(
        (
            31.941923774954628 * 5,
            4.113475177304964 * 3.2,
            6.352087114337568 * 5,
            9.929078014184398 * 3.2,
        ),
        abs=1e-9,
    )
    assert isinstance(poly.geometry, Polygon)
    assert poly.geometry.points()[0] == pytest.approx(
        (41.74228675136116 * 5, 3.546099290780142 * 3.2)
    )
    assert isinstance(kp1.geometry, Keypoints)
    assert kp1.attributes == {"point_width": 0.18148820326678766}


def test_most_recent_annotation_is_used(fixtures_dir: Path) -> None:
    ds, report = read(fixtures_dir / "label_studio/label-studio-sdk-export_yolo/data.json")
    first = ds.images[0].objects[0].geometry
    assert first.bbox()[0] == pytest.approx(37.88706739526412 * 28)  # annotation 2's box, not 1's
    assert (
        "2 annotations; used annotation 2 (most recent), 1 other(s) ignored"
        in report.warnings[0].problem
    )


def test_repeater_images_and_region_attributes(fixtures_dir: Path) -> None:
    ds, _ = read(fixtures_dir / "label_studio/label-studio-sdk-export_json_min/data_repeater.json")
    assert [im.path for im in ds.images] == ["example1.jpeg", "example2.jpeg", "example3.jpeg"]
    (obj,) = ds.images[0].objects
    assert obj.label == "Document Title" and obj.attributes == {"categories_0": [["Archaea"]]}
    assert (ds.images[0].width, ds.images[0].height) == (1280, 720)


def test_choices_become_tags(fixtures_dir: Path) -> None:
    ds, report = read(
        fixtures_dir / "label_studio/label-studio-previous_export/previous_export.json"
    )
    (obj,) = ds.images[0].objects
    assert obj.label == "Cat" and isinstance(obj.geometry, Tag)
    assert ds.images[0].path == "mypets.jpg"
    assert "not found under the import root" in report.warnings[0].problem


# -- synthetic tasks ---------------------------------------------------------------------------


def _task(
    results: list[dict[str, Any]], image: str = "/data/upload/1/a.png", **extra: Any
) -> dict[str, Any]:
    t = {"id": 1, "data": {"image": image}, "annotations": [{"id": 5, "result": results}]}
    t.update(extra)
    return t


def _res(
    kind: str, value: dict[str, Any], w: int = 200, h: int = 100, rid: str = "r1", **extra: Any
) -> dict[str, Any]:
    r = {
        "id": rid,
        "type": kind,
        "from_name": "label",
        "to_name": "image",
        "original_width": w,
        "original_height": h,
        "value": value,
    }
    r.update(extra)
    return r


def _write(folder: Path, doc: Any, name: str = "tasks.json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return p


def test_region_types(tmp_path: Path) -> None:
    m = np.zeros((100, 200), bool)
    m[10:20, 30:35] = True
    results = [
        _res(
            "rectanglelabels",
            {"x": 10, "y": 20, "width": 5, "height": 10, "rotation": 30, "rectanglelabels": ["a"]},
        ),
        _res(
            "brushlabels",
            {"format": "rle", "rle": brush_rle.encode_mask(m), "brushlabels": ["b"]},
            rid="r2",
        ),
        _res(
            "ellipselabels",
            {"x": 50, "y": 50, "radiusX": 10, "radiusY": 5, "ellipselabels": ["c"]},
            rid="r3",
        ),
        # The newer split form: a geometry result and a "labels" result with one id.
        _res("rectangle", {"x": 0, "y": 0, "width": 50, "height": 50}, rid="r4"),
        _res("labels", {"labels": ["d"]}, rid="r4"),
        _res("textarea", {"text": ["hello"]}, rid="r4", from_name="note"),
        _res("relation", {}, rid="r9"),
    ]
    ds, report = read(_write(tmp_path, [_task(results)]))
    rot, brush, ell, split = ds.images[0].objects
    assert rot.attributes == {"rotation": 30.0}
    assert rot.geometry == Polygon.from_points(
        rotated_rect_corners(20, 20, 10, 10, 30, about_center=False)
    )
    assert isinstance(brush.geometry, Mask) and np.array_equal(
        mask_ops.decode(brush.geometry).astype(bool), m
    )
    assert ell.attributes == {"shape": "ellipse", "center": [100.0, 50.0], "rx": 20.0, "ry": 5.0}
    assert (
        split.label == "d"
        and split.geometry == Box(0, 0, 100, 50)
        and split.attributes == {"note": ["hello"]}
    )
    assert not report.errors


def test_brush_decoder_reads_an_independently_built_stream() -> None:
    # A 1x3 RGBA image = 12 values: pixel 0 clear, pixels 1-2 opaque white. Built by hand
    # from the format description with unusual field widths and a literal run, not
    # with our encoder: header 32 bits n=12, 5 bits word-1=7, widths-1 = 1, 2, 3, 4.
    bits = format(12, "032b") + format(7, "05b") + "0001" + "0010" + "0011" + "0100"
    bits += "1" + "10" + format(3, "04b") + format(0, "08b")  # repeat: 4 x 0
    bits += "0" + "00" + format(1, "02b") + format(255, "08b") + format(255, "08b")  # 2 literals
    bits += "1" + "11" + format(5, "05b") + format(255, "08b")  # repeat: 6 x 255
    bits += "0" * (-len(bits) % 8)
    rle = [int(bits[i : i + 8], 2) for i in range(0, len(bits), 8)]
    assert brush_rle.decode(rle).tolist() == [0, 0, 0, 0] + [255] * 8
    assert brush_rle.decode_mask(rle, 1, 3).tolist() == [[False, True, True]]


@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**31 - 1), st.floats(0.0, 1.0))
@settings(max_examples=60, deadline=None)
def test_brush_rle_round_trip(h: int, w: int, seed: int, p: float) -> None:
    m = np.random.default_rng(seed).random((h, w)) < p
    assert np.array_equal(brush_rle.decode_mask(brush_rle.encode_mask(m), h, w), m)


def test_brush_long_runs() -> None:
    m = np.ones((300, 400), bool)  # 480,000 values: runs longer than 2^16 split up
    assert np.array_equal(brush_rle.decode_mask(brush_rle.encode_mask(m), 300, 400), m)


@pytest.mark.parametrize(
    ("rle", "problem"),
    [
        ([0, 0, 0], "truncated"),
        ("abc", "list of byte values"),
        ([1, 2, 300], "0..255"),
        (brush_rle.encode_mask(np.ones((2, 2), bool)), "expected 800"),  # size mismatch
    ],
)
def test_bad_brush_rle(tmp_path: Path, rle: Any, problem: str) -> None:
    results = [_res("brushlabels", {"format": "rle", "rle": rle, "brushlabels": ["b"]}, w=20, h=10)]
    ds, report = read(_write(tmp_path, [_task(results)]))
    assert ds.object_count() == 0 and problem in report.errors[0].problem
    assert report.errors[0].where == "task 1 result r1"


def test_huge_brush_header_is_refused_before_allocating() -> None:
    bits = format(2**32 - 1, "032b") + "00111" + "0000" * 4 + "000"
    rle = [int(bits[i : i + 8], 2) for i in range(0, len(bits), 8)]
    with pytest.raises(brush_rle.BrushRleError, match="expected 8"):
        brush_rle.decode(rle, expected_values=8)


def test_local_file_mapping(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    for n in ("foo.jpg", "bar.png", "baz.png"):
        PILImage.new("RGB", (4, 4)).save(tmp_path / "images" / n)
    tasks = [
        _task([], image="/data/upload/3/1a2b3c4d-foo.jpg"),
        _task([], image="/data/local-files/?d=images%2Fbar.png"),
        _task([], image="https://example.org/x/baz.png?sig=1"),
        _task([], image="/data/local-files/?d=..%2F..%2Fetc%2Fpasswd"),
        _task([], image="s3://bucket/none.png"),
    ]
    ds, report = read(_write(tmp_path, tasks))
    assert [im.path for im in ds.images] == [
        "images/foo.jpg",
        "images/bar.png",
        "images/baz.png",
        "none.png",
    ]
    assert "escapes the import root" in report.warnings[0].problem
    assert (
        "names no file" in report.errors[0].problem
        and report.errors[0].where == "task 1 data.image"
    )
    assert "not found under the import root" in report.warnings[1].problem


@pytest.mark.parametrize(
    ("result", "problem"),
    [
        (
            _res(
                "rectanglelabels",
                {"x": "a", "y": 0, "width": 1, "height": 1, "rectanglelabels": ["a"]},
            ),
            "is not a number",
        ),
        (
            _res(
                "rectanglelabels",
                {"x": 0, "y": 0, "width": 1, "height": 1, "rectanglelabels": ["a"]},
                w=None,
            ),
            "original_width",
        ),
        (
            _res("polygonlabels", {"points": [[1, 1], [2, 2]], "polygonlabels": ["a"]}),
            "at least 3 points",
        ),
        (
            _res(
                "rectanglelabels", {"x": 0, "y": 0, "width": 1, "height": 1, "rectanglelabels": []}
            ),
            "without a label",
        ),
        (_res("brushlabels", {"format": "png", "brushlabels": ["a"]}), "not supported"),
    ],
)
def test_bad_results_are_item_errors(tmp_path: Path, result: dict[str, Any], problem: str) -> None:
    good = _res(
        "rectanglelabels",
        {"x": 0, "y": 0, "width": 1, "height": 1, "rectanglelabels": ["ok"]},
        rid="g",
    )
    ds, report = read(_write(tmp_path, [_task([result, good])]))
    assert ds.object_count() == 1
    assert problem in report.errors[0].problem


def test_out_of_range_percent_is_a_warning(tmp_path: Path) -> None:
    r = _res(
        "rectanglelabels", {"x": 90, "y": 0, "width": 20, "height": 10, "rectanglelabels": ["a"]}
    )
    ds, report = read(_write(tmp_path, [_task([r])]))
    assert ds.object_count() == 1 and "outside the image" in report.warnings[-1].problem


def test_cancelled_and_ground_truth(tmp_path: Path) -> None:
    rect = {"x": 0, "y": 0, "width": 10, "height": 10}
    t = {
        "id": 3,
        "data": {"image": "a.png"},
        "annotations": [
            {
                "id": 1,
                "was_cancelled": True,
                "updated_at": "2030-01-01",
                "result": [_res("rectanglelabels", rect | {"rectanglelabels": ["cancelled"]})],
            },
            {
                "id": 2,
                "ground_truth": True,
                "updated_at": "2020-01-01",
                "result": [_res("rectanglelabels", rect | {"rectanglelabels": ["gt"]})],
            },
            {
                "id": 3,
                "updated_at": "2025-01-01",
                "result": [_res("rectanglelabels", rect | {"rectanglelabels": ["newer"]})],
            },
        ],
        "predictions": [{"result": []}],
    }
    ds, report = read(_write(tmp_path, [t]))
    assert [o.label for o in ds.images[0].objects] == ["gt"]
    assert "used annotation 2 (ground truth)" in report.warnings[0].problem
    assert any("prediction(s)" in i.problem for i in report.issues)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[{"data": {"image": "a.png"}},', "malformed JSON"),
        ('[{"data": {"image": "a.png"}, "x": NaN}]', "NaN"),
        ('{"a": 1}', "not a Label Studio export"),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, problem: str) -> None:
    p = _write(tmp_path, text)
    with pytest.raises(BadInputError, match=problem) as exc:
        read(p)
    assert str(p) in str(exc.value)


# -- writing -----------------------------------------------------------------------------------


def _roundtrip(ds: Dataset, out: Path) -> tuple[Dataset, Report]:
    wreport = Report()
    label_studio.write(ds, out, wreport, ExportOptions())
    got, report = read(out / "tasks.json")
    assert not report.errors, report.errors
    return got, wreport


def test_fixture_round_trip(fixtures_dir: Path, tmp_path: Path) -> None:
    for sample, *_ in FIXTURES[:6]:
        ds, _ = read(fixtures_dir / "label_studio" / sample)
        got, _ = _roundtrip(ds, tmp_path / sample.replace("/", "_"))
        assert_same_images(ds, got, tol=1e-9, attrs=False)


def test_written_task_and_config(tmp_path: Path) -> None:
    objs = [DatasetObject("car", Box(20, 10, 40, 30)), DatasetObject("sunny", Tag())]
    ds = make_dataset([DatasetImage("imgs/a b.png", 200, 100, objects=objs)])
    ds.labels[0].color = "#ff0000"
    label_studio.write(
        ds, tmp_path, Report(), ExportOptions(extra={"image_prefix": "/data/local-files/?d="})
    )
    (task,) = json.loads((tmp_path / "tasks.json").read_text())
    assert task["data"]["image"] == "/data/local-files/?d=imgs/a%20b.png"
    rect, choice = task["annotations"][0]["result"]
    assert rect["value"] == {
        "x": 10.0,
        "y": 10.0,
        "width": 20.0,
        "height": 30.0,
        "rotation": 0,
        "rectanglelabels": ["car"],
    }
    assert (rect["original_width"], rect["original_height"]) == (200, 100)
    assert choice["value"] == {"choices": ["sunny"]}
    config = (tmp_path / "label_config.xml").read_text()
    assert (
        '<RectangleLabels name="label" toName="image">' in config
        and 'value="car" background="#ff0000"' in config
    )
    assert '<Choice value="sunny"' in config


def test_unknown_size_is_reported(tmp_path: Path) -> None:
    ds = make_dataset([DatasetImage("a.png", objects=[DatasetObject("car", Box(1, 1, 1, 1))])])
    report = Report()
    label_studio.write(ds, tmp_path, report, ExportOptions())
    assert "size unknown" in report.errors[0].problem


@st.composite
def ls_objects(draw: Any, w: int, h: int) -> DatasetObject:
    kind = draw(st.sampled_from(["box", "polygon", "point", "mask", "tag", "rotated"]))
    label = draw(st.sampled_from(LABELS))
    if kind == "box":
        return DatasetObject(label, draw(boxes(w, h)))
    if kind == "polygon":
        return DatasetObject(label, draw(polygons(w, h)))
    if kind == "point":
        return DatasetObject(label, Keypoints(((draw(coord(w)), draw(coord(h)), 2),)))
    if kind == "mask":
        return DatasetObject(label, draw(masks(w, h)))
    if kind == "rotated":
        x, y, bw, bh = (
            draw(coord(w)),
            draw(coord(h)),
            draw(st.floats(1, 30)),
            draw(st.floats(1, 30)),
        )
        rot = draw(st.floats(1, 359))
        return DatasetObject(
            label,
            Polygon.from_points(rotated_rect_corners(x, y, bw, bh, rot, about_center=False)),
            {"rotation": rot},
        )
    return DatasetObject(label, Tag())


@st.composite
def ls_datasets(draw: Any) -> Dataset:
    images = []
    for k in range(draw(st.integers(1, 3))):
        w, h = draw(image_sizes())
        objs = draw(st.lists(ls_objects(w, h), max_size=6))
        seen: set[str] = set()
        objs = [
            o
            for o in objs
            if not isinstance(o.geometry, Tag) or not (o.label in seen or seen.add(o.label))
        ]
        images.append(DatasetImage(f"d/img{k}.png", w, h, objects=objs))
    return make_dataset(images)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ds=ls_datasets())
def test_round_trip_property(tmp_path_factory: pytest.TempPathFactory, ds: Dataset) -> None:
    out = tmp_path_factory.mktemp("ls")
    got, _ = _roundtrip(ds, out)
    # Percent coordinates: px -> % -> px keeps pixels to 1e-6 (floating point only).
    assert_same_images(ds, got, tol=1e-6)


# -- into a project ------------------------------------------------------------------------------


def test_import_into_project(project: Any, fixtures_dir: Path) -> None:
    from lightable.formats.project_io import import_path

    summary = import_path(
        project, fixtures_dir / "label_studio/label-studio-sdk-export_coco/data.json", LS
    )
    assert (summary.images_added, summary.annotations, summary.labels_created) == (1, 4, 4)
    assert summary.images_missing == 1  # the image itself is not in the fixture
    summary = import_path(
        project, fixtures_dir / "label_studio/label-studio-sdk-export_yolo/data.json", LS
    )
    assert (summary.images_added, summary.annotations) == (2, 4)
    assert project.annotations.count() == 8


def _literal_encoder(values: list[int]) -> list[int]:
    """A test-side encoder that also writes literal runs (ours writes repeats only)."""
    bits = format(len(values), "032b") + format(7, "05b") + "0010" + "0011" + "0111" + "1111"
    i = 0
    while i < len(values):
        j = i
        while j < len(values) and values[j] == values[i]:
            j += 1
        if j - i >= 2:
            n = min(j - i, 4)  # field width 3 bits: runs up to 8; width 2 picks index 0
            bits += "1" + "01" + format(n - 1, "04b") + format(values[i], "08b")
        else:
            n = min(3, len(values) - i)
            bits += (
                "0"
                + "00"
                + format(n - 1, "03b")
                + "".join(format(v, "08b") for v in values[i : i + n])
            )
        i += n
    bits += "0" * (-len(bits) % 8)
    return [int(bits[k : k + 8], 2) for k in range(0, len(bits), 8)]


@given(st.integers(1, 8), st.integers(1, 8), st.integers(0, 2**31 - 1))
@settings(max_examples=80, deadline=None)
def test_brush_decoder_literal_and_repeat_runs(h: int, w: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rgba = rng.integers(0, 3, (h, w, 4))
    rgba[rng.random((h, w)) < 0.5] = 0
    values = rgba.reshape(-1).tolist()
    rle = _literal_encoder(values)
    assert brush_rle.decode(rle).tolist() == values
    assert np.array_equal(brush_rle.decode_mask(rle, h, w), rgba[:, :, 3] > 0)


def test_huge_claimed_size_refused(tmp_path: Path) -> None:
    r = _res(
        "brushlabels", {"format": "rle", "rle": [0] * 8, "brushlabels": ["b"]}, w=100_000, h=100_000
    )
    ds, report = read(_write(tmp_path, [_task([r])]))
    assert (
        ds.object_count() == 0 and "image claims 100000 x 100000 pixels" in report.errors[0].problem
    )


def test_json_min_export_gets_its_own_message(tmp_path: Path) -> None:
    rows = [
        {
            "image": "/data/upload/1/a.png",
            "id": 1,
            "label": [{"x": 1, "y": 1, "width": 2, "height": 2, "rectanglelabels": ["a"]}],
        }
    ]
    with pytest.raises(BadInputError, match="JSON-MIN"):
        read(_write(tmp_path, rows))
