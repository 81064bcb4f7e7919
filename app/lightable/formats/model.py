"""Interchange model between format readers/writers and the project.

A reader turns files into a ``Dataset`` (no database involved) and records every
problem in a ``Report``; a writer turns a ``Dataset`` into files. Paths are
relative to the import/export root, with forward slashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lightable.core.geometry import Geometry
from lightable.core.model import Skeleton


class Severity(StrEnum):
    ERROR = "error"  # an item was skipped (or, with --strict, the import stops)
    WARNING = "warning"  # imported, but something was adjusted or dropped
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Issue:
    file: str
    problem: str
    where: str | None = None  # line, element path or id inside the file
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        loc = f"{self.file}:{self.where}" if self.where else self.file
        return f"{self.severity}: {loc}: {self.problem}"


class StrictError(Exception):
    """Raised by ``Report.error`` in strict mode: stop at the first error."""

    def __init__(self, issue: Issue) -> None:
        self.issue = issue
        super().__init__(str(issue))


@dataclass
class Report:
    """Problems found while reading or writing, plus what a format could not hold."""

    strict: bool = False
    issues: list[Issue] = field(default_factory=list)
    # Counts worth showing next to the issues (an export's images/objects/labels).
    stats: dict[str, Any] = field(default_factory=dict)

    def error(self, file: str, problem: str, where: str | None = None) -> None:
        issue = Issue(str(file), problem, where, Severity.ERROR)
        self.issues.append(issue)
        if self.strict:
            raise StrictError(issue)

    def warning(self, file: str, problem: str, where: str | None = None) -> None:
        self.issues.append(Issue(str(file), problem, where, Severity.WARNING))

    def info(self, file: str, problem: str, where: str | None = None) -> None:
        self.issues.append(Issue(str(file), problem, where, Severity.INFO))

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.WARNING]

    @property
    def infos(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.INFO]

    @property
    def ok(self) -> bool:
        return not self.errors

    def extend(self, other: Report) -> None:
        """Append another report's issues (without re-raising in strict mode)."""
        self.issues.extend(other.issues)

    def summary_lines(self, limit: int = 20) -> list[str]:
        """The first ``limit`` issues (errors first), then how many more there are."""
        ordered = self.errors + self.warnings + self.infos
        lines = [str(i) for i in ordered[:limit]]
        if len(ordered) > limit:
            lines.append(f"... and {len(ordered) - limit} more")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "errors": [str(i) for i in self.errors],
            "warnings": [str(i) for i in self.warnings],
            "info": [str(i) for i in self.infos],
            **({"stats": dict(self.stats)} if self.stats else {}),
        }


@dataclass(slots=True)
class DatasetLabel:
    name: str
    color: str | None = None  # '#rrggbb' where the format has colours
    source_id: int | str | None = None  # the id the source format used
    skeleton: Skeleton | None = None
    supercategory: str | None = None
    # The reader invented the name (e.g. "category 18" in a COCO results file without
    # categories); the import resolves it by ``source_id`` against the project's labels.
    placeholder: bool = False


@dataclass(slots=True)
class DatasetObject:
    """One annotation (or, in a predictions dataset, one scored prediction)."""

    label: str
    geometry: Geometry
    attributes: dict[str, Any] = field(default_factory=dict)
    score: float | None = None  # set for model predictions
    source_id: int | str | None = None  # id in the source file, for reports
    group: int | str | None = None  # instance grouping where the format has it
    iscrowd: bool = False
    # (x, y, w, h, area) as the project stored them (export only): writers may use them
    # instead of recomputing the extent of a million polygons.
    extent: tuple[float, float, float, float, float] | None = None


@dataclass(slots=True)
class DatasetImage:
    # Relative to the dataset root, forward slashes. May be "" in a predictions dataset
    # whose file names only ids (COCO results): the import finds the image by ``source_id``.
    path: str
    width: int | None = None
    height: int | None = None
    split: str | None = None
    objects: list[DatasetObject] = field(default_factory=list)
    source_id: int | str | None = None
    # Embedded pixels (labelme imageData) to write out when the file is missing.
    embedded: bytes | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    # ``lightable.imaging.probe.ImageHeader`` when the reader already probed the file
    # (YOLO needs sizes to denormalise); the import then does not probe it again.
    header: Any = None


@dataclass(slots=True)
class Dataset:
    images: list[DatasetImage] = field(default_factory=list)
    labels: list[DatasetLabel] = field(default_factory=list)
    # True when the objects are model predictions (COCO results): imported as a model run.
    predictions: bool = False
    format: str = ""
    root: str = ""  # absolute folder the image paths are relative to
    name: str = ""  # shown in reports; the model run's name for predictions
    source: str = ""  # the file or folder that was read

    def label_names(self) -> list[str]:
        return [lb.name for lb in self.labels]

    def object_count(self) -> int:
        return sum(len(im.objects) for im in self.images)


class MediaMode(StrEnum):
    """What an export does with the image files themselves."""

    NONE = "none"  # annotation files only; they name the images by their project path
    LINK = "link"  # symbolic links to the originals (falls back to copies where links fail)
    COPY = "copy"


@dataclass(slots=True)
class ExportOptions:
    """What to export (chosen in File > Export or on the command line).

    ``query`` is a ``lightable.store.images.ImageQuery`` (typed loosely so this
    module stays free of the store); ``image_ids`` an explicit selection. Both
    ``None``: every image. ``run_id`` exports that model run's predictions
    (with ``threshold`` on the score) instead of the annotations.
    """

    image_ids: Sequence[int] | None = None
    query: Any = None
    labels: Sequence[str] | None = None  # label names; None = all
    splits: Sequence[str] | None = None  # None = all; "" matches images without a split
    run_id: int | None = None
    threshold: float = 0.0
    include_empty: bool = True  # images without any exported object
    media: MediaMode = MediaMode.NONE
    split_files: bool = True  # formats with one file per split (COCO) write one per split
    overwrite: bool = False  # replace an existing, non-empty OUT folder
    # Format-specific switches, e.g. {"mask_mode": "box"} for YOLO; documented per writer.
    extra: dict[str, Any] = field(default_factory=dict)
