"""Custom TorchScript / torch.export models: exact results in the store, hostile files refused."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage
from torch import Tensor

from lightable.core.errors import BadInputError
from lightable.core.geometry import Box, Mask, Tag
from lightable.core.model import Image, Label
from lightable.imaging.masks import decode
from lightable.jobs.prelabel import prelabel
from lightable.ml.custom import read_sidecar
from lightable.ml.registry import load_model
from lightable.ml.safe_load import _refusing_loads
from lightable.store.predictions import PredictionRepo
from lightable.store.scores import ScoreRepo

CPU = torch.device("cpu")
SIZES = [(40, 30), (64, 48), (50, 50)]  # (w, h)


class _Detector(torch.nn.Module):
    """Known outputs: a fixed box, a box over the top-left quarter of the input whose
    score shows the input is in [0, 1] (mean 0.2 + 0.4), and a low-score box."""

    def forward(self, images: list[Tensor]) -> list[dict[str, Tensor]]:
        out: list[dict[str, Tensor]] = []
        for im in images:
            h = float(im.shape[1])
            w = float(im.shape[2])
            boxes = torch.tensor(
                [[1.0, 2.0, 11.0, 22.0], [0.0, 0.0, w / 2, h / 2], [3.0, 3.0, 4.0, 4.0]]
            )
            scores = torch.stack([torch.tensor(0.9), im.mean() + 0.4, torch.tensor(0.1)])
            labels = torch.tensor([0, 1, 1])
            masks = torch.zeros(3, 1, int(h), int(w))
            masks[:, :, : int(h) // 2, : int(w) // 2] = 0.8
            out.append({"boxes": boxes, "scores": scores, "labels": labels, "masks": masks})
        return out


class _Classifier(torch.nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        # Normalised with mean 0.2 / std 0.5, a flat 0.2 image is all zeros.
        m = x.mean(dim=(1, 2, 3))
        return torch.stack([m * 10.0 + 0.5, torch.ones_like(m), torch.zeros_like(m)], dim=1)


def _flat_images(project, folder: Path) -> list[int]:
    folder.mkdir()
    rows = []
    for i, (w, h) in enumerate(SIZES):
        PILImage.fromarray(np.full((h, w, 3), 51, np.uint8)).save(folder / f"{i}.png")
        rows.append(Image(path=f"{i}.png", root_id=project.add_root(folder), width=w, height=h))
    project.images.insert_many(rows)
    return project.images.ordered_ids()


def _save(model: torch.nn.Module, path: Path, sidecar: dict) -> Path:
    torch.jit.script(model).save(str(path))
    path.with_suffix(".json").write_text(json.dumps(sidecar))
    return path


def test_scripted_detector_lands_in_store_exactly(project, tmp_path: Path, torch_threads) -> None:
    ids = _flat_images(project, tmp_path / "img")
    cat = project.labels.add(Label("Cat"))
    f = _save(_Detector(), tmp_path / "det.pt", {
        "task": "detection", "classes": ["cat", "dog"],
        "input": {"mean": [0, 0, 0], "std": [1, 1, 1], "size": [32, 32]},
    })  # fmt: skip
    s = prelabel(project, str(f), device="cpu", batch_size=2, threshold=0.3, unmatched="keep")
    assert (s.status, s.images, s.predictions, s.failed) == ("done", 3, 6, 0)
    repo = PredictionRepo(project)
    run = repo.get_run(s.run_id)
    assert run.task == "detection" and run.status == "done" and run.images_done == 3
    from lightable.ml.safe_load import sha256_file

    assert run.weights_sha256 == sha256_file(f)
    for image_id, (w, h) in zip(ids, SIZES, strict=True):
        preds = repo.for_image(image_id, s.run_id)
        assert [(p.class_name, p.label_id) for p in preds] == [("cat", cat.id), ("dog", None)]
        sx, sy = w / 32, h / 32
        assert preds[0].score == pytest.approx(0.9)
        assert preds[0].geometry == Box(1 * sx, 2 * sy, 10 * sx, 20 * sy)
        assert preds[1].score == pytest.approx(0.6, abs=1e-6)  # the input was 0.2, not 51
        assert preds[1].geometry == Box(0, 0, w / 2, h / 2)
        score = ScoreRepo(project).get(s.run_id, image_id)
        # scores 0.9, 0.6, 0.1: band [0.3, 0.7] holds 0.6 of two candidates
        assert score.details["n"] == 2 and score.details["n_band"] == 1
        assert score.uncertainty == pytest.approx(0.5 * (1 - np.exp(-0.970950594)), abs=1e-6)


def test_scripted_instance_masks(project, tmp_path: Path, torch_threads) -> None:
    ids = _flat_images(project, tmp_path / "img")
    f = _save(_Detector(), tmp_path / "seg.pt", {
        "task": "instance_segmentation", "classes": ["cat", "dog"],
        "input": {"mean": [0, 0, 0], "std": [1, 1, 1], "size": None},
    })  # fmt: skip
    s = prelabel(project, str(f), device="cpu", batch_size=3, threshold=0.3)
    assert s.predictions == 6
    for image_id, (w, h) in zip(ids, SIZES, strict=True):
        preds = PredictionRepo(project).for_image(image_id, s.run_id)
        for p in preds:
            assert isinstance(p.geometry, Mask) and (p.geometry.height, p.geometry.width) == (h, w)
            expect = np.zeros((h, w), np.uint8)
            expect[: h // 2, : w // 2] = 1
            np.testing.assert_array_equal(decode(p.geometry), expect)
        assert preds[1].attributes["box"] == [0.0, 0.0, w / 2, h / 2]


def test_scripted_classifier_topk_tags(project, tmp_path: Path, torch_threads) -> None:
    ids = _flat_images(project, tmp_path / "img")
    f = _save(_Classifier(), tmp_path / "cls.ts", {
        "task": "classification", "classes": ["a", "b", "c"],
        "input": {"mean": [0.2, 0.2, 0.2], "std": [0.5, 0.5, 0.5], "size": [8, 8]},
    })  # fmt: skip
    s = prelabel(project, str(f), device="cpu", batch_size=2, top_k=2)
    e = np.exp([0.5, 1.0, 0.0])
    p = e / e.sum()
    for image_id in ids:
        preds = PredictionRepo(project).for_image(image_id, s.run_id)
        assert [(x.class_name, type(x.geometry)) for x in preds] == [("b", Tag), ("a", Tag)]
        assert preds[0].score == pytest.approx(p[1], abs=1e-6)
        assert preds[1].score == pytest.approx(p[0], abs=1e-6)
        sc = ScoreRepo(project).get(s.run_id, image_id)
        assert sc.uncertainty == pytest.approx(1 - (p[1] - p[0]), abs=1e-5)


def test_exported_pt2_classifier(project, tmp_path: Path, torch_threads) -> None:
    from torch.export import Dim

    ids = _flat_images(project, tmp_path / "img")
    ep = torch.export.export(
        _Classifier(), (torch.rand(2, 3, 8, 8),), dynamic_shapes={"x": {0: Dim.AUTO}}
    )
    f = tmp_path / "cls.pt2"
    torch.export.save(ep, str(f))
    f.with_suffix(".json").write_text(json.dumps({
        "task": "classification", "classes": ["a", "b", "c"],
        "input": {"mean": [0.2], "std": [0.5], "size": [8, 8]},
    }))  # fmt: skip
    s = prelabel(project, str(f), device="cpu", batch_size=2, top_k=1)
    assert s.predictions == 3
    assert {p.class_name for i in ids for p in PredictionRepo(project).for_image(i, s.run_id)} == {
        "b"
    }


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/lightable_pwned_model",))


GOOD_SIDECAR = {
    "task": "detection",
    "classes": ["a"],
    "input": {"mean": [0, 0, 0], "std": [1, 1, 1], "size": None},
}


def test_hostile_model_files_are_refused(tmp_path: Path) -> None:
    marker = Path("/tmp/lightable_pwned_model")
    marker.unlink(missing_ok=True)
    side = json.dumps(GOOD_SIDECAR)
    cases = {
        "pickle.pt": pickle.dumps(_Evil()),
        "junk.pt2": b"PK\x03\x04 not really a zip",
        "text.pt": b"hello",
    }
    for name, data in cases.items():
        f = tmp_path / name
        f.write_bytes(data)
        f.with_suffix(".json").write_text(side)
        with pytest.raises(BadInputError) as e:
            load_model(str(f), CPU)
        assert name in str(e.value)
    saved = tmp_path / "module.pt"
    torch.save(_Evil(), saved)  # a torch.save pickle (zip) of an arbitrary object
    saved.with_suffix(".json").write_text(side)
    with pytest.raises(BadInputError, match="refused: this is a pickled Python object"):
        load_model(str(saved), CPU)
    whole = tmp_path / "whole.pt"
    torch.save(torch.nn.Linear(2, 2), whole)
    whole.with_suffix(".json").write_text(side)
    with pytest.raises(BadInputError, match="refused"):
        load_model(str(whole), CPU)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match=r"refused to load posix\.system"):
        _refusing_loads(pickle.dumps(_Evil()))


def test_missing_sidecar(tmp_path: Path) -> None:
    f = _save(_Classifier(), tmp_path / "m.pt", GOOD_SIDECAR)
    f.with_suffix(".json").unlink()
    with pytest.raises(BadInputError, match=r"m\.pt: no sidecar m\.json"):
        load_model(str(f), CPU)


@pytest.mark.parametrize(
    ("change", "where", "problem"),
    [
        ({"task": "segmentation"}, "task", "unknown task"),
        ({"classes": []}, "classes", "non-empty list"),
        ({"classes": ["a", ""]}, "classes[1]", "non-empty strings"),
        (
            {"input": {"mean": [0, 0], "std": [1, 1, 1], "size": None}},
            "input.mean",
            "1 or 3 numbers",
        ),
        ({"input": {"mean": [0, 0, 0], "std": [1, 0, 1], "size": None}}, "input.std", "> 0"),
        ({"input": {"mean": [0, 0, 0], "std": [1, 1, 1], "size": [0, 5]}}, "input.size", "null or"),
        ({"input": {"mean": [0, 0, 0], "std": [1, 1, 1]}}, "input.size", "missing required"),
        ({"input": {"mean": [0.5, 0, 0], "std": [1, 1, 1], "size": None}}, "input.mean", "[0, 1]"),
        ({"extra": 1}, None, "unknown key"),
    ],
)
def test_sidecar_validation(tmp_path: Path, change: dict, where: str | None, problem: str) -> None:
    f = tmp_path / "m.json"
    f.write_text(json.dumps({**GOOD_SIDECAR, **change}))
    with pytest.raises(BadInputError) as e:
        read_sidecar(f)
    assert e.value.path == str(f) and e.value.where == where and problem in e.value.problem


def test_sidecar_not_json(tmp_path: Path) -> None:
    f = tmp_path / "m.json"
    f.write_text('{"task": "detection",')
    with pytest.raises(BadInputError, match="not valid JSON"):
        read_sidecar(f)
