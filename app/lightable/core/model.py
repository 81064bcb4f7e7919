"""Domain records: images, labels, annotations, predictions, escalations, users.

Plain dataclasses with validation; the store maps them to and from rows. Ids
are ``None`` until the store has assigned one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lightable.core.errors import ValidationError
from lightable.core.geometry import Geometry, GeometryKind


class ImageStatus(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    REVIEW = "review"
    BROKEN = "broken"  # the file could not be read; ``Image.error`` says why


class Source(StrEnum):
    """Where an annotation came from."""

    HUMAN = "human"
    IMPORT = "import"
    PREDICTION = "prediction"  # accepted from a model run; see ``prediction_id``


class Role(StrEnum):
    LABELER = "labeler"
    LEAD = "lead"
    ADMIN = "admin"


class EscalationStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    RESOLVED = "resolved"


class LabelKind(StrEnum):
    """Which geometry a label is meant for; ANY lets a label take every kind."""

    ANY = "any"
    BOX = "box"
    POLYGON = "polygon"
    MASK = "mask"
    KEYPOINTS = "keypoints"
    TAG = "tag"


_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")

# A palette that stays distinct on a dark background (Tableau 20 order, reordered).
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)


def palette_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


@dataclass(slots=True)
class Skeleton:
    """Keypoint names and the edges between them (0-based indices)."""

    names: list[str] = field(default_factory=list)
    edges: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.names)
        for a, b in self.edges:
            if n and not (0 <= a < n and 0 <= b < n):
                raise ValidationError(f"skeleton: edge ({a}, {b}) outside {n} keypoints")

    def to_dict(self) -> dict[str, Any]:
        return {"names": list(self.names), "edges": [list(e) for e in self.edges]}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Skeleton | None:
        if not d:
            return None
        return cls(list(d.get("names", [])), [tuple(e) for e in d.get("edges", [])])  # type: ignore[misc]


@dataclass(slots=True)
class Label:
    """One class of the taxonomy."""

    name: str
    color: str = "#4e79a7"
    kind: LabelKind = LabelKind.ANY
    shortcut: str | None = None
    parent_id: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)  # attribute schema
    skeleton: Skeleton | None = None
    position: int = 0
    id: int | None = None

    def __post_init__(self) -> None:
        self.name = self.name.strip() if isinstance(self.name, str) else self.name
        if not isinstance(self.name, str) or not self.name:
            raise ValidationError("label: name is empty")
        if len(self.name) > 200:
            raise ValidationError(f"label {self.name[:40]!r}...: name longer than 200 characters")
        if not _COLOR.match(self.color):
            raise ValidationError(f"label {self.name!r}: colour {self.color!r} is not #rrggbb")
        self.kind = LabelKind(self.kind)


@dataclass(slots=True)
class Image:
    """An image file referenced in place, relative to one of the project's roots."""

    path: str  # relative to the root, with forward slashes
    root_id: int
    width: int = 0
    height: int = 0
    orientation: int = 1  # EXIF orientation; width/height are as displayed
    file_size: int = 0
    mtime_ns: int = 0
    status: ImageStatus = ImageStatus.NEW
    split: str | None = None
    error: str | None = None
    checksum: str | None = None
    assignee_id: int | None = None
    id: int | None = None


@dataclass(slots=True)
class Annotation:
    """A human (or accepted/imported) label on an image."""

    image_id: int
    label_id: int
    geometry: Geometry
    attributes: dict[str, Any] = field(default_factory=dict)
    source: Source = Source.HUMAN
    author_id: int | None = None
    prediction_id: int | None = None
    z: int = 0
    hidden: bool = False
    locked: bool = False
    version: int = 1
    id: int | None = None

    @property
    def kind(self) -> GeometryKind:
        return self.geometry.kind


@dataclass(slots=True)
class Prediction:
    """Model output for an image, stored per model run; never a label by itself."""

    run_id: int
    image_id: int
    geometry: Geometry
    score: float
    label_id: int | None = None
    class_name: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    def __post_init__(self) -> None:
        if not (0.0 <= float(self.score) <= 1.0):
            raise ValidationError(f"prediction: score {self.score} outside [0, 1]")


@dataclass(slots=True)
class User:
    name: str
    role: Role = Role.LABELER
    id: int | None = None
