"""Custom models: a TorchScript file or a ``torch.export`` ``.pt2`` archive with a
sidecar ``<model>.json`` that says what the model does::

    {"task": "detection" | "instance_segmentation" | "keypoints"
             | "classification" | "semantic_segmentation",
     "classes": ["cat", "dog", ...],
     "input": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
               "size": null | [h, w]}}

Optional keys: ``"name"``, ``"description"``, ``"keypoint_names"``.

Contract of the model's ``forward``:

- detection-like tasks take a list of 3 x H x W float tensors in [0, 1] and
  return torchvision's list of dicts (``boxes`` x1 y1 x2 y2 in input pixels,
  ``labels`` as indices into ``classes``, ``scores``, plus ``masks`` (N, 1, H, W)
  or ``keypoints`` (N, K, 3)). They normalise inside, like torchvision's
  detectors, so ``mean``/``std`` must be the identity ([0,0,0] / [1,1,1]);
- classification takes a (B, 3, H, W) batch normalised with ``mean``/``std`` and
  returns (B, C) logits (softmax is applied here);
- semantic segmentation takes the same and returns (B, C, H, W) logits (or a
  dict with ``"out"``).

``size`` null keeps each image's size (classifiers then run images of one
size together); ``[h, w]`` stretches every image to it, and results are
mapped back to the image's pixels.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightable.core.errors import BadInputError
from lightable.ml.runtime import InputSpec, LoadedModel
from lightable.ml.safe_load import (
    check_readable,
    load_exported,
    load_torchscript,
    sha256_file,
    sniff_archive,
)
from lightable.ml.tasks import Task

if TYPE_CHECKING:
    import torch

MODEL_SUFFIXES = (".pt", ".ts", ".pth", ".torchscript", ".jit", ".pt2")
_TOP_KEYS = {"task", "classes", "input"}
_OPTIONAL_KEYS = {"name", "description", "keypoint_names"}
_INPUT_KEYS = {"mean", "std", "size"}
MAX_INPUT_SIDE = 8192


def looks_like_model_file(spec: str) -> bool:
    p = Path(spec).expanduser()
    return p.suffix.lower() in MODEL_SUFFIXES or p.is_file()


def sidecar_path(model_path: Path) -> Path:
    """``model.json`` beside ``model.pt`` (``model.pt.json`` also accepted)."""
    a = model_path.with_suffix(".json")
    b = model_path.with_name(model_path.name + ".json")
    if a.is_file():
        return a
    if b.is_file():
        return b
    raise BadInputError(
        model_path,
        f"no sidecar {a.name} next to the model; it must say "
        '{"task": ..., "classes": [...], "input": {"mean": [...], "std": [...], "size": null}}',
    )


def read_sidecar(path: Path) -> dict[str, Any]:
    """Parse and strictly validate a sidecar; errors name the file and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(path, f"cannot read ({exc})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(
            path, f"not valid JSON: {exc.msg}", f"{exc.lineno}:{exc.colno}"
        ) from exc
    if not isinstance(data, dict):
        raise BadInputError(path, f"expected a JSON object, got {type(data).__name__}")
    unknown = set(data) - _TOP_KEYS - _OPTIONAL_KEYS
    if unknown:
        raise BadInputError(
            path,
            f"unknown key(s) {sorted(unknown)}; allowed: {sorted(_TOP_KEYS | _OPTIONAL_KEYS)}",
        )
    for key in sorted(_TOP_KEYS):
        if key not in data:
            raise BadInputError(path, f"missing required field {key!r}", key)
    task_s = data["task"]
    try:
        task = Task(task_s)
    except ValueError:
        raise BadInputError(
            path, f"unknown task {task_s!r}; one of {[str(t) for t in Task]}", "task"
        ) from None
    classes = data["classes"]
    if not isinstance(classes, list) or not classes:
        raise BadInputError(path, "must be a non-empty list of class names", "classes")
    for i, c in enumerate(classes):
        if not isinstance(c, str) or not c.strip() or len(c) > 200:
            raise BadInputError(
                path, "class names must be non-empty strings (<= 200 chars)", f"classes[{i}]"
            )
    inp = data["input"]
    if not isinstance(inp, dict):
        raise BadInputError(path, "must be an object with mean, std, size", "input")
    unknown = set(inp) - _INPUT_KEYS
    if unknown:
        raise BadInputError(path, f"unknown key(s) {sorted(unknown)}", "input")
    for key in sorted(_INPUT_KEYS):
        if key not in inp:
            raise BadInputError(path, f"missing required field {key!r}", f"input.{key}")
    mean = _numbers(path, inp["mean"], "input.mean")
    std = _numbers(path, inp["std"], "input.std")
    if len(mean) != len(std):
        raise BadInputError(path, f"mean has {len(mean)} values, std {len(std)}", "input.std")
    if any(s <= 0 for s in std):
        raise BadInputError(path, "std values must be > 0", "input.std")
    size = inp["size"]
    if size is not None:
        if (
            not isinstance(size, list)
            or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in size)
            or not all(1 <= v <= MAX_INPUT_SIDE for v in size)
        ):
            raise BadInputError(
                path,
                f"must be null or [height, width] integers in 1..{MAX_INPUT_SIDE}",
                "input.size",
            )
        size = (int(size[0]), int(size[1]))
    if task.detection_like and (any(m != 0 for m in mean) or any(s != 1 for s in std)):
        raise BadInputError(
            path,
            f"a {task} model takes images in [0, 1] and normalises inside (as torchvision's "
            "detectors do); set mean [0, 0, 0] and std [1, 1, 1]",
            "input.mean",
        )
    kp = data.get("keypoint_names")
    if kp is not None and (not isinstance(kp, list) or not all(isinstance(k, str) for k in kp)):
        raise BadInputError(path, "must be a list of strings", "keypoint_names")
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            raise BadInputError(path, "must be a string", key)
    return {
        "task": task,
        "classes": [c.strip() for c in classes],
        "mean": tuple(mean),
        "std": tuple(std),
        "size": size,
        "keypoint_names": kp,
        "name": data.get("name"),
    }


def _numbers(path: Path, v: Any, where: str) -> list[float]:
    if not isinstance(v, list) or len(v) not in (1, 3):
        raise BadInputError(path, "must be a list of 1 or 3 numbers", where)
    out = []
    for x in v:
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
            raise BadInputError(path, f"{x!r} is not a finite number", where)
        out.append(float(x))
    return out * 3 if len(out) == 1 else out


def load_custom(path: str | Path, device: torch.device) -> LoadedModel:
    """Load a TorchScript or .pt2 model with its sidecar, onto ``device``, in eval mode."""
    p = check_readable(path, "model file")
    meta = read_sidecar(sidecar_path(p))
    kind = sniff_archive(p)
    if kind == "torchscript":
        module = load_torchscript(p, device)
    elif kind == "export":
        module = load_exported(p, device)
    elif kind in ("pickle", "torch.save"):
        raise BadInputError(
            p,
            "refused: this is a pickled Python object (torch.save of a model), which could "
            "run arbitrary code when loaded. Save the model as TorchScript "
            "(torch.jit.script(model).save(path)) or with torch.export.save",
        )
    else:
        raise BadInputError(p, "not a TorchScript file or a torch.export .pt2 archive")
    if kind == "torchscript":
        module.eval()  # exported graphs are already in inference form (and refuse eval())
    task: Task = meta["task"]
    size = meta["size"]
    if task.detection_like:
        spec = InputSpec(size=size)
    else:
        spec = InputSpec(size=size, mean=meta["mean"], std=meta["std"])
    kp = meta["keypoint_names"]
    return LoadedModel(
        name=str(p),
        task=task,
        classes=meta["classes"],
        module=module,
        input=spec,
        device=device,
        weights_sha256=sha256_file(p),
        weights_source=str(p),
        keypoint_names=list(kp) if kp else None,
        takes_list=task.detection_like,
        # Scripted models may hard-code float32 ops; keep them in float32.
        mixed_precision=False,
    )
