"""COCO panoptic: segments_info + RGB-encoded segment id PNGs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

from lightable.core.errors import BadInputError
from lightable.core.geometry import Mask
from lightable.formats import coco_panoptic
from lightable.formats.model import Report
from lightable.imaging import masks as mask_ops

SAMPLE = "coco_panoptic/panopticapi-panoptic_examples"


def test_fixture(fixtures_dir: Path) -> None:
    report = Report()
    ds = coco_panoptic.read(fixtures_dir / SAMPLE, report)
    # panoptic_examples.json: 2 images, 18 + 32 = 50 segments, 133 categories (80 things + 53 stuff).
    assert (len(ds.images), ds.object_count(), len(ds.labels)) == (2, 50, 133)
    assert not report.issues
    im = ds.images[0]
    assert (im.path, im.width, im.height) == ("input_images/000000142238.jpg", 640, 427)
    doc = json.loads((fixtures_dir / SAMPLE / "panoptic_examples.json").read_text())
    for ann in doc["annotations"]:
        img = next(i for i in ds.images if i.source_id == ann["image_id"])
        for seg, obj in zip(ann["segments_info"], img.objects, strict=True):
            # The decoded pixels agree with what the file says about each segment.
            assert isinstance(obj.geometry, Mask)
            assert obj.geometry.area() == seg["area"]
            assert obj.geometry.bbox() == tuple(float(v) for v in seg["bbox"])
            assert obj.source_id == seg["id"] and obj.iscrowd == bool(seg["iscrowd"])
    person = {lb.name: lb for lb in ds.labels}["person"]
    assert (person.color, person.source_id, person.supercategory) == ("#dc143c", 1, "person")
    assert coco_panoptic.detect(fixtures_dir / SAMPLE) > 0.95


def _make(tmp_path: Path, segments: list[dict[str, Any]], ids: np.ndarray) -> Path:
    rgb = np.stack([ids % 256, (ids // 256) % 256, ids // 65536], axis=-1).astype(np.uint8)
    (tmp_path / "pan").mkdir(parents=True)
    PILImage.fromarray(rgb).save(tmp_path / "pan/a.png")
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": ids.shape[1], "height": ids.shape[0]}],
        "annotations": [{"image_id": 1, "file_name": "a.png", "segments_info": segments}],
        "categories": [{"id": 1, "name": "thing", "isthing": 1, "color": [1, 2, 3]}],
    }
    p = tmp_path / "pan.json"
    p.write_text(json.dumps(doc))
    return p


def test_encoding_and_problems(tmp_path: Path) -> None:
    ids = np.array([[0, 70000, 70000], [5, 5, 9]])
    segs = [
        {"id": 70000, "category_id": 1},  # needs all three channels: 70000 = 112 + 17*256 + 1*65536
        {"id": 5, "category_id": 1, "iscrowd": 1},
        {"id": 6, "category_id": 1},  # no pixels
        {"id": 9, "category_id": 99},  # unknown category
    ]
    report = Report()
    ds = coco_panoptic.read(_make(tmp_path, segs, ids), report)
    a, b = ds.images[0].objects
    assert mask_ops.decode(a.geometry).tolist() == [[0, 1, 1], [0, 0, 0]] and a.attributes == {
        "thing": True
    }
    assert b.iscrowd
    problems = [e.problem for e in report.errors]
    assert problems == ["segment id 6 has no pixels in pan/a.png", "unknown category id 99"]
    assert report.errors[0].where == "annotations[0].segments_info[2]"


def test_missing_png(tmp_path: Path) -> None:
    p = _make(tmp_path, [], np.zeros((2, 2), int))
    shutil.rmtree(tmp_path / "pan")
    report = Report()
    ds = coco_panoptic.read(p, report)
    assert ds.object_count() == 0 and "not found" in report.errors[0].problem


def test_not_panoptic(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"images": []}')
    with pytest.raises(BadInputError):
        coco_panoptic.read(tmp_path, Report())
    assert coco_panoptic.detect(tmp_path) == 0.0


def test_auto_detect_and_import(project: Any, fixtures_dir: Path) -> None:
    from lightable.formats.project_io import import_path

    summary = import_path(project, fixtures_dir / SAMPLE, "auto")
    assert summary.format == "coco_panoptic"
    assert (summary.images_added, summary.annotations, summary.labels_created) == (2, 50, 133)
