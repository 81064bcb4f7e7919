"""YOLO reader and import: every shared YOLO fixture, layouts, hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightable.core.errors import BadInputError
from lightable.core.geometry import Box, Keypoints, Polygon, Tag
from lightable.formats.model import StrictError
from tests.formats.conftest import counts, kinds_of, load, read, tiny_jpeg

# (folder or file, options, images, stored objects by kind, classes, splits) counted from the
# label files (one row = one object; a pose row = a box + its keypoints) and MANIFEST.md.
FIXTURES = [
    ("cvat-datumaro-yolov8_detection", {}, 1, {"box": 2}, 10, {"train"}),
    ("cvat-datumaro-yolov8_detection_with_list_of_imgs", {}, 1, {"box": 2}, 10, {"train"}),
    # train.txt says data/images/train/1.jpg: the data/ prefix is retried away.
    ("cvat-datumaro-yolov8_detection_with_subset_txt", {}, 1, {"box": 2}, 10, {"train"}),
    # 14 tokens with kpt_shape [3, 3]: a box and 3 keypoints.
    ("cvat-datumaro-yolov8_pose", {}, 1, {"box": 1, "keypoints": 1}, 1, {"train"}),
    # 7 and 11 tokens: polygons of 3 and 5 points.
    ("cvat-datumaro-yolov8_segmentation", {}, 1, {"polygon": 2}, 10, {"train"}),
    # Four alternative label folders for one image, chosen with the labels option.
    (
        "dagshub-yolo/bbox_and_segmentation.yaml",
        {"labels": "labels_bbox"},
        1,
        {"box": 2},
        2,
        {None},
    ),
    (
        "dagshub-yolo/bbox_and_segmentation.yaml",
        {"labels": "labels_segmentation"},
        1,
        {"polygon": 3},
        2,
        {None},
    ),
    (
        "dagshub-yolo/pose_2dim.yaml",
        {"labels": "labels_pose_2dim"},
        1,
        {"box": 2, "keypoints": 2},
        2,
        {None},
    ),
    (
        "dagshub-yolo/pose_3dim.yaml",
        {"labels": "labels_pose_3dim"},
        1,
        {"box": 2, "keypoints": 2},
        2,
        {None},
    ),
    ("dagshub-yolo/bbox_and_segmentation.yaml", {"labels": "empty"}, 1, {}, 2, {None}),
    # Roboflow: train 2 images/2 boxes, val 1 image/2 boxes; data.yaml's ../valid/images is val/.
    ("datumaro-roboflow_yolo", {}, 3, {"box": 4}, 2, {"train", "val"}),
    ("datumaro-yolo_annotations_layout", {}, 1, {"box": 2}, 10, {None}),
    ("datumaro-yolo_strict", {}, 1, {"box": 2}, 10, {"train"}),
    # classes.txt + images/ + labels/: 5 images, 4+4+4+4+3 = 19 boxes.
    ("label-studio-sdk-yolo_import", {}, 5, {"box": 19}, 4, {None}),
    # labels/ beside sources/ (WEBP): 2 polygons of 41 and 48 points.
    ("x-anylabeling-yolo_segmentation", {}, 1, {"polygon": 2}, 2, {None}),
]


@pytest.mark.parametrize(("rel", "options", "n_images", "kinds", "n_classes", "splits"), FIXTURES)
def test_fixture_counts(
    project, fx: Path, rel, options, n_images, kinds, n_classes, splits
) -> None:  # type: ignore[no-untyped-def]
    ds, report = read(fx / "yolo" / rel, "yolo", **options)
    assert not report.errors, report.errors
    assert len(ds.images) == n_images
    assert dict(kinds_of(ds)) == kinds
    assert len(ds.labels) == n_classes
    assert {im.split for im in ds.images} == splits
    s = load(project, fx / "yolo" / rel, "yolo", **options)
    c = counts(project)
    assert c["images"] == s.images_added == n_images
    assert c["kinds"] == kinds and s.annotations == sum(kinds.values())
    assert c["labels"] == n_classes
    assert s.images_missing == 0


def test_box_coordinates_denormalised(fx: Path) -> None:
    ds, _ = read(fx / "yolo/datumaro-yolo_strict", "yolo")
    (im,) = ds.images
    assert (im.width, im.height) == (15, 10)
    a, b = (o.geometry for o in im.objects)
    # "2 0.133333 0.300000 0.266667 0.200000" on 15x10: cx 2, cy 3, w 4, h 2 (6 decimals).
    assert isinstance(a, Box)
    assert a.bbox() == pytest.approx((0.0, 2.0, 4.0, 2.0), abs=1e-4)
    assert [o.label for o in im.objects] == ["label_2", "label_4"]
    # "4 0.266667 0.450000 0.133333 0.300000": cx 4, cy 4.5, w 2, h 3.
    assert b.bbox() == pytest.approx((3.0, 3.0, 2.0, 3.0), abs=1e-4)


def test_pose_keypoints_and_groups(fx: Path) -> None:
    ds, _ = read(fx / "yolo/cvat-datumaro-yolov8_pose", "yolo")
    (im,) = ds.images
    box, kp = im.objects
    assert box.group == kp.group == 1
    assert isinstance(kp.geometry, Keypoints)
    assert kp.geometry.flat() == pytest.approx([1.5, 2.0, 2, 4.5, 4.0, 2, 7.5, 6.0, 2])
    assert ds.labels[0].skeleton is not None and len(ds.labels[0].skeleton.names) == 3
    ds, _ = read(fx / "yolo/dagshub-yolo/pose_3dim.yaml", "yolo", labels="labels_pose_3dim")
    vis = [
        p[2]
        for o in ds.images[0].objects
        if isinstance(o.geometry, Keypoints)
        for p in o.geometry.points
    ]
    assert vis == [1, 0, 1, 0, 1, 0, 1, 0]
    ds, _ = read(fx / "yolo/dagshub-yolo/pose_2dim.yaml", "yolo", labels="labels_pose_2dim")
    vis = [
        p[2]
        for o in ds.images[0].objects
        if isinstance(o.geometry, Keypoints)
        for p in o.geometry.points
    ]
    assert vis == [2] * 8  # two numbers per point: all visible


def test_roboflow_reports_its_fixups(fx: Path) -> None:
    _, report = read(fx / "yolo/datumaro-roboflow_yolo", "yolo")
    assert any(
        "'../valid/images' not found; used val/images/" in w.problem for w in report.warnings
    )


def test_several_yamls_need_a_choice(fx: Path) -> None:
    with pytest.raises(BadInputError, match="several YAML files"):
        read(fx / "yolo/dagshub-yolo", "yolo")


def _ultra(
    root: Path, rows: str, names: str = "names: [cat, dog]\n", size: tuple[int, int] = (100, 50)
) -> Path:
    tiny_jpeg(root / "images" / "train" / "a.jpg", *size)
    (root / "labels" / "train").mkdir(parents=True, exist_ok=True)
    (root / "labels" / "train" / "a.txt").write_text(rows)
    (root / "data.yaml").write_text("path: .\ntrain: images/train\n" + names)
    return root


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        (
            "0 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.1 0.1\n",
            "line 2: class id 7 is not in the 2 class names",
        ),
        (
            "0 0.5 0.5 0.2 0.2\n0 0.5 nan 0.1 0.1\n",
            "line 2: coordinate 'nan' is not a finite number",
        ),
        ("0 0.5 0.5 0.2 0.2\n0 50 25 10 10\n", "line 2: coordinate 50 is outside 0..1"),
        ("0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.1\n", "line 2: 4 values: not a box"),
        ("0 0.5 0.5 0.2 0.2\nx 0.5 0.5 0.1 0.1\n", "line 2: class id 'x' is not an integer"),
        ("0 0.5 0.5 0.2 0.2\n0 0.5 0.5 -0.01 0.1\n", "line 2: box has a negative size"),
    ],
)
def test_bad_rows_name_file_and_line(project, tmp_path: Path, rows, problem) -> None:  # type: ignore[no-untyped-def]
    root = _ultra(tmp_path / "ds", rows)
    s = load(project, root, "yolo")
    assert s.annotations == 1
    (err,) = s.report.errors
    assert str(err).startswith(f"error: {root / 'labels/train/a.txt'}:{problem}"), str(err)
    with pytest.raises(StrictError):
        load(project, root, "yolo", strict=True)


def test_clipping_and_obb(tmp_path: Path) -> None:
    root = _ultra(tmp_path / "ds", "0 0.98 0.5 0.1 0.2\n")  # right edge at 1.03 of 100 px: 3 px out
    ds, report = read(root, "yolo")
    assert ds.images[0].objects[0].geometry.bbox() == pytest.approx((93.0, 20.0, 7.0, 10.0))
    assert "clipped" in report.warnings[0].problem
    root2 = _ultra(
        tmp_path / "obb", "0 0.1 0.1 0.5 0.1 0.5 0.3 0.1 0.3\n1 0.2 0.2 0.6 0.2 0.6 0.4 0.2 0.4\n"
    )
    ds, _ = read(root2, "yolo")
    objs = ds.images[0].objects
    assert all(isinstance(o.geometry, Polygon) and o.attributes == {"obb": True} for o in objs)
    ds, _ = read(root2, "yolo", task="segment")
    assert all(o.attributes == {} for o in ds.images[0].objects)


def test_hostile_yaml_and_paths(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "data.yaml").write_text("names: [a, b\ntrain: x\n")
    with pytest.raises(BadInputError, match=r"data.yaml:line 2 column \d+: malformed YAML"):
        read(bad, "yolo")
    (bad / "data.yaml").write_text("names: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(BadInputError, match="malformed YAML"):
        read(bad, "yolo")
    (bad / "data.yaml").write_text("a: &x [1, 2]\nnames: *x\n")
    with pytest.raises(BadInputError, match="aliases are refused"):
        read(bad, "yolo")
    # A list file pointing outside the import root is refused line by line.
    outside = tiny_jpeg(tmp_path / "secret.jpg")
    root = _ultra(tmp_path / "ds", "0 0.5 0.5 0.2 0.2\n")
    (root / "list.txt").write_text(f"{outside}\n../secret.jpg\nimages/train/a.jpg\n")
    (root / "data.yaml").write_text("train: list.txt\nnames: [cat]\n")
    ds, report = read(root, "yolo")
    assert [im.path for im in ds.images] == ["images/train/a.jpg"]
    assert [e.where for e in report.errors] == ["line 1", "line 2"]
    (root / "data.yaml").write_text("path: /etc\ntrain: ../../../etc\nnames: [cat]\n")
    ds, report = read(root, "yolo")
    assert all(not im.path.startswith("/") and ".." not in im.path for im in ds.images)
    assert any("not found" in i.problem for i in report.issues)


def test_huge_label_file_refused(tmp_path: Path) -> None:
    from lightable.formats import safe_io

    root = _ultra(tmp_path / "ds", "0 0.5 0.5 0.2 0.2\n" * 50)
    with safe_io.limits(text_bytes=100):
        ds, report = read(root, "yolo")
    assert ds.object_count() == 0
    assert "over the 100 bytes limit" in report.errors[0].problem


def test_missing_image_for_label_file(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    (root / "labels").mkdir(parents=True)
    (root / "images").mkdir()
    (root / "images" / "a.jpg").write_bytes(b"not a jpeg")
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "classes.txt").write_text("cat\n")
    ds, report = read(root, "yolo")
    assert ds.images == []
    assert "YOLO coordinates need its size" in report.errors[0].problem


def test_classification_folders(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for split, cls, n in (("train", "cat", 2), ("train", "dog", 1), ("val", "cat", 1)):
        for i in range(n):
            tiny_jpeg(tmp_path / "cls" / split / cls / f"{i}.jpg")
    ds, _ = read(tmp_path / "cls", "yolo")
    assert len(ds.images) == 4 and dict(kinds_of(ds)) == {"tag": 4}
    assert {(im.split, im.objects[0].label) for im in ds.images} == {
        ("train", "cat"),
        ("train", "dog"),
        ("val", "cat"),
    }
    assert all(isinstance(im.objects[0].geometry, Tag) for im in ds.images)
    s = load(project, tmp_path / "cls", "auto")
    assert s.format == "yolo" and s.annotations == 4 and s.labels_created == 2
