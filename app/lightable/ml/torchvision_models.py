"""torchvision's models by name, with their class names and weights.

Class names come from the weights enum's ``meta["categories"]``, which ships
inside torchvision: no download is needed to know them. Weights come from, in
order: a file the user gives (``weights=PATH``, a state dict loaded with
``weights_only=True``), the torch hub cache (``torch.hub.get_dir()/checkpoints/``
with the file name from the weights URL), or a download when online. Offline
with none of those is a :class:`MissingWeightsError` that names the file and
where to put it. ``weights="random"`` builds the architecture with random
initialisation (tests and benchmarks; nothing is downloaded, backbone included).
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightable.core.errors import BadInputError, LightableError
from lightable.ml.runtime import InputSpec, LoadedModel
from lightable.ml.tasks import Task

if TYPE_CHECKING:
    import torch

# The models offered in the UI's list; any other torchvision detection,
# segmentation or classification model name works too.
CURATED: dict[str, Task] = {
    "fasterrcnn_resnet50_fpn_v2": Task.DETECTION,
    "retinanet_resnet50_fpn_v2": Task.DETECTION,
    "fcos_resnet50_fpn": Task.DETECTION,
    "ssdlite320_mobilenet_v3_large": Task.DETECTION,
    "maskrcnn_resnet50_fpn_v2": Task.INSTANCE_SEGMENTATION,
    "keypointrcnn_resnet50_fpn": Task.KEYPOINTS,
    "deeplabv3_resnet50": Task.SEMANTIC_SEGMENTATION,
    "lraspp_mobilenet_v3_large": Task.SEMANTIC_SEGMENTATION,
    "resnet50": Task.CLASSIFICATION,
    "efficientnet_b0": Task.CLASSIFICATION,
    "convnext_tiny": Task.CLASSIFICATION,
    "vit_b_16": Task.CLASSIFICATION,
}

# Where the number of classes shows in a state dict: key -> which dimension.
# Lets a fine-tuned checkpoint with its own classes load without configuration.
_CLASS_HEADS: tuple[tuple[str, int], ...] = (
    ("roi_heads.box_predictor.cls_score.weight", 0),  # Faster/Mask/Keypoint R-CNN
    ("head.classification_head.cls_logits.weight", 0),  # FCOS (RetinaNet: x anchors)
    ("classifier.4.weight", 0),  # DeepLabV3 / FCN
    ("classifier.low_classifier.weight", 0),  # LRASPP
    ("fc.weight", 0),  # ResNet family
    ("classifier.1.weight", 0),  # EfficientNet, MobileNetV2
    ("classifier.3.weight", 0),  # MobileNetV3
    ("classifier.2.weight", 0),  # ConvNeXt
    ("heads.head.weight", 0),  # ViT
    ("head.weight", 0),  # Swin
)
_KEYPOINT_HEAD = "roi_heads.keypoint_predictor.kps_score_lowres.weight"

ProgressFn = Callable[[int, int | None], None]


class MissingWeightsError(LightableError):
    """No weights on disk and no download possible."""


def torchvision_task(name: str) -> Task | None:
    """The task of a torchvision model name, or None when torchvision has no such model."""
    if name in CURATED:
        return CURATED[name]
    import torchvision.models as tvm
    from torchvision.models import list_models

    if name in list_models(module=tvm.detection):
        if name.startswith("maskrcnn"):
            return Task.INSTANCE_SEGMENTATION
        if name.startswith("keypointrcnn"):
            return Task.KEYPOINTS
        return Task.DETECTION
    if name in list_models(module=tvm.segmentation):
        return Task.SEMANTIC_SEGMENTATION
    if name in list_models(module=tvm):
        return Task.CLASSIFICATION
    return None


def available_models() -> dict[str, Task]:
    """Every torchvision model Lightable can run, curated ones first."""
    import torchvision.models as tvm
    from torchvision.models import list_models

    out = dict(CURATED)
    for name in list_models(module=tvm.detection):
        out.setdefault(name, torchvision_task(name) or Task.DETECTION)
    for name in list_models(module=tvm.segmentation):
        out.setdefault(name, Task.SEMANTIC_SEGMENTATION)
    for name in list_models(module=tvm):
        out.setdefault(name, Task.CLASSIFICATION)
    return out


def hub_checkpoint_dir() -> Path:
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def weights_enum_entry(name: str, which: str | None = None) -> Any:
    """The weights enum member (DEFAULT, or a member name like 'IMAGENET1K_V1')."""
    from torchvision.models import get_model_weights

    enum = get_model_weights(name)
    if which in (None, "", "default", "DEFAULT"):
        return enum.DEFAULT
    try:
        return enum[which]
    except KeyError:
        members = ", ".join(m.name for m in enum)
        raise LightableError(f"{name}: no weights called {which!r} (known: {members})") from None


def cached_weights_path(entry: Any) -> Path:
    return hub_checkpoint_dir() / os.path.basename(entry.url)


def load_torchvision(
    name: str,
    device: torch.device,
    weights: str | os.PathLike[str] | None = None,
    options: dict[str, Any] | None = None,
    allow_download: bool | None = None,
    progress: ProgressFn | None = None,
) -> LoadedModel:
    """Build torchvision model ``name`` on ``device`` in eval mode, weights loaded."""
    from torchvision.models import get_model

    task = torchvision_task(name)
    if task is None:
        known = ", ".join(CURATED)
        raise LightableError(
            f"unknown model {name!r}: give a torchvision model name ({known}, ...) "
            "or a TorchScript/.pt2 file with its .json sidecar"
        )
    options = dict(options or {})
    from lightable.ml.safe_load import load_state_dict, sha256_file

    w = str(weights) if weights is not None else None
    if w is not None and w.strip() in ("", "default", "DEFAULT"):
        w = None
    entry = weights_enum_entry(name, w if w and _is_enum_name(w) else None)
    classes = list(entry.meta.get("categories") or [])
    keypoint_names = list(entry.meta.get("keypoint_names") or []) or None
    state: dict[str, Any] | None = None
    sha: str | None = None
    source = "random"
    if w != "random":
        if w is not None and not _is_enum_name(w):
            path = Path(w).expanduser()
            state = load_state_dict(path)
            sha = sha256_file(path)
            source = str(path)
            classes = _classes_for_state(path, state, classes, name)
        else:
            path = _ensure_cached(entry, allow_download, progress)
            state = load_state_dict(path)
            sha = sha256_file(path)
            source = str(path)
            _check_hash_prefix(path, sha)

    kwargs: dict[str, Any] = {"weights": None}
    if task != Task.CLASSIFICATION:
        kwargs["weights_backbone"] = None  # never fetch ImageNet backbone weights
    if state is not None:
        n = _num_classes(state, name)
        if n is not None and n != _default_num_classes(name, entry):
            kwargs["num_classes"] = n
            if len(classes) != n:
                classes = [f"class_{i}" for i in range(n)]
        if task == Task.SEMANTIC_SEGMENTATION and any(
            k.startswith("aux_classifier.") for k in state
        ):
            kwargs["aux_loss"] = True
        if task == Task.KEYPOINTS and _KEYPOINT_HEAD in state:
            nk = int(state[_KEYPOINT_HEAD].shape[1])
            if nk != len(keypoint_names or []):
                kwargs["num_keypoints"] = nk
                keypoint_names = [f"kp_{i}" for i in range(nk)]
    kwargs.update(options)
    try:
        model = get_model(name, **kwargs)
    except (TypeError, ValueError) as exc:
        raise LightableError(f"{name}: cannot build with options {options}: {exc}") from exc
    if state is not None:
        _load_into(model, state, source)
    model.eval().to(device)
    for p in model.parameters():
        p.requires_grad_(False)
    return LoadedModel(
        name=name,
        task=task,
        classes=classes,
        module=model,
        input=_input_spec(task, model, entry),
        device=device,
        weights_sha256=sha,
        weights_source=source,
        keypoint_names=keypoint_names,
        options=options,
        takes_list=task.detection_like,
    )


def _is_enum_name(w: str) -> bool:
    return bool(re.fullmatch(r"[A-Z0-9_]+", w)) and not os.path.exists(w)


def _default_num_classes(name: str, entry: Any) -> int:
    return len(entry.meta.get("categories") or [])


def _num_classes(state: dict[str, Any], name: str = "") -> int | None:
    for key, dim in _CLASS_HEADS:
        t = state.get(key)
        if t is not None and hasattr(t, "shape") and t.ndim > dim:
            n = int(t.shape[dim])
            if name.startswith("retinanet") and key.startswith("head.classification"):
                n //= 9  # RetinaNet predicts per anchor: 9 anchors x classes
            return n
    return None


def _classes_for_state(
    path: Path, state: dict[str, Any], default: list[str], name: str
) -> list[str]:
    """Class names for a user's weights: ``<weights>.json`` {"classes": [...]} if present."""
    for side in (path.with_suffix(".json"), path.with_name(path.name + ".json")):
        if side.is_file():
            try:
                data = json.loads(side.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise BadInputError(side, f"not valid JSON ({exc})") from exc
            classes = data.get("classes") if isinstance(data, dict) else None
            if not isinstance(classes, list) or not all(
                isinstance(c, str) and c.strip() for c in classes
            ):
                raise BadInputError(
                    side, "'classes' must be a list of non-empty strings", "classes"
                )
            n = _num_classes(state, name)
            if n is not None and n != len(classes):
                raise BadInputError(
                    side, f"{len(classes)} classes listed but the weights have {n}", "classes"
                )
            return [c.strip() for c in classes]
    return default


def _load_into(model: Any, state: dict[str, Any], source: str) -> None:
    result = model.load_state_dict(state, strict=False)
    problems = []
    if result.missing_keys:
        problems.append(f"{len(result.missing_keys)} missing (e.g. {result.missing_keys[0]})")
    if result.unexpected_keys:
        problems.append(
            f"{len(result.unexpected_keys)} unexpected (e.g. {result.unexpected_keys[0]})"
        )
    if problems:
        raise BadInputError(
            source, f"weights do not fit {type(model).__name__}: keys " + "; ".join(problems)
        )


def _check_hash_prefix(path: Path, sha: str) -> None:
    # torchvision names its files <name>-<first hex digits of sha256>.pth
    m = re.search(r"-([a-f0-9]{6,})\.", path.name)
    if m and not sha.startswith(m.group(1)):
        raise BadInputError(
            path,
            f"checksum {sha[:12]}... does not match the {m.group(1)} in the file name: "
            "the file is corrupt or incomplete; delete it and try again",
        )


def _ensure_cached(entry: Any, allow_download: bool | None, progress: ProgressFn | None) -> Path:
    path = cached_weights_path(entry)
    if path.is_file():
        return path
    if allow_download is None:
        allow_download = os.environ.get("LIGHTABLE_OFFLINE", "") not in ("1", "true", "yes")
    missing = (
        f"weights file {path.name} is not in the torch hub cache. Download it from "
        f"{entry.url} and put it into {path.parent}/ (or pass --weights FILE)"
    )
    if not allow_download:
        raise MissingWeightsError(missing + "; downloads are off (offline)")
    try:
        _download(entry.url, path, progress)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise MissingWeightsError(f"{missing}; the download failed: {exc}") from exc
    return path


def _download(url: str, dest: Path, progress: ProgressFn | None, chunk: int = 1 << 20) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".partial")
    with urllib.request.urlopen(url, timeout=30) as resp, open(tmp, "wb") as f:
        total = resp.headers.get("Content-Length")
        total_i = int(total) if total and total.isdigit() else None
        done = 0
        while True:
            b = resp.read(chunk)
            if not b:
                break
            f.write(b)
            done += len(b)
            if progress is not None:
                progress(done, total_i)
    os.replace(tmp, dest)


def _input_spec(task: Task, model: Any, entry: Any) -> InputSpec:
    if task.detection_like:
        t = getattr(model, "transform", None)
        fixed = getattr(t, "fixed_size", None)
        if fixed:
            return InputSpec(max_side=max(int(v) for v in fixed))
        max_size = getattr(t, "max_size", None)
        return InputSpec(max_side=int(max_size) if max_size else None)
    tf = entry.transforms()
    mean = tuple(float(v) for v in tf.mean)
    std = tuple(float(v) for v in tf.std)
    resize = int(tf.resize_size[0]) if getattr(tf, "resize_size", None) else None
    if task == Task.CLASSIFICATION:
        crop = int(tf.crop_size[0])
        return InputSpec(resize_short=resize, crop=(crop, crop), mean=mean, std=std)
    return InputSpec(resize_short=resize, mean=mean, std=std)
