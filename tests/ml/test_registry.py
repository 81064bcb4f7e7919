"""torchvision models by name: tasks, class names, and where weights come from."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest
import torch

from lightable.core.errors import BadInputError, LightableError
from lightable.ml import torchvision_models as tvm_mod
from lightable.ml.registry import ModelSpec, load_model
from lightable.ml.safe_load import sha256_file
from lightable.ml.tasks import Task
from lightable.ml.torchvision_models import (
    CURATED,
    MissingWeightsError,
    load_torchvision,
    torchvision_task,
    weights_enum_entry,
)

CPU = torch.device("cpu")


@pytest.fixture
def hub(tmp_path: Path):
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    yield tmp_path / "hub" / "checkpoints"
    torch.hub.set_dir(old)


def test_curated_tasks_and_class_names() -> None:
    assert set(CURATED) >= {"fasterrcnn_resnet50_fpn_v2", "vit_b_16", "lraspp_mobilenet_v3_large"}
    for name, task in CURATED.items():
        assert torchvision_task(name) == task
        cats = weights_enum_entry(name).meta["categories"]
        assert len(cats) > 1, name
    assert torchvision_task("resnet18") == Task.CLASSIFICATION
    assert torchvision_task("maskrcnn_resnet50_fpn") == Task.INSTANCE_SEGMENTATION
    assert torchvision_task("no_such_net") is None
    with pytest.raises(LightableError, match="unknown model 'no_such_net'"):
        load_model("no_such_net", CPU)


def test_random_weights_need_no_network(torch_threads) -> None:
    m = load_model(ModelSpec("resnet18", "random"), CPU)
    assert m.task == Task.CLASSIFICATION and len(m.classes) == 1000
    assert m.classes[0] == "tench" and m.weights_sha256 is None
    assert m.input.crop == (224, 224) and m.input.mean is not None


def test_offline_without_weights_names_file_and_folder(hub: Path) -> None:
    with pytest.raises(MissingWeightsError) as e:
        load_torchvision("resnet18", CPU, allow_download=False)
    msg = str(e.value)
    assert "resnet18-f37072fd.pth" in msg and str(hub) in msg and "--weights" in msg
    os.environ["LIGHTABLE_OFFLINE"] = "1"
    try:
        with pytest.raises(MissingWeightsError, match="offline"):
            load_torchvision("resnet18", CPU)
    finally:
        del os.environ["LIGHTABLE_OFFLINE"]


def test_weights_from_hub_cache(hub: Path, monkeypatch, torch_threads) -> None:
    hub.mkdir(parents=True)
    monkeypatch.setattr(tvm_mod, "_download", lambda *a, **k: pytest.fail("must not download"))
    from torchvision.models import resnet18

    net = resnet18(weights=None)
    path = hub / "resnet18-f37072fd.pth"
    torch.save(net.state_dict(), path)
    # The file name carries the first hex digits of its checksum: ours do not match.
    with pytest.raises(BadInputError, match="corrupt or incomplete"):
        load_torchvision("resnet18", CPU, allow_download=False)
    monkeypatch.setattr(tvm_mod, "_check_hash_prefix", lambda p, s: None)
    m = load_torchvision("resnet18", CPU, allow_download=False)
    assert m.weights_source == str(path) and m.weights_sha256 == sha256_file(path)
    for a, b in zip(m.module.state_dict().values(), net.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_user_weights_file_with_own_classes(tmp_path: Path, torch_threads) -> None:
    from torchvision.models import resnet18

    net = resnet18(weights=None, num_classes=3)
    f = tmp_path / "finetuned.pth"
    torch.save({"epoch": 3, "model": {f"module.{k}": v for k, v in net.state_dict().items()}}, f)
    m = load_model(ModelSpec("resnet18", str(f)), CPU)
    assert m.classes == ["class_0", "class_1", "class_2"]
    assert torch.equal(m.module.fc.weight, net.fc.weight)
    (tmp_path / "finetuned.json").write_text(json.dumps({"classes": ["cat", "dog", "eel"]}))
    assert load_model(ModelSpec("resnet18", str(f)), CPU).classes == ["cat", "dog", "eel"]
    (tmp_path / "finetuned.json").write_text(json.dumps({"classes": ["cat"]}))
    with pytest.raises(BadInputError, match="1 classes listed but the weights have 3"):
        load_model(ModelSpec("resnet18", str(f)), CPU)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/lightable_pwned_weights",))


def test_hostile_and_broken_weights(tmp_path: Path) -> None:
    marker = Path("/tmp/lightable_pwned_weights")
    marker.unlink(missing_ok=True)
    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"fc.weight": _Evil()}))
    with pytest.raises(BadInputError, match="refused"):
        load_model(ModelSpec("resnet18", str(evil)), CPU)
    evil_zip = tmp_path / "evil_zip.pth"
    torch.save({"fc.weight": _Evil()}, evil_zip)
    with pytest.raises(BadInputError, match="refused"):
        load_model(ModelSpec("resnet18", str(evil_zip)), CPU)
    assert not marker.exists()
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(BadInputError, match=r"junk\.pth"):
        load_model(ModelSpec("resnet18", str(junk)), CPU)
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(BadInputError, match="empty"):
        load_model(ModelSpec("resnet18", str(empty)), CPU)
    with pytest.raises(BadInputError, match="not found"):
        load_model(ModelSpec("resnet18", str(tmp_path / "nope.pth")), CPU)
    other = tmp_path / "other.pth"
    torch.save(torch.nn.Linear(3, 3).state_dict(), other)
    with pytest.raises(BadInputError, match="do not fit ResNet"):
        load_model(ModelSpec("resnet18", str(other)), CPU)
