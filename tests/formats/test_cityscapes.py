"""Cityscapes gtFine: instanceIds (8- and 16-bit), labelIds, labelTrainIds, polygons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

from lightable.core.errors import BadInputError
from lightable.core.geometry import Mask, Polygon
from lightable.formats import cityscapes
from lightable.formats.model import Report
from lightable.imaging import masks as mask_ops

CITY = "defaultcity"


def test_8bit_instance_ids(fixtures_dir: Path) -> None:
    report = Report()
    ds = cityscapes.read(fixtures_dir / "cityscapes/datumaro-cityscapes", report)
    # 4 instanceIds PNGs holding plain class ids: {3, 27}, {3, 12, 31}, {3, 24}, {1, 3}
    # -> 2 + 3 + 2 + 2 = 9 masks; classes out of roi, truck, wall, train, person, ego vehicle.
    assert (len(ds.images), ds.object_count(), len(ds.labels)) == (4, 9, 6)
    assert not report.issues
    assert sorted({im.split for im in ds.images}) == ["test", "train", "val"]
    im = {i.source_id: i for i in ds.images}[f"{CITY}_000001_000031"]
    assert im.path == f"leftImg8bit/test/{CITY}/{CITY}_000001_000031_leftImg8bit.png"
    assert (im.width, im.height) == (5, 1)
    truck = im.objects[1]
    # A class region of a class with instances (no instance id) is a crowd.
    assert truck.label == "truck" and truck.iscrowd and isinstance(truck.geometry, Mask)
    assert mask_ops.decode(truck.geometry).tolist() == [[0, 0, 1, 1, 1]]
    assert {lb.name: lb.color for lb in ds.labels}["truck"] == "#000046"


def test_16bit_instance_ids_preferred_over_train_ids(fixtures_dir: Path) -> None:
    ds = cityscapes.read(fixtures_dir / "cityscapes/datumaro-cityscapes_train_ids", Report())
    # instanceIds: {3, 27001, 27002}, {3, 12, 31001}, {3, 24001}, {3, 1024} -> 3+3+2+2 = 10.
    assert (len(ds.images), ds.object_count(), len(ds.labels)) == (4, 10, 6)
    im = {i.source_id: i for i in ds.images}[f"{CITY}_000001_000031"]
    assert [(o.label, o.attributes, o.iscrowd) for o in im.objects] == [
        ("out of roi", {}, False), ("truck", {"instance": 1}, False), ("truck", {"instance": 2}, False),
    ]  # fmt: skip


def _png(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(arr).save(path)


def test_train_ids_and_label_ids(tmp_path: Path) -> None:
    gt = tmp_path / "gtFine/train/x"
    _png(gt / "x_1_1_gtFine_labelTrainIds.png", np.array([[0, 0, 13, 255, 19]], np.uint8))
    _png(gt / "x_1_2_gtFine_labelIds.png", np.array([[0, 7, 7, 26, 40]], np.uint8))
    report = Report()
    ds = cityscapes.read(tmp_path, report)
    a, b = ds.images
    assert [o.label for o in a.objects] == ["road", "car"]  # 255 and 19 are "ignore"
    assert [o.label for o in b.objects] == ["road", "car", "class 40"]  # 0 (unlabeled) skipped
    problems = [w.problem for w in report.warnings]
    assert "class id 40 is not in the Cityscapes table; kept as 'class 40'" in problems
    assert sum(p.endswith("_leftImg8bit.png not found") for p in problems) == 2  # no images here


def test_polygons_json_wins(tmp_path: Path) -> None:
    gt = tmp_path / "gtFine/val/x"
    _png(gt / "x_1_1_gtFine_instanceIds.png", np.array([[26001]], np.uint16))
    doc: dict[str, Any] = {
        "imgHeight": 10,
        "imgWidth": 20,
        "objects": [
            {"label": "car", "polygon": [[1, 1], [5, 1], [5, 5]]},
            {"label": "cargroup", "polygon": [[6, 1], [9, 1], [9, 5]]},
            {"label": "sky", "polygon": [[1, 1], [2]]},
        ],
    }
    (gt / "x_1_1_gtFine_polygons.json").write_text(json.dumps(doc))
    _png(tmp_path / "leftImg8bit/val/x/x_1_1_leftImg8bit.png", np.zeros((10, 20, 3), np.uint8))
    report = Report()
    ds = cityscapes.read(tmp_path / "gtFine", report)
    (im,) = ds.images
    assert (im.path, im.width, im.height) == ("leftImg8bit/val/x/x_1_1_leftImg8bit.png", 20, 10)
    assert [(o.label, o.iscrowd, type(o.geometry)) for o in im.objects] == [
        ("car", False, Polygon),
        ("car", True, Polygon),
    ]
    assert report.errors[0].where == "objects[2]"


def test_not_cityscapes(tmp_path: Path, fixtures_dir: Path) -> None:
    with pytest.raises(BadInputError, match="gtFine"):
        cityscapes.read(tmp_path, Report())
    assert cityscapes.detect(tmp_path) == 0.0
    assert cityscapes.detect(fixtures_dir / "cityscapes/datumaro-cityscapes") > 0.9


def test_import_into_project(project: Any, fixtures_dir: Path) -> None:
    from lightable.formats.project_io import import_dataset

    ds = cityscapes.read(fixtures_dir / "cityscapes/datumaro-cityscapes_train_ids", Report())
    summary = import_dataset(project, ds)
    assert (summary.images_added, summary.annotations, summary.labels_created) == (4, 10, 6)
