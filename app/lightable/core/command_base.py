"""The base of edit commands: the ``EditTarget`` primitives, ``Command`` and ``Batch``.

See ``lightable.core.commands`` for the concrete commands (all importable from there).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

import numpy as np

from lightable.core.errors import ValidationError
from lightable.core.geometry import Geometry, Keypoints, Mask, Polygon
from lightable.core.model import Annotation, ImageStatus, Label

# Fields of an annotation that UpdateAnnotation may change.
EDITABLE_FIELDS = frozenset({"geometry", "label_id", "attributes", "z", "hidden", "locked"})


@runtime_checkable
class EditTarget(Protocol):
    """The primitive operations commands are made of.

    Contract (every implementation must keep it, the undo tests rely on it):
    - ``insert_annotation(a)`` stores ``a`` (keeping ``a.id`` when set, so undo
      restores the same row), assigns the stored ``id``/``version`` onto ``a``
      and returns it. Callers pass a fresh copy.
    - ``update_annotation(a)`` overwrites the row ``a.id`` with every field of
      ``a``, assigns the new ``version`` onto ``a`` and returns the *previous* state.
    - ``delete_annotation(id)`` returns the deleted annotation.
    - the plural forms (``get/insert/update/delete_annotations``) do the same for
      many rows at once (one statement each in the store), results in input order.
    - label primitives mirror the annotation ones; ``set_image_status`` returns the old status.
    - ``get_mask_array`` returns the decoded mask (H x W, 0/1 uint8; read-only:
      never write into it); ``put_mask_patch`` writes a rectangle of a mask
      annotation, re-encodes it, and returns the previous content of the rectangle.
    - ``transaction(label, via)`` groups the primitives of one command into one
      atomic commit; nested calls join the outer one. ``via`` is "do", "undo" or "redo".
    Missing rows raise ``ValidationError`` with a message for a person.
    """

    def transaction(self, label: str = "", via: str = "do") -> AbstractContextManager[None]: ...

    def get_annotation(self, ann_id: int) -> Annotation: ...

    def insert_annotation(self, a: Annotation) -> Annotation: ...

    def delete_annotation(self, ann_id: int) -> Annotation: ...

    def update_annotation(self, a: Annotation) -> Annotation: ...

    def get_annotations(self, ids: Sequence[int]) -> list[Annotation]: ...

    def insert_annotations(self, anns: Sequence[Annotation]) -> list[Annotation]: ...

    def delete_annotations(self, ids: Sequence[int]) -> list[Annotation]: ...

    def update_annotations(self, anns: Sequence[Annotation]) -> list[Annotation]: ...

    def z_order(self, image_id: int) -> list[tuple[int, int]]:
        """(id, z) of the image's annotations, bottom first (ordered by z, then id)."""
        ...

    def get_label(self, label_id: int) -> Label: ...

    def insert_label(self, label: Label) -> Label: ...

    def delete_label(self, label_id: int) -> Label: ...

    def update_label(self, label: Label) -> Label: ...

    def label_children(self, label_id: int) -> list[int]:
        """Ids of the labels whose parent is ``label_id``."""
        ...

    def set_image_status(self, image_id: int, status: ImageStatus) -> ImageStatus: ...

    def get_mask_array(self, ann_id: int) -> np.ndarray: ...

    def put_mask_patch(self, ann_id: int, x0: int, y0: int, patch: np.ndarray) -> np.ndarray: ...


class Command(ABC):
    """One edit. Immutable once built; ``apply`` returns the inverse command."""

    __slots__ = ("_at", "_image_id")

    def __init__(self, image_id: int | None = None, at: float | None = None) -> None:
        self._image_id = image_id
        self._at = time.monotonic() if at is None else at

    @property
    def image_id(self) -> int | None:
        """The image whose history this belongs to (None: not known or project-wide)."""
        return self._image_id

    @property
    def at(self) -> float:
        """When the command was made (``time.monotonic``); used to merge nudges."""
        return self._at

    @property
    @abstractmethod
    def label(self) -> str:
        """Text for the history panel."""

    @abstractmethod
    def apply(self, target: EditTarget) -> Command:
        """Apply to ``target``; return the command that undoes exactly this application."""

    def merge(self, newer: Command) -> Command | None:
        """A command doing self then ``newer`` in one step, or None when they don't merge."""
        return None

    @property
    def nbytes(self) -> int:
        """Rough memory the command holds (history accounting)."""
        return 200

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label!r}>"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _ids(ids: Iterable[int]) -> tuple[int, ...]:
    out = tuple(dict.fromkeys(int(i) for i in ids))  # unique, in the given order
    if not out:
        raise ValidationError("command: no annotations given")
    return out


# -- grouping -----------------------------------------------------------------------


class Batch(Command):
    """Several commands as one undo step; the inverse is the reversed batch of inverses."""

    __slots__ = ("_label", "commands")

    def __init__(
        self,
        commands: Sequence[Command],
        label: str = "",
        image_id: int | None = None,
        at: float | None = None,
    ) -> None:
        self.commands: tuple[Command, ...] = tuple(commands)
        if image_id is None:
            image_id = next((c.image_id for c in self.commands if c.image_id is not None), None)
        super().__init__(image_id, at)
        self._label = label or (self.commands[0].label if len(self.commands) == 1 else "Edit")

    @property
    def label(self) -> str:
        return self._label

    def apply(self, target: EditTarget) -> Command:
        inverses = [c.apply(target) for c in self.commands]
        return Batch(inverses[::-1], self._label, self.image_id)

    @property
    def nbytes(self) -> int:
        return 100 + sum(c.nbytes for c in self.commands)

    def __iter__(self) -> Iterator[Command]:
        return iter(self.commands)


# -- helpers ------------------------------------------------------------------------


def _frozen(values: Mapping[str, Any]) -> dict[str, Any]:
    """A private copy of field values: geometries are immutable, dicts and lists are not."""
    return {k: copy.deepcopy(v) if isinstance(v, dict | list) else v for k, v in values.items()}


def _copy_ann(a: Annotation) -> Annotation:
    return dataclasses.replace(a, attributes=copy.deepcopy(a.attributes))


def _copy_label(lb: Label) -> Label:
    return copy.deepcopy(lb)


def _geometry_nbytes(g: Geometry) -> int:
    if isinstance(g, Mask):
        return len(g.counts)
    if isinstance(g, Polygon):
        return 8 * sum(len(r) for r in g.rings)
    if isinstance(g, Keypoints):
        return 24 * len(g.points)
    return 32
