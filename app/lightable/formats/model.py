"""Interchange model between format readers/writers and the project.

A reader turns files into a ``Dataset`` (no database involved) and records every
problem in a ``Report``; a writer turns a ``Dataset`` into files. Paths are
relative to the import/export root, with forward slashes.
"""

from __future__ import annotations

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "errors": [str(i) for i in self.errors],
            "warnings": [str(i) for i in self.warnings],
        }


@dataclass(slots=True)
class DatasetLabel:
    name: str
    color: str | None = None  # '#rrggbb' where the format has colours
    source_id: int | str | None = None  # the id the source format used
    skeleton: Skeleton | None = None
    supercategory: str | None = None


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


@dataclass(slots=True)
class DatasetImage:
    path: str  # relative to the dataset root, forward slashes
    width: int | None = None
    height: int | None = None
    split: str | None = None
    objects: list[DatasetObject] = field(default_factory=list)
    source_id: int | str | None = None
    # Embedded pixels (labelme imageData) to write out when the file is missing.
    embedded: bytes | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Dataset:
    images: list[DatasetImage] = field(default_factory=list)
    labels: list[DatasetLabel] = field(default_factory=list)
    # True when the objects are model predictions (COCO results): imported as a model run.
    predictions: bool = False
    format: str = ""
    root: str = ""  # absolute folder the image paths are relative to

    def label_names(self) -> list[str]:
        return [lb.name for lb in self.labels]

    def object_count(self) -> int:
        return sum(len(im.objects) for im in self.images)
