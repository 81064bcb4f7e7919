"""Which model to run: a torchvision name or a custom model file, and its weights.

``ModelSpec`` is plain data (it is stored in a model run's params and comes
back on resume); :func:`load_model` turns it into a :class:`LoadedModel`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightable.core.errors import LightableError

if TYPE_CHECKING:
    import torch

    from lightable.ml.runtime import LoadedModel


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """``model``: a torchvision model name (``fasterrcnn_resnet50_fpn_v2``) or the
    path of a TorchScript/.pt2 file with its sidecar JSON.

    ``weights``: None (the default weights: hub cache or download), ``"random"``,
    a weights enum member name (``IMAGENET1K_V1``) or a state-dict file.
    ``options``: keyword arguments for the torchvision constructor
    (``min_size``, ``box_score_thresh``, ``box_detections_per_img``...).
    """

    model: str
    weights: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: ModelSpec | str | dict[str, Any]) -> ModelSpec:
        if isinstance(value, ModelSpec):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, dict) and isinstance(value.get("model"), str):
            return cls(value["model"], value.get("weights"), dict(value.get("options") or {}))
        raise LightableError(f"not a model spec: {value!r}")

    @property
    def is_file(self) -> bool:
        from lightable.ml.custom import looks_like_model_file

        return looks_like_model_file(self.model)

    @property
    def key(self) -> str:
        """Stable name to remember per-model settings (label mapping) under."""
        return Path(self.model).name if self.is_file else self.model

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_model(
    spec: ModelSpec | str,
    device: torch.device,
    allow_download: bool | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> LoadedModel:
    spec = ModelSpec.parse(spec)
    if spec.is_file:
        from lightable.ml.custom import load_custom

        if spec.weights not in (None, "", "default"):
            raise LightableError(
                f"{spec.model}: a custom model file carries its own weights; drop --weights"
            )
        return load_custom(spec.model, device)
    from lightable.ml.torchvision_models import load_torchvision

    return load_torchvision(
        spec.model, device, spec.weights, spec.options, allow_download=allow_download,
        progress=progress,
    )  # fmt: skip


def list_models() -> dict[str, str]:
    """name -> task of every torchvision model that can be used by name."""
    from lightable.ml.torchvision_models import available_models

    return {k: str(v) for k, v in available_models().items()}
