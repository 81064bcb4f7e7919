"""Model class -> project label: the model that the label-mapping dialog edits.

Qt-free and torch-free. For each model class a rule says which project label
it becomes (matched by name first, case-insensitively), whether to ignore it,
and its own score threshold. Mappings are remembered per model in the
project's meta table under ``ml.mapping:<model key>``.

Classes without a label follow ``unmatched``: ``"keep"`` stores predictions
with the model's class name and no label (accepting one later creates the
label), ``"ignore"`` drops them, ``"create"`` adds the label to the project the
first time the class is predicted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lightable.core.errors import ValidationError
from lightable.core.model import Label
from lightable.ml.tasks import PLACEHOLDER_CLASSES

if TYPE_CHECKING:
    from lightable.store.project import Project

META_PREFIX = "ml.mapping:"
UNMATCHED_POLICIES = ("keep", "ignore", "create")


def normalise_name(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


@dataclass(slots=True)
class ClassRule:
    class_name: str
    label_id: int | None = None
    ignore: bool = False
    threshold: float | None = None  # None: the run's threshold

    def __post_init__(self) -> None:
        if self.threshold is not None:
            t = float(self.threshold)
            if not (math.isfinite(t) and 0.0 <= t <= 1.0):
                raise ValidationError(f"class {self.class_name!r}: threshold {t} outside [0, 1]")
            self.threshold = t

    def to_dict(self) -> dict[str, Any]:
        return {
            "class": self.class_name,
            "label_id": self.label_id,
            "ignore": self.ignore,
            "threshold": self.threshold,
        }


@dataclass(slots=True)
class LabelMapping:
    model_key: str
    rules: dict[str, ClassRule] = field(default_factory=dict)  # by class name
    unmatched: str = "keep"

    def __post_init__(self) -> None:
        if self.unmatched not in UNMATCHED_POLICIES:
            raise ValidationError(
                f"unmatched classes: {self.unmatched!r} is not one of {UNMATCHED_POLICIES}"
            )

    # -- building ------------------------------------------------------------
    @classmethod
    def auto(
        cls,
        model_key: str,
        classes: Sequence[str],
        labels: Sequence[Label],
        unmatched: str | None = None,
    ) -> LabelMapping:
        """Match classes to labels by name. Default policy for the rest: keep them when
        the project has no labels yet (a fresh project takes the model's taxonomy),
        ignore them when it has (a curated taxonomy is not flooded)."""
        policy = unmatched or ("ignore" if labels else "keep")
        m = cls(model_key, {}, policy)
        m._add_missing(classes, labels)
        return m

    def reconcile(self, classes: Sequence[str], labels: Sequence[Label]) -> LabelMapping:
        """Rules for exactly ``classes``: saved rules kept, labels that were deleted
        unmapped, new classes matched by name."""
        ids = {lb.id for lb in labels}
        kept: dict[str, ClassRule] = {}
        for name in classes:
            r = self.rules.get(name)
            if r is not None:
                if r.label_id is not None and r.label_id not in ids:
                    r = ClassRule(name, None, r.ignore, r.threshold)
                kept[name] = r
        m = LabelMapping(self.model_key, kept, self.unmatched)
        m._add_missing(classes, labels)
        return m

    def _add_missing(self, classes: Sequence[str], labels: Sequence[Label]) -> None:
        exact = {lb.name.lower(): lb for lb in labels}
        loose = {normalise_name(lb.name): lb for lb in labels}
        for name in classes:
            if name in self.rules:
                continue
            if name in PLACEHOLDER_CLASSES:
                self.rules[name] = ClassRule(name, None, ignore=True)
                continue
            lb = exact.get(name.lower()) or loose.get(normalise_name(name))
            self.rules[name] = ClassRule(name, lb.id if lb else None)

    # -- editing (what the dialog calls) ------------------------------------------
    def set_label(self, class_name: str, label_id: int | None) -> None:
        r = self._rule(class_name)
        r.label_id = label_id
        if label_id is not None:
            r.ignore = False

    def set_ignore(self, class_name: str, ignore: bool = True) -> None:
        self._rule(class_name).ignore = ignore

    def set_threshold(self, class_name: str, threshold: float | None) -> None:
        r = self._rule(class_name)
        self.rules[class_name] = ClassRule(r.class_name, r.label_id, r.ignore, threshold)

    def _rule(self, class_name: str) -> ClassRule:
        try:
            return self.rules[class_name]
        except KeyError:
            raise ValidationError(f"model has no class {class_name!r}") from None

    # -- using ---------------------------------------------------------------
    def resolve(self, classes: Sequence[str], threshold: float) -> ResolvedMapping:
        """Per class index: label id, whether to keep, minimum score."""
        label_ids: list[int | None] = []
        keep: list[bool] = []
        thresholds: list[float] = []
        for name in classes:
            r = self.rules.get(name) or ClassRule(name)
            ignored = r.ignore or name in PLACEHOLDER_CLASSES
            if not ignored and r.label_id is None and self.unmatched == "ignore":
                ignored = True
            label_ids.append(r.label_id)
            keep.append(not ignored)
            thresholds.append(r.threshold if r.threshold is not None else threshold)
        return ResolvedMapping(
            list(classes), label_ids, keep, thresholds, self.unmatched == "create"
        )

    # -- persistence -----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model_key,
            "unmatched": self.unmatched,
            "rules": [r.to_dict() for r in self.rules.values()],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LabelMapping:
        if not isinstance(d, dict):
            raise ValidationError("label mapping: expected an object")
        rules: dict[str, ClassRule] = {}
        for item in d.get("rules") or []:
            if not isinstance(item, dict) or not isinstance(item.get("class"), str):
                raise ValidationError(f"label mapping: bad rule {item!r}")
            lid = item.get("label_id")
            rules[item["class"]] = ClassRule(
                item["class"],
                int(lid) if lid is not None else None,
                bool(item.get("ignore", False)),
                item.get("threshold"),
            )
        return cls(str(d.get("model", "")), rules, str(d.get("unmatched", "keep")))


@dataclass(slots=True)
class ResolvedMapping:
    """A mapping laid out by class index, for the inference loop."""

    classes: list[str]
    label_ids: list[int | None]
    keep: list[bool]
    thresholds: list[float]
    create_missing: bool = False

    @property
    def min_threshold(self) -> float:
        kept = [t for t, k in zip(self.thresholds, self.keep, strict=True) if k]
        return min(kept) if kept else 1.0

    def accepts(self, index: int, score: float) -> bool:
        if not (0 <= index < len(self.classes)):
            return False
        return self.keep[index] and score >= self.thresholds[index]


def load_mapping(
    project: Project, model_key: str, classes: Sequence[str], unmatched: str | None = None
) -> LabelMapping:
    """The saved mapping for ``model_key`` brought up to date, or a new one by name."""
    labels = project.labels.all()
    saved = project.get_meta(META_PREFIX + model_key)
    if saved:
        try:
            m = LabelMapping.from_dict(saved).reconcile(classes, labels)
        except ValidationError:
            m = LabelMapping.auto(model_key, classes, labels, unmatched)
        if unmatched is not None:
            m.unmatched = unmatched
        return m
    return LabelMapping.auto(model_key, classes, labels, unmatched)


def save_mapping(project: Project, mapping: LabelMapping) -> None:
    project.set_meta(META_PREFIX + mapping.model_key, mapping.to_dict())
