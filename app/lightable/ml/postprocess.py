"""Raw model outputs (device tensors) -> predictions in image pixels.

Runs on the job's writer thread so that copying results off the device,
upsampling masks and RLE encoding overlap with the next batch's forward pass.
Filtering by the label mapping happens on the device first, so masks of
detections that will be dropped are never copied or encoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lightable.core.geometry import Box, Geometry, Keypoints, Tag
from lightable.ml.mapping import ResolvedMapping
from lightable.ml.tasks import Task
from lightable.ml.uncertainty import (
    DEFAULT_BAND,
    classification_uncertainty,
    detection_uncertainty,
    segmentation_uncertainty,
)

if TYPE_CHECKING:
    import torch

MASK_THRESHOLD = 0.5
# Semantic maps: interpolate logits at full size below this many values, else
# upsample the class map (nearest) to keep memory bounded on huge images.
_MAX_FULLRES_LOGITS = 48_000_000


@dataclass(frozen=True, slots=True)
class ImageMeta:
    """One decoded image: its id, the size given to the model, and its real size."""

    image_id: int
    input_hw: tuple[int, int]
    orig_hw: tuple[int, int]


@dataclass(slots=True)
class Draft:
    """A prediction before it has a run and a row."""

    class_index: int
    score: float
    geometry: Geometry
    box: tuple[float, float, float, float] | None  # x, y, w, h
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ImageResult:
    image_id: int
    drafts: list[Draft]
    uncertainty: float | None
    details: dict[str, Any]
    error: str | None = None


def postprocess(
    task: Task,
    outputs: list[dict[str, torch.Tensor]],
    metas: list[ImageMeta],
    mapping: ResolvedMapping,
    top_k: int = 5,
    band: tuple[float, float] = DEFAULT_BAND,
    keypoint_names: list[str] | None = None,
) -> list[ImageResult]:
    import torch

    with torch.inference_mode():
        if task.detection_like:
            return [
                _detections(task, o, m, mapping, band, keypoint_names)
                for o, m in zip(outputs, metas, strict=True)
            ]
        if task == Task.CLASSIFICATION:
            return [
                _classification(o, m, mapping, top_k) for o, m in zip(outputs, metas, strict=True)
            ]
        return [_semantic(o, m, mapping) for o, m in zip(outputs, metas, strict=True)]


def _detections(
    task: Task,
    out: dict[str, torch.Tensor],
    meta: ImageMeta,
    mapping: ResolvedMapping,
    band: tuple[float, float],
    keypoint_names: list[str] | None,
) -> ImageResult:
    import torch

    scores = out["scores"].float()
    labels = out["labels"].long()
    all_scores = scores.cpu().numpy()
    u, details = detection_uncertainty(all_scores, band)

    keep = (scores >= mapping.min_threshold) & torch.isfinite(out["boxes"].float()).all(dim=1)
    n_cls = len(mapping.classes)
    valid = (labels >= 0) & (labels < n_cls)
    if n_cls:
        keep_cls = torch.tensor(mapping.keep, device=labels.device)
        thr = torch.tensor(mapping.thresholds, device=scores.device, dtype=scores.dtype)
        safe = labels.clamp(0, n_cls - 1)
        keep &= valid & keep_cls[safe] & (scores >= thr[safe])
    else:
        keep &= False
    idx = keep.nonzero().flatten()
    h_in, w_in = meta.input_hw
    H, W = meta.orig_hw
    sx, sy = W / max(1, w_in), H / max(1, h_in)
    boxes = out["boxes"][idx].float()
    if boxes.numel():
        boxes = boxes * torch.tensor([sx, sy, sx, sy], device=boxes.device)
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, W)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, H)
    boxes_np = boxes.cpu().numpy()
    scores_np = scores[idx].cpu().numpy()
    labels_np = labels[idx].cpu().numpy()

    kps_np = kps_scores_np = None
    if task == Task.KEYPOINTS and "keypoints" in out:
        kps = out["keypoints"][idx].float()
        if kps.numel():
            kps = kps * torch.tensor([sx, sy, 1.0], device=kps.device)
        kps_np = kps.cpu().numpy()
        if "keypoints_scores" in out:
            kps_scores_np = out["keypoints_scores"][idx].float().cpu().numpy()

    masks = out.get("masks") if task == Task.INSTANCE_SEGMENTATION else None
    drafts: list[Draft] = []
    for j in range(len(idx)):
        x1, y1, x2, y2 = (float(v) for v in boxes_np[j])
        box = (x1, y1, max(0.0, x2 - x1), max(0.0, y2 - y1))
        score = float(min(1.0, max(0.0, scores_np[j])))
        ci = int(labels_np[j])
        attrs: dict[str, Any] = {}
        geom: Geometry
        if masks is not None:
            from lightable.imaging.masks import encode

            binary = _mask_at(masks[idx[j]], H, W)
            if not binary.any():
                continue  # an empty mask is not an object
            geom = encode(binary)
            attrs["box"] = list(box)
        elif kps_np is not None:
            pts = []
            for k, (kx, ky, _v) in enumerate(kps_np[j]):
                vis = 2
                if kps_scores_np is not None and kps_scores_np[j, k] <= 0:
                    vis = 1  # torchvision: keypoint logit <= 0 = not confidently visible
                pts.append((float(kx), float(ky), vis))
            geom = Keypoints(tuple(pts))
            attrs["box"] = list(box)
            if kps_scores_np is not None:
                attrs["keypoint_scores"] = [round(float(v), 4) for v in kps_scores_np[j]]
            if keypoint_names:
                attrs["keypoint_names"] = list(keypoint_names)
        else:
            geom = Box(*box)
        drafts.append(Draft(ci, score, geom, box, attrs))
    return ImageResult(meta.image_id, drafts, u, details)


def _mask_at(mask: torch.Tensor, H: int, W: int) -> Any:
    """(1, h, w) probabilities -> H x W bool numpy at the image's size."""
    import torch

    m = mask.float()
    if m.ndim == 2:
        m = m[None]
    if tuple(m.shape[-2:]) != (H, W):
        m = torch.nn.functional.interpolate(
            m[None], size=(H, W), mode="bilinear", align_corners=False
        )[0]
    return (m[0] > MASK_THRESHOLD).cpu().numpy()


def _classification(
    out: dict[str, torch.Tensor], meta: ImageMeta, mapping: ResolvedMapping, top_k: int
) -> ImageResult:
    probs = out["probs"].float().cpu().numpy()
    u, details = classification_uncertainty(probs)
    order = probs.argsort()[::-1][: max(1, top_k)]
    drafts = []
    for rank, ci in enumerate(order):
        score = float(probs[ci])
        if mapping.accepts(int(ci), score):
            drafts.append(
                Draft(int(ci), min(1.0, max(0.0, score)), Tag(), None, {"rank": rank + 1})
            )
    return ImageResult(meta.image_id, drafts, u, details)


def _semantic(
    out: dict[str, torch.Tensor], meta: ImageMeta, mapping: ResolvedMapping
) -> ImageResult:
    import torch

    from lightable.imaging.masks import encode

    logits = out["logits"].float()
    C = int(logits.shape[0])
    H, W = meta.orig_hw
    probs = torch.softmax(logits, dim=0)
    if C > 1:
        top2 = probs.topk(2, dim=0).values
        mean_margin = float((top2[0] - top2[1]).mean())
    else:
        mean_margin = 1.0
    u, details = segmentation_uncertainty(mean_margin)
    if tuple(logits.shape[-2:]) != (H, W):
        if C * H * W <= _MAX_FULLRES_LOGITS:
            logits = torch.nn.functional.interpolate(
                logits[None], size=(H, W), mode="bilinear", align_corners=False
            )[0]
            probs = torch.softmax(logits, dim=0)
        else:
            probs = torch.nn.functional.interpolate(probs[None], size=(H, W), mode="nearest")[0]
    conf, cls_map = probs.max(dim=0)
    drafts: list[Draft] = []
    present = torch.unique(cls_map).tolist()
    for ci in present:
        ci = int(ci)
        region = cls_map == ci
        score = float(conf[region].mean())
        if not mapping.accepts(ci, score):
            continue
        geom = encode(region.cpu().numpy())
        drafts.append(
            Draft(ci, min(1.0, max(0.0, score)), geom, geom.bbox(), {"pixels": int(geom.area())})
        )
    return ImageResult(meta.image_id, drafts, u, details)
