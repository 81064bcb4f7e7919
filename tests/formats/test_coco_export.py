"""COCO writer: the export loads in pycocotools and evaluates against itself with AP 1.0;
a model run exports as a results file that pycocotools scores against the ground truth."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from lightable.formats.project_io import ExportOptions, export_dataset, plan_export
from tests.formats.conftest import load, read


def _eval(gt_file: Path, dets: list[dict], iou: str) -> float:  # type: ignore[type-arg]
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_file))
        dt = gt.loadRes(dets)
        ev = COCOeval(gt, dt, iou)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0])


def _self_dets(gt_file: Path, kind: str) -> list[dict]:  # type: ignore[type-arg]
    """The ground truth as detections with score 1 (masks as RLE: ``loadRes`` needs it)."""
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_file))
    out = []
    for a in gt.dataset["annotations"]:
        if a.get("iscrowd") or (kind == "keypoints" and not a.get("num_keypoints")):
            continue  # COCOeval ignores persons without keypoints: a detection there is an FP
        d = {"image_id": a["image_id"], "category_id": a["category_id"], "score": 1.0}
        if kind == "segm":
            rle = gt.annToRLE(a)
            d["segmentation"] = {"size": rle["size"], "counts": rle["counts"].decode("ascii")}
        elif kind == "keypoints":
            d["keypoints"] = a["keypoints"]
        else:
            d["bbox"] = a["bbox"]
        out.append(d)
    return out


@pytest.mark.parametrize(
    "rel",
    [
        "coco_instances/labelme-instance_segmentation-coco/annotations.json",
        "coco_instances/datumaro-coco_instances",
        "coco_keypoints/mmpose-coco/test_coco.json",
    ],
)
def test_export_evaluates_to_ap_1(project, fx: Path, tmp_path: Path, rel: str) -> None:  # type: ignore[no-untyped-def]
    load(project, fx / rel, "coco")
    out = tmp_path / "out"
    report = export_dataset(project, "coco", out, ExportOptions(split_files=False))
    assert not report.errors
    gt_file = out / "annotations" / "instances_default.json"
    assert _eval(gt_file, _self_dets(gt_file, "bbox"), "bbox") == pytest.approx(1.0)
    if "datumaro" not in rel:  # (its only non-crowd shape with a mask is one polygon)
        assert _eval(gt_file, _self_dets(gt_file, "segm"), "segm") == pytest.approx(1.0)
    if "mmpose" in rel:
        assert _eval(gt_file, _self_dets(gt_file, "keypoints"), "keypoints") == pytest.approx(1.0)


def test_export_keeps_what_the_file_held(project, fx: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = fx / "coco_keypoints/mmpose-coco/test_coco.json"
    load(project, src, "coco")
    out = tmp_path / "out"
    export_dataset(project, "coco", out, ExportOptions())
    orig = json.loads(src.read_text())
    new = json.loads((out / "annotations" / "instances_default.json").read_text())
    assert len(new["images"]) == len(orig["images"]) == 4
    assert len(new["annotations"]) == len(orig["annotations"]) == 14
    (cat,) = new["categories"]
    assert cat["id"] == 1 and cat["name"] == "person"
    assert cat["keypoints"] == orig["categories"][0]["keypoints"]
    assert cat["skeleton"] == orig["categories"][0]["skeleton"]  # 1-based again
    by_kp = {tuple(a["segmentation"][0][:6]): a for a in orig["annotations"]}
    for a in new["annotations"]:
        o = by_kp[tuple(a["segmentation"][0][:6])]
        assert a["segmentation"] == o["segmentation"]
        assert a["num_keypoints"] == o["num_keypoints"]
        np.testing.assert_allclose(a["bbox"], _poly_bbox(o["segmentation"]), atol=1e-9)


def _poly_bbox(seg: list[list[float]]) -> list[float]:
    xs = [v for r in seg for v in r[0::2]]
    ys = [v for r in seg for v in r[1::2]]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def test_roundtrip_through_export_is_exact(project, fx: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.formats.conftest import assert_geom_close

    for rel in (
        "coco_instances/datumaro-coco_instances",
        "coco_keypoints/cvat-datumaro-coco_person_keypoints",
    ):
        before, _ = read(fx / rel, "coco")
        from lightable.store.project import Project

        p = Project.create(tmp_path / rel.replace("/", "_"))
        load(p, fx / rel, "coco")
        out = tmp_path / (rel.replace("/", "_") + "_out")
        export_dataset(p, "coco", out, ExportOptions())
        after, report = read(out, "coco")
        assert not report.errors
        assert sorted(im.split or "" for im in after.images) == sorted(
            im.split or "" for im in before.images
        )
        a_objs = sorted(
            (o.label, str(o.geometry.kind), repr(o.geometry.bbox()))
            for im in after.images
            for o in im.objects
        )
        b_objs = sorted(
            (o.label, str(o.geometry.kind), repr(o.geometry.bbox()))
            for im in before.images
            for o in im.objects
        )
        assert a_objs == b_objs
        for ia, ib in zip(
            sorted(after.images, key=lambda i: i.split or ""),
            sorted(before.images, key=lambda i: i.split or ""),
            strict=True,
        ):
            for oa, ob in zip(ia.objects, ib.objects, strict=True):
                assert_geom_close(ob.geometry, oa.geometry, where=rel)
                assert (oa.iscrowd, oa.attributes) == (ob.iscrowd, ob.attributes)
        assert {lb.name: lb.source_id for lb in after.labels} == {
            lb.name: lb.source_id for lb in before.labels
        }
        p.close()


def test_model_run_exports_as_results(project, fx: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    gt = fx / "coco_keypoints/mmpose-coco/test_coco.json"
    res = fx / "coco_results/mmpose-coco_det_results/test_coco_det_AP_H_56.json"
    load(project, gt, "coco")
    s = load(project, res, "coco")
    out = tmp_path / "res"
    export_dataset(project, "coco", out, ExportOptions(run_id=s.run_id, threshold=0.5))
    dets = json.loads((out / "annotations" / "results_default.json").read_text())
    orig = json.loads(res.read_text())
    assert len(dets) == sum(1 for d in orig if d["score"] >= 0.5)
    assert sorted(d["score"] for d in dets) == sorted(d["score"] for d in orig if d["score"] >= 0.5)
    # The exported ids (project ids) line up with an export of the ground truth.
    export_dataset(project, "coco", tmp_path / "gt", ExportOptions())
    ap = _eval(tmp_path / "gt" / "annotations" / "instances_default.json", dets, "bbox")
    assert 0.0 < ap <= 1.0


def test_plan_lists_what_coco_cannot_hold(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from lightable.core.geometry import Tag
    from lightable.formats.model import Dataset, DatasetImage, DatasetLabel, DatasetObject
    from lightable.formats.project_io import import_dataset

    ds = Dataset(
        format="test",
        root=str(tmp_path),
        labels=[DatasetLabel("indoor")],
        images=[DatasetImage("a.jpg", 10, 10, objects=[DatasetObject("indoor", Tag())])],
    )
    import_dataset(project, ds)
    report = plan_export(project, "coco")
    assert any("1 image-level tags cannot be held by COCO" in w.problem for w in report.warnings)
