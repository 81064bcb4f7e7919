"""COCO reader and import: every shared COCO fixture, the broken ones, hostile input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightable.core.errors import BadInputError
from lightable.core.geometry import Box, Keypoints, Mask, Polygon
from lightable.formats.model import StrictError
from tests.formats.conftest import counts, kinds_of, load, read, tiny_jpeg, write_json


def coco_annotations(ds) -> int:  # type: ignore[no-untyped-def]
    """COCO annotations behind a dataset's objects: one per group, one per ungrouped object."""
    n = 0
    for im in ds.images:
        groups = set()
        for o in im.objects:
            if o.group is None:
                n += 1
            else:
                groups.add(o.group)
        n += len(groups)
    return n


# Expected numbers are counted from the files themselves (and agree with MANIFEST.md):
# (path, images, COCO annotations, categories, stored objects by kind).
FIXTURES = [
    # 2 JSON files, 1 image each; train: 1 bbox-only, val: 1 polygon + 1 uncompressed RLE.
    ("coco_instances/datumaro-coco_instances", 2, 3, 3, {"box": 1, "polygon": 1, "mask": 1}),
    # labelme2coco output: 3 images, 12 polygons (two multi-part), 21 categories.
    (
        "coco_instances/labelme-instance_segmentation-coco/annotations.json",
        3,
        12,
        21,
        {"polygon": 12},
    ),
    # X-AnyLabeling: 13 + 4 images, 49 boxes + 6 polygons, 80 categories + 3 (1 name shared:
    # "person" is in both files, so 80 + 2 new = 82? no: see test below for the merged count).
    ("coco_instances/x-anylabeling-coco/annotations/coco_detection.json", 13, 49, 80, {"box": 49}),
    (
        "coco_instances/x-anylabeling-coco/annotations/coco_instance_segmentation.json",
        4,
        6,
        3,
        {"polygon": 6},
    ),
    # mmdetection: 3 images (fake3 without annotations), 3 boxes, 2 categories.
    ("coco_instances/mmdetection-tests-data/coco_sample.json", 3, 3, 2, {"box": 3}),
    # DagsHub: 2 images, 4 annotations: 1 bbox-only, 3 with polygons (one of two parts).
    ("coco_instances/dagshub-coco/annotations.json", 2, 4, 2, {"box": 1, "polygon": 3}),
    # mmpose: 4 images, 14 persons, each a polygon + 17 keypoints (two with num_keypoints 0).
    ("coco_keypoints/mmpose-coco/test_coco.json", 4, 14, 1, {"polygon": 14, "keypoints": 14}),
    # Datumaro keypoints: 2 images, 3 annotations each with 3 keypoints; shapes: box, polygon, RLE.
    (
        "coco_keypoints/datumaro-coco_person_keypoints",
        2,
        3,
        2,
        {"box": 1, "polygon": 1, "mask": 1, "keypoints": 3},
    ),
    (
        "coco_keypoints/cvat-datumaro-coco_person_keypoints",
        2,
        3,
        2,
        {"box": 1, "polygon": 1, "mask": 1, "keypoints": 3},
    ),
]


@pytest.mark.parametrize(("rel", "n_images", "n_anns", "n_cats", "kinds"), FIXTURES)
def test_fixture_counts(project, fx: Path, rel, n_images, n_anns, n_cats, kinds) -> None:  # type: ignore[no-untyped-def]
    ds, report = read(fx / rel, "coco")
    assert not report.errors, report.errors
    assert len(ds.images) == n_images
    assert coco_annotations(ds) == n_anns
    assert len(ds.labels) == n_cats
    assert dict(kinds_of(ds)) == kinds
    s = load(project, fx / rel, "coco")
    c = counts(project)
    assert (s.images_added, c["images"]) == (n_images, n_images)
    assert c["annotations"] == sum(kinds.values()) == s.annotations
    assert c["kinds"] == kinds
    assert c["labels"] == n_cats == s.labels_created


def test_x_anylabeling_folder_merges_labels_by_name(project, fx: Path) -> None:  # type: ignore[no-untyped-def]
    # 80 detection categories; the segmentation file's 3 are _background_, person, car:
    # person and car already exist, _background_ is new -> 81 labels.
    s = load(project, fx / "coco_instances/x-anylabeling-coco", "coco")
    assert (s.images_added, s.annotations, s.labels_created) == (17, 55, 81)
    # Files without extension ("demo") were not found: rows kept as broken, annotations kept.
    assert s.images_missing == 17
    assert any("not found" in w.problem for w in s.report.warnings)


def test_datumaro_details(fx: Path) -> None:
    ds, _ = read(fx / "coco_instances/datumaro-coco_instances", "coco")
    splits = {im.path: im.split for im in ds.images}
    assert splits == {"images/train/a.jpg": "train", "images/val/b.jpg": "val"}
    assert [lb.source_id for lb in ds.labels] == [1, 2, 4]  # non-contiguous ids kept
    val = next(im for im in ds.images if im.split == "val")
    crowd = [o for o in val.objects if o.iscrowd]
    assert len(crowd) == 1 and isinstance(crowd[0].geometry, Mask)
    assert crowd[0].geometry.height == 10 and crowd[0].geometry.width == 5
    poly = next(o for o in val.objects if isinstance(o.geometry, Polygon))
    assert poly.attributes == {"x": 1, "y": "hello"}  # the attributes extension
    train = next(im for im in ds.images if im.split == "train")
    assert isinstance(train.objects[0].geometry, Box)  # "segmentation": [] -> the bbox


def test_keypoint_skeletons_zero_and_one_based(fx: Path) -> None:
    ds, _ = read(fx / "coco_keypoints/mmpose-coco/test_coco.json", "coco")
    sk = ds.labels[0].skeleton
    assert sk is not None and len(sk.names) == 17 and sk.names[0] == "nose"
    # Official COCO edges are 1-based: [16, 14] is left_ankle-left_knee = (15, 13) 0-based.
    assert sk.edges[0] == (15, 13) and len(sk.edges) == 19
    ds, _ = read(fx / "coco_keypoints/datumaro-coco_person_keypoints", "coco")
    a = next(lb for lb in ds.labels if lb.name == "a")
    # Empty name list, 0-based edges [[0,1],[1,2]]: three points named 1..3.
    assert a.skeleton is not None and a.skeleton.edges == [(0, 1), (1, 2)]
    assert a.skeleton.names == ["1", "2", "3"]
    kp = [o for im in ds.images for o in im.objects if isinstance(o.geometry, Keypoints)]
    assert all(len(o.geometry.points) == 3 for o in kp)


def test_mmpose_zero_keypoints_and_groups(fx: Path) -> None:
    ds, _ = read(fx / "coco_keypoints/mmpose-coco/test_coco.json", "coco")
    kp = [o for im in ds.images for o in im.objects if isinstance(o.geometry, Keypoints)]
    assert sum(1 for o in kp if not o.geometry.labeled()) == 2  # num_keypoints: 0
    # Each person's polygon and keypoints share the COCO annotation id as their group.
    for im in ds.images:
        groups = {o.group for o in im.objects}
        assert all(sum(1 for o in im.objects if o.group == g) == 2 for g in groups)


def test_mmdetection_duplicate_id_is_reported(project, fx: Path) -> None:  # type: ignore[no-untyped-def]
    path = fx / "coco_instances/mmdetection-tests-data/coco_wrong_format_sample.json"
    with pytest.raises(StrictError, match="duplicate annotation id 1"):
        load(project, path, "coco", strict=True)
    assert counts(project)["images"] == 0 and counts(project)["labels"] == 0
    s = load(project, path, "coco")
    assert s.annotations == 1 and s.skipped == 1
    assert [str(e) for e in s.report.errors] == [
        f"error: {path}:annotation id 1: duplicate annotation id 1"
    ]


def test_results_with_gt_and_after_gt_import(project, fx: Path) -> None:  # type: ignore[no-untyped-def]
    gt = fx / "coco_keypoints/mmpose-coco/test_coco.json"
    res = fx / "coco_results/mmpose-coco_det_results/test_coco_det_AP_H_56.json"
    ds, _report = read(res, "coco", gt=str(gt))
    assert ds.predictions and len(ds.images) == 4 and ds.object_count() == 118
    assert [lb.name for lb in ds.labels] == ["person"]
    # Without --gt: images found through the ids remembered from the ground truth's import,
    # the category through the label's COCO id.
    load(project, gt, "coco")
    s = load(project, res, "coco")
    assert (s.predictions, s.run_id, s.images_added, s.labels_created) == (118, 1, 0, 0)
    c = counts(project)
    assert c["predictions"] == 118 and c["runs"] == 1 and c["labels"] == 1


def test_results_without_images_fail_clearly(project, fx: Path) -> None:  # type: ignore[no-untyped-def]
    res = fx / "coco_results/cocoapi-results/results/instances_val2014_fakebbox100_results.json"
    ds, report = read(res, "coco")
    # 734 detections over 99 images and 75 categories, named "category N" for now.
    assert ds.object_count() == 734 and len(ds.images) == 99 and len(ds.labels) == 75
    assert any("no category names" in w.problem for w in report.warnings)
    with pytest.raises(BadInputError, match="none of the 99 images"):
        load(project, res, "coco")
    assert counts(project)["runs"] == 0


def test_results_match_images_by_file_name_number(project, fx: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A project holding COCO val2014 file names (no COCO ids remembered) still matches.
    segm = fx / "coco_results/cocoapi-results/results/instances_val2014_fakesegm100_results.json"
    dets = json.loads(segm.read_text())
    ids = sorted({d["image_id"] for d in dets})
    cats = sorted({d["category_id"] for d in dets})
    gt = {
        "images": [
            {
                "id": 10_000 + i,
                "file_name": f"COCO_val2014_{i:012d}.jpg",
                "width": 640,
                "height": 640,
            }
            for i in ids
        ],
        "annotations": [],
        "categories": [{"id": c, "name": f"c{c}"} for c in cats],
    }
    # Different ids in this "ground truth", so only the file names can match.
    s0 = load(project, write_json(tmp_path / "gt" / "gt.json", gt), "coco")
    assert s0.images_added == 99
    ds, _ = read(segm, "coco")
    sizes = {(o.geometry.height, o.geometry.width) for im in ds.images for o in im.objects}
    assert all(isinstance(o.geometry, Mask) for im in ds.images for o in im.objects)
    assert len(sizes) > 1  # compressed RLE of many image sizes
    from lightable.formats.project_io import import_dataset

    s = import_dataset(project, ds)
    assert s.predictions == 734 and s.labels_created == 0  # categories by the labels' COCO ids
    assert counts(project)["labels"] == 75


# -- hostile input ------------------------------------------------------------------------


def _coco(**over):  # type: ignore[no-untyped-def]
    d = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 10, 20]}],
        "categories": [{"id": 1, "name": "cat"}],
    }
    d.update(over)
    return d


def test_malformed_json_names_line(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "bad.json"
    f.write_text('{"images": [\n {"id": 1,}\n]}')
    with pytest.raises(
        BadInputError, match=r"bad.json:line 2 column 11: malformed JSON: Expecting property name"
    ):
        load(project, f, "coco")
    assert counts(project)["images"] == 0


@pytest.mark.parametrize(
    ("ann", "message"),
    [
        (
            {"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, float("nan"), 3, 4]},
            "annotation id 7: bbox: nan is not a finite number",
        ),
        (
            {"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, 2, -3, 4]},
            "annotation id 7: bbox has a negative size",
        ),
        (
            {"id": 7, "image_id": 9, "category_id": 1, "bbox": [1, 2, 3, 4]},
            "annotation id 7: annotation points at image id 9",
        ),
        (
            {"id": 7, "image_id": 1, "category_id": 5, "bbox": [1, 2, 3, 4]},
            "annotation id 7: annotation points at category id 5",
        ),
        (
            {"id": 7, "image_id": 1, "category_id": 1, "bbox": [100, 200, 3, 4]},
            "annotation id 7: bbox .* lies outside",
        ),
        (
            {"id": 7, "image_id": 1, "category_id": 1, "segmentation": [[1, 2, 3]]},
            "annotation id 7: segmentation ring has an odd number",
        ),
        (
            {
                "id": 7,
                "image_id": 1,
                "category_id": 1,
                "segmentation": {"size": [48, 64], "counts": [1, 2]},
            },
            "annotation id 7: RLE: counts sum",
        ),
        (
            {"id": 7, "image_id": 1, "category_id": 1, "keypoints": [1, 2, 5]},
            "annotation id 7: keypoint visibility 5",
        ),
        (
            {"id": 7, "image_id": 1, "category_id": 1, "bbox": "1,2,3,4"},
            "annotation id 7: bbox must be a list",
        ),
    ],
)
def test_bad_annotations_are_skipped_and_named(project, tmp_path: Path, ann, message) -> None:  # type: ignore[no-untyped-def]
    good = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 10, 20]}
    f = tmp_path / "c.json"
    # NaN is written as the bare token Python's json emits (not valid JSON, but common).
    f.write_text(json.dumps(_coco(annotations=[good, ann])))
    s = load(project, f, "coco")
    assert s.annotations == 1
    assert len(s.report.errors) == 1
    import re

    assert re.search(message, str(s.report.errors[0])), str(s.report.errors[0])
    with pytest.raises(StrictError):
        load(project, f, "coco", strict=True)


def test_out_of_range_is_clipped_with_warning(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = write_json(
        tmp_path / "c.json",
        _coco(
            annotations=[
                {"id": 3, "image_id": 1, "category_id": 1, "bbox": [-10, 5, 30, 60]},
                {
                    "id": 4,
                    "image_id": 1,
                    "category_id": 1,
                    "bbox": [-0.5, 0, 64.5, 48],
                },  # within 1 px
            ]
        ),
    )
    ds, report = read(f, "coco")
    b = [o.geometry for o in ds.images[0].objects]
    assert b[0] == Box(0, 5, 20, 43)
    assert b[1] == Box(-0.5, 0, 64.5, 48)  # tool rounding is left alone
    assert [str(w) for w in report.warnings] == [
        f"warning: {f}:annotation id 3: bbox [-10, 5, 30, 60] more than 1 px outside the image; clipped"
    ]


@pytest.mark.parametrize(
    ("file_name", "problem"),
    [
        ("../secret.jpg", "escapes the import root"),
        ("/etc/passwd", "absolute path"),
        ("C:\\x.jpg", "absolute path"),
    ],
)
def test_file_names_escaping_the_root(project, tmp_path: Path, file_name, problem) -> None:  # type: ignore[no-untyped-def]
    f = write_json(
        tmp_path / "d" / "c.json",
        _coco(
            images=[
                {"id": 1, "file_name": file_name, "width": 64, "height": 48},
                {"id": 2, "file_name": "ok.jpg", "width": 64, "height": 48},
            ]
        ),
    )
    s = load(project, f, "coco")
    assert s.images_added == 1 and s.annotations == 0  # the annotation was on image 1
    assert any(problem in e.problem and e.where == "image id 1" for e in s.report.errors)
    with project.engine.connect() as conn:
        from sqlalchemy import select

        from lightable.store import schema

        paths = [r[0] for r in conn.execute(select(schema.images.c.path))]
    assert paths == ["ok.jpg"]


def test_huge_file_is_refused(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from lightable.formats import safe_io

    f = write_json(tmp_path / "c.json", _coco())
    with (
        safe_io.limits(json_bytes=100),
        pytest.raises(BadInputError, match="over the 100 bytes limit"),
    ):
        load(project, f, "coco")
    assert counts(project)["images"] == 0


def test_not_coco_and_panoptic(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no 'images' list"):
        read(write_json(tmp_path / "x.json", {"annotations": []}), "coco")
    pan = _coco(annotations=[{"image_id": 1, "file_name": "a.png", "segments_info": []}])
    with pytest.raises(BadInputError, match="coco_panoptic"):
        read(write_json(tmp_path / "p.json", pan), "coco")


def test_duplicate_image_and_category_ids(tmp_path: Path) -> None:
    d = _coco(
        images=[{"id": 1, "file_name": "a.jpg"}, {"id": 1, "file_name": "b.jpg"}],
        categories=[{"id": 1, "name": "cat"}, {"id": 1, "name": "dog"}],
    )
    ds, report = read(write_json(tmp_path / "c.json", d), "coco")
    problems = [(e.where, e.problem) for e in report.errors]
    assert ("image id 1", "duplicate image id 1") in problems
    assert ("category id 1", "duplicate category id 1") in problems
    assert [im.path for im in ds.images] == ["a.jpg"]


def test_images_found_in_standard_layout(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tiny_jpeg(tmp_path / "images" / "val2017" / "a.jpg", 64, 48)
    f = write_json(tmp_path / "annotations" / "instances_val2017.json", _coco())
    s = load(project, f, "coco")
    assert s.images_added == 1 and s.images_missing == 0
    im = project.images.get(1)
    assert im.path == "images/val2017/a.jpg" and im.split == "val2017" and im.width == 64


def test_polygon_multi_part_and_flat(tmp_path: Path) -> None:
    ann = [
        {
            "id": 1,
            "image_id": 1,
            "category_id": 1,
            "segmentation": [[0, 0, 10, 0, 10, 10], [20, 20, 30, 20, 30, 30]],
        },
        {"id": 2, "image_id": 1, "category_id": 1, "segmentation": [0, 0, 5, 0, 5, 5]},
    ]
    ds, _report = read(write_json(tmp_path / "c.json", _coco(annotations=ann)), "coco")
    g = [o.geometry for o in ds.images[0].objects]
    assert isinstance(g[0], Polygon) and len(g[0].rings) == 2
    assert isinstance(g[1], Polygon) and g[1].rings == ((0, 0, 5, 0, 5, 5),)


def test_streamed_file_order_and_errors(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Official COCO order: images, annotations, then categories (resolved at the end).
    f = tmp_path / "c.json"
    f.write_text(
        '{"images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}],\n'
        ' "annotations": [\n  {"id": 1, "image_id": 1, "category_id": 2, "bbox": [1, 2, 3, 4]},\n'
        '  {"id": 2, "image_id": 1, "category_id": 9, "bbox": [1, 2, 3, 4]}\n ],\n'
        ' "categories": [{"id": 2, "name": "dog"}]}\n'
    )
    ds, report = read(f, "coco")
    assert [o.label for o in ds.images[0].objects] == ["dog"]
    assert [(e.where, e.problem) for e in report.errors] == [
        ("annotation id 2", "annotation points at category id 9, which is not in 'categories'")
    ]
    # Annotations before images: read whole, same result.
    f.write_text(
        '{"annotations": [{"id": 1, "image_id": 1, "category_id": 2, "bbox": [1, 2, 3, 4]}],'
        ' "images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 2, "name": "dog"}]}'
    )
    ds, report = read(f, "coco")
    assert [o.label for o in ds.images[0].objects] == ["dog"] and not report.errors
    # A broken element in the middle of the annotations names its line; extra data too.
    f.write_text('{"images": [],\n "annotations": [\n {"id": 1},\n {"id": 2,,}\n]}')
    with pytest.raises(
        BadInputError, match=r"c.json:line 4 column 11: malformed JSON: Expecting property name"
    ):
        read(f, "coco")
    f.write_text('{"images": [], "annotations": []} trailing')
    with pytest.raises(BadInputError, match="extra data"):
        read(f, "coco")
    f.write_text('{"images": [], "annotations": [] "categories": []}')
    with pytest.raises(BadInputError, match="expecting ',' or '}'"):
        read(f, "coco")


def test_source_text_of_rings_is_kept_only_when_it_matches(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "c.json"
    f.write_text(
        '{"images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}], "annotations": [\n'
        ' {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 10.5, 0, 10, 1e1]]},\n'
        # A second "segmentation" key inside the attributes must not be mistaken for the shape.
        ' {"id": 2, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 20, 0, 20, 20]],'
        '  "attributes": {"segmentation": [[1, 1, 2, 2, 3, 3]]}}],\n'
        ' "categories": [{"id": 1, "name": "cat"}]}'
    )
    ds, _ = read(f, "coco")
    a, b = (o.geometry for o in ds.images[0].objects)
    assert a.rings == ((0, 0, 10.5, 0, 10, 10.0),) and a.rings_json == "[[0,0,10.5,0,10,1e1]]"
    assert b.rings == ((0, 0, 20, 0, 20, 20),) and b.rings_json == "[[0, 0, 20, 0, 20, 20]]"
    from lightable.formats.project_io import import_dataset

    import_dataset(project, ds)
    stored = [x.geometry for x in project.annotations.for_image(1)]
    assert stored == [Polygon(((0, 0, 10.5, 0, 10, 10),)), Polygon(((0, 0, 20, 0, 20, 20),))]
