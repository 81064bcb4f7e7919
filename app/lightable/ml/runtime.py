"""A loaded model, whatever its origin: how to prepare its input and call it.

Decode workers prepare images on the CPU side (``InputSpec`` is torch-free and
picklable, so worker processes can use it); the batch arrives on the device as
uint8 CHW tensors and :meth:`LoadedModel.infer` converts, normalises and runs
it, returning one dict of tensors per image in torchvision's conventions:

- detection-like: ``boxes`` (N, 4) x1 y1 x2 y2 in the *input* pixels, ``scores``,
  ``labels`` (indices into ``classes``), plus ``masks`` (N, 1, H, W) probabilities
  or ``keypoints`` (N, K, 3) and ``keypoints_scores`` where the task has them;
- classification: ``probs`` (C,);
- semantic segmentation: ``logits`` (C, H, W) over the image's valid region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lightable.core.errors import LightableError
from lightable.ml.tasks import Task

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True, slots=True)
class InputSpec:
    """How to turn a decoded image into the model's input, before the device.

    Applied in this order: ``size`` (stretch to exactly h x w) or else
    ``resize_short`` (shorter side to this, aspect kept) or ``max_side``
    (downscale only, aspect kept); then ``crop`` (centre crop h x w).
    ``mean``/``std`` (0-1 scale) are applied on the device.
    """

    max_side: int | None = None
    resize_short: int | None = None
    crop: tuple[int, int] | None = None
    size: tuple[int, int] | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    @property
    def maps_back(self) -> bool:
        """Whether input pixels map back to image pixels by a scale (no crop)."""
        return self.crop is None


@dataclass(slots=True)
class LoadedModel:
    name: str  # what the user asked for: a torchvision name or a file path
    task: Task
    classes: list[str]
    module: Any  # torch.nn.Module, ScriptModule or an exported program's module
    input: InputSpec
    device: torch.device
    weights_sha256: str | None = None
    weights_source: str = ""  # file path, URL, or "random"
    keypoint_names: list[str] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    mixed_precision: bool = True
    # Detection-like models whose forward takes a list; the rest take a stacked batch.
    takes_list: bool = True
    _norm: tuple[Any, Any] | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "task": str(self.task),
            "classes": len(self.classes),
            "weights": self.weights_source,
            "weights_sha256": self.weights_sha256,
            "device": str(self.device),
        }

    # -- inference -------------------------------------------------------------
    def to_float(self, images: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """uint8 CHW on the device -> float in [0, 1], normalised when the spec says."""
        import torch

        out = []
        norm = self._normaliser()
        for im in images:
            x = im.to(torch.float32).div_(255.0)
            if norm is not None:
                x = x.sub_(norm[0]).div_(norm[1])
            out.append(x)
        return out

    def _normaliser(self) -> tuple[Any, Any] | None:
        if self.input.mean is None or self.input.std is None:
            return None
        if self._norm is None:
            import torch

            mean = torch.tensor(self.input.mean, dtype=torch.float32, device=self.device)
            std = torch.tensor(self.input.std, dtype=torch.float32, device=self.device)
            self._norm = (mean.view(-1, 1, 1), std.view(-1, 1, 1))
        return self._norm

    def infer(self, images: Sequence[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        """Run one batch (uint8 CHW tensors already on the device)."""
        from lightable.ml.devices import autocast

        xs = self.to_float(images)
        with autocast(self.device, self.mixed_precision):
            if self.task.detection_like:
                return _detection_outputs(self.module(xs), len(xs), self.name)
            if self.task == Task.CLASSIFICATION:
                return self._classify(xs)
            return self._segment(xs)

    def _classify(self, xs: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        import torch

        out: list[dict[str, torch.Tensor]] = [{} for _ in xs]
        # Images of one size run as one batch; a model with a fixed input size
        # always gives one group.
        for group in _same_shape_groups(xs):
            logits = _main_output(self.module(torch.stack([xs[i] for i in group])), self.name)
            if logits.ndim != 2 or logits.shape[0] != len(group):
                raise LightableError(
                    f"{self.name}: a classifier must return (batch, classes) scores, "
                    f"got shape {tuple(logits.shape)}"
                )
            probs = torch.softmax(logits.float(), dim=1)
            for i, p in zip(group, probs, strict=True):
                out[i] = {"probs": p}
        return out

    def _segment(self, xs: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        import torch

        # Pad to a common size so one batch runs at once; crop each result back.
        h = max(int(x.shape[1]) for x in xs)
        w = max(int(x.shape[2]) for x in xs)
        batch = xs[0].new_zeros((len(xs), xs[0].shape[0], h, w))
        for i, x in enumerate(xs):
            batch[i, :, : x.shape[1], : x.shape[2]] = x
        logits = _main_output(self.module(batch), self.name)
        if logits.ndim != 4 or logits.shape[0] != len(xs):
            raise LightableError(
                f"{self.name}: a segmentation model must return (batch, classes, H, W) "
                f"scores, got shape {tuple(logits.shape)}"
            )
        if logits.shape[-2:] != (h, w):
            logits = torch.nn.functional.interpolate(
                logits.float(), size=(h, w), mode="bilinear", align_corners=False
            )
        return [{"logits": logits[i, :, : x.shape[1], : x.shape[2]]} for i, x in enumerate(xs)]


def _same_shape_groups(xs: Sequence[Any]) -> list[list[int]]:
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, x in enumerate(xs):
        groups.setdefault(tuple(x.shape), []).append(i)
    return list(groups.values())


def _main_output(out: Any, name: str) -> torch.Tensor:
    """The score tensor of a classifier/segmenter: a tensor, dict['out'|'logits'] or tuple[0]."""
    import torch

    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, dict):
        for key in ("out", "logits", "scores"):
            if key in out and isinstance(out[key], torch.Tensor):
                return out[key]
    if isinstance(out, list | tuple) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    raise LightableError(
        f"{name}: model returned {type(out).__name__}; expected a tensor, a dict with "
        "'out' or 'logits', or a tuple whose first item is the scores"
    )


_DET_REQUIRED = ("boxes", "scores", "labels")


def _detection_outputs(out: Any, n: int, name: str) -> list[dict[str, torch.Tensor]]:
    """Validate torchvision's list-of-dicts output (TorchScript detectors return (losses, dets))."""
    import torch

    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], list):
        out = out[1]  # scripted torchvision detectors return (losses, detections)
    if not isinstance(out, list) or len(out) != n:
        raise LightableError(
            f"{name}: a detection model must return a list of {n} dicts (one per image), "
            f"got {type(out).__name__}"
            + (f" of length {len(out)}" if isinstance(out, list | tuple) else "")
        )
    for i, d in enumerate(out):
        if not isinstance(d, dict) or any(k not in d for k in _DET_REQUIRED):
            raise LightableError(
                f"{name}: output {i} must be a dict with 'boxes', 'scores' and 'labels'"
            )
        if not all(isinstance(d[k], torch.Tensor) for k in _DET_REQUIRED):
            raise LightableError(f"{name}: output {i}: boxes, scores and labels must be tensors")
        m = d["boxes"].shape[0]
        if d["boxes"].ndim != 2 or d["boxes"].shape[1] != 4:
            raise LightableError(
                f"{name}: output {i}: 'boxes' must be (N, 4), got {tuple(d['boxes'].shape)}"
            )
        if d["scores"].shape[0] != m or d["labels"].shape[0] != m:
            raise LightableError(f"{name}: output {i}: boxes, scores, labels differ in length")
    return out
