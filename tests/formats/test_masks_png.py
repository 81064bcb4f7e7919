"""PNG mask export: semantic class maps, instance id maps, what cannot be painted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

from lightable.core.errors import LightableError
from lightable.core.geometry import Box, Keypoints, Polygon, Tag
from lightable.formats import labelme, masks_png
from lightable.formats.model import (
    Dataset,
    DatasetImage,
    DatasetLabel,
    DatasetObject,
    ExportOptions,
    Report,
)
from lightable.imaging import masks as mask_ops


def _dataset() -> Dataset:
    m = np.zeros((10, 20), bool)
    m[0:4, 0:4] = True
    objs = [
        DatasetObject("road", Polygon.from_points([(0, 5), (20, 5), (20, 10), (0, 10)])),
        DatasetObject("car", mask_ops.encode(m)),
        DatasetObject("car", Polygon.from_points([(10, 0), (14, 0), (14, 4), (10, 4)]), group=7),
        DatasetObject("car", Polygon.from_points([(16, 0), (18, 0), (18, 2), (16, 2)]), group=7),
        DatasetObject("car", Box(1, 1, 2, 2)),
        DatasetObject("car", Keypoints(((1, 1, 2),))),
        DatasetObject("sunny", Tag()),
    ]
    return Dataset(
        images=[DatasetImage("sub/a.jpg", 20, 10, objects=objs), DatasetImage("b.jpg", 6, 3)],
        labels=[
            DatasetLabel("car", color="#ff0000"),
            DatasetLabel("road", color="#00ff00"),
            DatasetLabel("sunny"),
        ],
    )


def _write(ds: Dataset, out: Path, mode: str) -> Report:
    report = Report()
    masks_png.plan(ds, report, ExportOptions(extra={"mask_mode": mode}))
    masks_png.write(ds, out, report, ExportOptions(extra={"mask_mode": mode}))
    return report


def test_semantic(tmp_path: Path) -> None:
    report = _write(_dataset(), tmp_path, "semantic")
    assert (tmp_path / "labels.txt").read_text().splitlines() == [
        "_background_",
        "car",
        "road",
        "sunny",
    ]
    with PILImage.open(tmp_path / "semantic/sub/a.png") as im:
        assert im.mode == "P" and im.size == (20, 10)
        arr = np.asarray(im)
        pal = im.getpalette()
    assert pal is not None and pal[3:9] == [255, 0, 0, 0, 255, 0]  # class 1 red, class 2 green
    assert arr[7, 3] == 2  # road
    assert arr[1, 1] == 1 and arr[1, 11] == 1 and arr[1, 16] == 1  # cars
    assert arr[4, 15] == 0  # background
    assert set(np.unique(arr).tolist()) == {0, 1, 2}
    with PILImage.open(tmp_path / "semantic/b.png") as im:  # no objects: all background
        assert np.asarray(im).max() == 0 and im.size == (6, 3)
    problems = sorted(w.problem for w in report.warnings)
    assert problems == [
        "1 box objects have no pixels in PNG masks; left out",
        "1 keypoints objects have no pixels in PNG masks; left out",
        "1 tag objects have no pixels in PNG masks; left out",
    ]
    assert not (tmp_path / "instance").exists()


def test_instance(tmp_path: Path) -> None:
    _write(_dataset(), tmp_path, "instance")
    with PILImage.open(tmp_path / "instance/sub/a.png") as im:
        arr = np.asarray(im)
    assert arr.dtype == np.uint16 or arr.dtype == np.int32
    # road = 1, the mask car = 2, the two parts of group 7 share id 3.
    assert (arr[7, 3], arr[1, 1], arr[1, 11], arr[1, 16]) == (1, 2, 3, 3)
    doc = json.loads((tmp_path / "instances.json").read_text())
    assert doc["labels"] == ["_background_", "car", "road", "sunny"]
    assert doc["images"]["sub/a.jpg"]["mask"] == "instance/sub/a.png"
    assert doc["images"]["sub/a.jpg"]["instances"] == {
        "1": {"label": "road", "class": 2},
        "2": {"label": "car", "class": 1},
        "3": {"label": "car", "class": 1},
    }


def test_later_objects_and_z_order_paint_on_top(tmp_path: Path) -> None:
    full = Polygon.from_points([(0, 0), (4, 0), (4, 4), (0, 4)])
    objs = [
        DatasetObject("top", full, {"z_order": 2}),
        DatasetObject("a", full),
        DatasetObject("b", full),
    ]
    ds = Dataset(
        images=[DatasetImage("x.png", 4, 4, objects=objs)],
        labels=[DatasetLabel(n) for n in ("top", "a", "b")],
    )
    _write(ds, tmp_path, "both")
    with PILImage.open(tmp_path / "semantic/x.png") as im:
        assert np.asarray(im)[1, 1] == 1  # z_order 2 beats the later objects
    with PILImage.open(tmp_path / "instance/x.png") as im:
        assert np.asarray(im)[1, 1] == 3  # painted last: instance ids follow painting order


def test_many_classes_make_16_bit_semantic(tmp_path: Path) -> None:
    labels = [DatasetLabel(f"c{k}") for k in range(300)]
    obj = DatasetObject("c299", Polygon.from_points([(0, 0), (3, 0), (3, 3)]))
    ds = Dataset(images=[DatasetImage("x.png", 4, 4, objects=[obj])], labels=labels)
    report = _write(ds, tmp_path, "semantic")
    with PILImage.open(tmp_path / "semantic/x.png") as im:
        assert im.mode.startswith("I") and int(np.asarray(im).max()) == 300
    assert "16-bit" in report.warnings[0].problem


def test_unknown_size_and_bad_mode(tmp_path: Path) -> None:
    ds = Dataset(
        images=[
            DatasetImage(
                "x.png", objects=[DatasetObject("a", Polygon.from_points([(0, 0), (1, 0), (1, 1)]))]
            )
        ]
    )
    report = _write(ds, tmp_path / "o", "semantic")
    assert "size unknown" in report.errors[0].problem
    with pytest.raises(LightableError, match="mask_mode"):
        masks_png.write(ds, tmp_path / "p", Report(), ExportOptions(extra={"mask_mode": "rainbow"}))


def test_labelme_groups_become_one_instance(fixtures_dir: Path, tmp_path: Path) -> None:
    ds = labelme.read(fixtures_dir / "labelme/labelme-instance_segmentation-annotated", Report())
    _write(ds, tmp_path, "instance")
    doc = json.loads((tmp_path / "instances.json").read_text())
    # 2011_000003: 5 polygons, two of them one person (group_id 0) -> 4 instances.
    inst = doc["images"]["data_annotated/2011_000003.jpg"]["instances"]
    assert [v["label"] for v in inst.values()] == ["person", "person", "bottle", "__ignore__"]
    with PILImage.open(tmp_path / "instance/data_annotated/2011_000003.png") as im:
        assert im.size == (500, 338) and set(np.unique(np.asarray(im)).tolist()) == {0, 1, 2, 3, 4}


def test_export_from_project(project: Any, fixtures_dir: Path, tmp_path: Path) -> None:
    from lightable.formats.model import MediaMode
    from lightable.formats.project_io import export_dataset, import_path

    import_path(
        project, fixtures_dir / "labelme/labelme-instance_segmentation-annotated", "labelme"
    )
    out = tmp_path / "masks"
    export_dataset(
        project, "masks_png", out, ExportOptions(media=MediaMode.COPY, extra={"mask_mode": "both"})
    )
    pngs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert len(pngs) == 6 and all(p.startswith(("semantic/", "instance/")) for p in pngs)
    assert len(list((out / "images").rglob("*.jpg"))) == 3  # the images were copied alongside
