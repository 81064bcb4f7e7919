"""What a model does, and what it returns, without torch."""

from __future__ import annotations

from enum import StrEnum


class Task(StrEnum):
    DETECTION = "detection"
    INSTANCE_SEGMENTATION = "instance_segmentation"
    KEYPOINTS = "keypoints"
    CLASSIFICATION = "classification"
    SEMANTIC_SEGMENTATION = "semantic_segmentation"

    @property
    def detection_like(self) -> bool:
        """Takes a list of images and returns torchvision's list of dicts."""
        return self in (Task.DETECTION, Task.INSTANCE_SEGMENTATION, Task.KEYPOINTS)


# Class names torchvision uses as placeholders; never mapped to a project label.
PLACEHOLDER_CLASSES = frozenset({"__background__", "N/A", "__bg__", "background_placeholder"})

# Default minimum score to store, per task, when the caller gives none.
# Classifiers store their top-k whatever the score (the ranking is the information).
DEFAULT_THRESHOLD = {
    Task.DETECTION: 0.3,
    Task.INSTANCE_SEGMENTATION: 0.3,
    Task.KEYPOINTS: 0.3,
    Task.CLASSIFICATION: 0.0,
    Task.SEMANTIC_SEGMENTATION: 0.0,
}
