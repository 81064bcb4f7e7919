"""Real torchvision models (random weights, no network) through the whole pre-label job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from lightable.cli import main
from lightable.core.geometry import Box, Keypoints, Mask, Tag
from lightable.core.model import Label
from lightable.jobs.base import JobState
from lightable.jobs.prelabel import prelabel
from lightable.ml.registry import ModelSpec, load_model
from lightable.store.predictions import PredictionRepo
from lightable.store.scores import ScoreRepo

from .conftest import add_images

SMALL = [(64, 48), (48, 64), (80, 60)]
# Small inputs and few detections keep the R-CNNs fast on 2 CPU cores; a score
# threshold of 0 makes random weights produce detections.
RCNN = {"min_size": 64, "max_size": 96, "box_score_thresh": 0.0, "box_detections_per_img": 4,
        "rpn_pre_nms_top_n_test": 50, "rpn_post_nms_top_n_test": 20}  # fmt: skip


def _run(project, tmp_path: Path, name: str, options: dict, **kw):
    ids = add_images(project, tmp_path / "img", SMALL, broken=1)
    s = prelabel(project, ModelSpec(name, "random", options), device="cpu", batch_size=2,
                 threshold=0.0, **kw)  # fmt: skip
    return ids, s


def _check_run(project, ids, s, kind, per_image=None):
    assert s.status == "done" and s.images == 3 and s.failed == 1 and s.device == "cpu"
    repo = PredictionRepo(project)
    run = repo.get_run(s.run_id)
    assert run.status == "done" and run.images_done == 4 and run.finished_at is not None
    assert run.params["spec"]["weights"] == "random" and run.timings["images_per_s"] > 0
    total = 0
    for image_id, (w, h) in zip(ids[:3], SMALL, strict=True):
        preds = repo.for_image(image_id, s.run_id)
        if per_image is not None:
            assert len(preds) == per_image
        assert preds, "random weights at threshold 0 still predict"
        for p in preds:
            assert isinstance(p.geometry, kind)
            assert 0.0 <= p.score <= 1.0 and p.class_name
            x, y, bw, bh = p.geometry.bbox() if kind is not Keypoints else p.attributes["box"]
            assert x >= -1e-3 and x + bw <= w + 1e-3 and y + bh <= h + 1e-3
        total += len(preds)
        assert ScoreRepo(project).get(s.run_id, image_id).uncertainty is not None
    assert total == s.predictions == repo.count(s.run_id)
    bad = ScoreRepo(project).get(s.run_id, ids[3])
    assert bad.uncertainty is None and "broken_0.png" in bad.details["error"]
    return repo


def test_ssdlite_detector(project, tmp_path: Path, torch_threads) -> None:
    ids, s = _run(project, tmp_path, "ssdlite320_mobilenet_v3_large", {"detections_per_img": 5})
    _check_run(project, ids, s, Box, per_image=5)


def test_maskrcnn_instance_masks(project, tmp_path: Path, torch_threads) -> None:
    ids, s = _run(project, tmp_path, "maskrcnn_resnet50_fpn", RCNN)
    repo = _check_run(project, ids, s, Mask)
    p = repo.for_image(ids[0], s.run_id)[0]
    assert (p.geometry.height, p.geometry.width) == (48, 64) and len(p.attributes["box"]) == 4


def test_keypointrcnn(project, tmp_path: Path, torch_threads) -> None:
    ids, s = _run(project, tmp_path, "keypointrcnn_resnet50_fpn", RCNN)
    repo = _check_run(project, ids, s, Keypoints)
    p = repo.for_image(ids[0], s.run_id)[0]
    assert len(p.geometry.points) == 17 and p.attributes["keypoint_names"][0] == "nose"


def test_lraspp_semantic_masks(project, tmp_path: Path, torch_threads) -> None:
    ids, s = _run(project, tmp_path, "lraspp_mobilenet_v3_large", {})
    repo = _check_run(project, ids, s, Mask)
    for image_id, (w, h) in zip(ids[:3], SMALL, strict=True):
        preds = repo.for_image(image_id, s.run_id)
        # one mask per class present; together they tile the image (background excluded)
        assert len({p.class_name for p in preds}) == len(preds)
        assert all((p.geometry.height, p.geometry.width) == (h, w) for p in preds)
        assert sum(p.geometry.area() for p in preds) <= w * h


def test_resnet18_classifier_cancel_and_resume(project, tmp_path: Path, torch_threads) -> None:
    ids = add_images(project, tmp_path / "img", [(40, 30)] * 6)
    model = load_model(ModelSpec("resnet18", "random"), torch.device("cpu"))

    def stop_early(p) -> None:
        if p.done >= 2:
            state.cancel()

    state = JobState(stop_early, interval=0)
    first = prelabel(project, "resnet18", state=state, batch_size=1, top_k=3, model=model)
    assert first.status == "cancelled" and 2 <= first.images < 6
    repo = PredictionRepo(project)
    assert repo.get_run(first.run_id).status == "cancelled"
    rest = prelabel(project, None, resume_run_id=first.run_id, batch_size=2, model=model)
    assert rest.status == "done" and rest.skipped == first.images
    assert first.images + rest.images == 6
    assert repo.done_image_ids(first.run_id) == set(ids)
    for i in ids:
        preds = repo.for_image(i, first.run_id)
        assert len(preds) == 3 and all(isinstance(p.geometry, Tag) for p in preds)
        assert [p.attributes["rank"] for p in preds] == [1, 2, 3]
    assert repo.get_run(first.run_id).images_done == 6
    again = prelabel(project, None, resume_run_id=first.run_id, model=model)
    assert again.images == 0 and again.skipped == 6


def test_mapping_labels_and_create_policy(project, tmp_path: Path, torch_threads) -> None:
    ids = add_images(project, tmp_path / "img", [(40, 30)] * 2)
    model = load_model(ModelSpec("resnet18", "random"), torch.device("cpu"))
    s = prelabel(
        project, "resnet18", batch_size=2, top_k=2, model=model, unmatched="create", score=False
    )
    names = {p.class_name for i in ids for p in PredictionRepo(project).for_image(i, s.run_id)}
    labels = {lb.name: lb.id for lb in project.labels.all()}
    assert names <= set(labels)
    for i in ids:
        for p in PredictionRepo(project).for_image(i, s.run_id):
            assert p.label_id == labels[p.class_name]


def test_mistakenness_after_prelabel(project, tmp_path: Path, torch_threads) -> None:
    from lightable.core.model import Annotation

    ids = add_images(project, tmp_path / "img", [(40, 30)] * 2)
    model = load_model(ModelSpec("resnet18", "random"), torch.device("cpu"))
    lab = project.labels.add(Label("definitely not an imagenet class"))
    project.annotations.add(Annotation(ids[0], lab.id, Tag()))
    s = prelabel(project, "resnet18", batch_size=2, top_k=1, model=model, unmatched="keep")
    sc = ScoreRepo(project)
    labeled, unlabeled = sc.get(s.run_id, ids[0]), sc.get(s.run_id, ids[1])
    assert labeled.mistakenness is not None and labeled.mistakenness > 0
    assert labeled.details["objects"][0]["verdict"] == "class_confusion"
    assert unlabeled.mistakenness is None and unlabeled.uncertainty is not None
    assert sc.ranked(s.run_id, "mistakenness") == [ids[0]]
    assert sc.ranked(s.run_id)[0] == ids[1]  # unlabeled first


def test_cli_prelabel_json(project, tmp_path: Path, capsys, torch_threads) -> None:
    add_images(project, tmp_path / "img", [(40, 30)] * 3)
    folder = str(project.folder)
    project.close()
    rc = main(["prelabel", folder, "--model", "resnet18", "--weights", "random", "--device", "cpu",
               "--batch-size", "2", "--limit", "2", "--json"])  # fmt: skip
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["images"] == 2 and out["device"] == "cpu" and out["predictions"] == 10
    assert {"run_id", "images_per_s", "status", "timings"} <= set(out)
    rc = main(["prelabel", folder, "--model", "nope_net", "--json"])
    assert rc == 2 and "unknown model 'nope_net'" in capsys.readouterr().err
    rc = main(["prelabel", folder, "--model", "resnet18", "--device", "cuda"])
    if not torch.cuda.is_available():
        assert rc == 2 and "--device cpu" in capsys.readouterr().err


def test_bad_arguments(project) -> None:
    from lightable.core.errors import LightableError

    with pytest.raises(LightableError, match="threshold"):
        prelabel(project, ModelSpec("resnet18", "random"), threshold=2.0)
    with pytest.raises(LightableError, match="batch size"):
        prelabel(project, ModelSpec("resnet18", "random"), batch_size=0)


def test_score_command(project, tmp_path: Path, capsys, torch_threads) -> None:
    """``score`` lives in ml_cmds (registration in cli/__init__.py is the lead's)."""
    import argparse

    from lightable.cli import ml_cmds

    add_images(project, tmp_path / "img", [(40, 30)] * 2)
    model = load_model(ModelSpec("resnet18", "random"), torch.device("cpu"))
    s = prelabel(project, "resnet18", model=model, score=False)
    p = argparse.ArgumentParser()
    ml_cmds.add_arguments("score", p)
    args = p.parse_args([str(project.folder), "--run", str(s.run_id), "--json"])
    args.command = "score"
    assert ml_cmds.run(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["run_id"] == s.run_id and out["images"] == 2 and out["scored"] == 0
