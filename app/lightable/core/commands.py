"""Edits are commands: small immutable values that apply themselves to an
``EditTarget`` and return their exact inverse.

Tools never write to the store directly; they build a command and hand it to
``ImageDocument.do``. The inverse is computed at apply time from the state the
target reports (so it restores *exactly* what was there, float coordinates,
attribute dicts and all), which is what makes unlimited undo/redo trustworthy.

A command applies through the primitive operations of ``EditTarget`` only; the
store's ``ProjectEditor`` implements them on the database (one transaction per
command, see ``EditTarget.transaction``), tests may implement them in memory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from lightable.core.command_base import (
    EDITABLE_FIELDS,
    Batch,
    Command,
    EditTarget,
    _copy_ann,
    _frozen,
    _geometry_nbytes,
    _ids,
    _plural,
)
from lightable.core.errors import ValidationError
from lightable.core.geometry import Box, Geometry, Keypoints, Mask, Polygon
from lightable.core.label_commands import (
    LABEL_FIELDS,
    AddLabel,
    DeleteLabel,
    SetImageStatus,
    UpdateLabel,
)
from lightable.core.maskdelta import PackedPatch, shift_region
from lightable.core.model import Annotation, Source

__all__ = [
    "EDITABLE_FIELDS",
    "LABEL_FIELDS",
    "MERGE_WINDOW_S",
    "AcceptPrediction",
    "AddAnnotation",
    "AddAnnotations",
    "AddLabel",
    "Batch",
    "Command",
    "DeleteAnnotations",
    "DeleteLabel",
    "EditTarget",
    "MoveAnnotations",
    "PaintMask",
    "Relabel",
    "Reorder",
    "ReshapeAnnotation",
    "SetAttributes",
    "SetImageStatus",
    "UpdateAnnotation",
    "UpdateAnnotations",
    "UpdateLabel",
]

# Consecutive nudges of the same objects closer together than this merge into one step.
MERGE_WINDOW_S = 1.0

Direction = Literal["up", "down", "front", "back"]


# -- annotations --------------------------------------------------------------------


class AddAnnotation(Command):
    __slots__ = ("_label", "annotation")

    def __init__(self, annotation: Annotation, label: str = "", at: float | None = None) -> None:
        super().__init__(annotation.image_id, at)
        self.annotation = _copy_ann(annotation)
        self._label = label or f"Add {annotation.geometry.kind}"

    @property
    def label(self) -> str:
        return self._label

    def apply(self, target: EditTarget) -> Command:
        stored = target.insert_annotation(_copy_ann(self.annotation))
        assert stored.id is not None
        return DeleteAnnotations([stored.id], image_id=self.image_id, label=f"Undo {self._label}")

    @property
    def nbytes(self) -> int:
        return 300 + _geometry_nbytes(self.annotation.geometry)


class AcceptPrediction(AddAnnotation):
    """Turn a model prediction into a human annotation that remembers where it came from."""

    __slots__ = ("prediction_id",)

    def __init__(self, prediction_id: int, annotation: Annotation, at: float | None = None) -> None:
        a = _copy_ann(annotation)
        a.prediction_id = int(prediction_id)
        a.source = Source.PREDICTION
        super().__init__(a, label="Accept prediction", at=at)
        self.prediction_id = int(prediction_id)


class AddAnnotations(Command):
    """Several annotations in one step (paste, copy from the previous image, undo of a delete)."""

    __slots__ = ("_label", "annotations")

    def __init__(
        self,
        annotations: Sequence[Annotation],
        label: str = "",
        image_id: int | None = None,
        at: float | None = None,
    ) -> None:
        self.annotations = tuple(_copy_ann(a) for a in annotations)
        if not self.annotations:
            raise ValidationError("command: no annotations given")
        super().__init__(image_id if image_id is not None else self.annotations[0].image_id, at)
        self._label = label or f"Add {_plural(len(self.annotations), 'object')}"

    @property
    def label(self) -> str:
        return self._label

    def apply(self, target: EditTarget) -> Command:
        stored = target.insert_annotations([_copy_ann(a) for a in self.annotations])
        ids = [a.id for a in stored if a.id is not None]
        return DeleteAnnotations(ids, image_id=self.image_id, label=f"Undo {self._label}")

    @property
    def nbytes(self) -> int:
        return 100 + sum(300 + _geometry_nbytes(a.geometry) for a in self.annotations)


class UpdateAnnotations(Command):
    """Field changes on several annotations at once: {id: {field: value}}.

    The bulk form of UpdateAnnotation; moves, relabels and reorders of many
    objects undo through it in one statement.
    """

    __slots__ = ("_label", "changes")

    def __init__(
        self,
        changes: Mapping[int, Mapping[str, Any]],
        label: str = "",
        image_id: int | None = None,
        at: float | None = None,
    ) -> None:
        super().__init__(image_id, at)
        for ch in changes.values():
            unknown = set(ch) - EDITABLE_FIELDS
            if unknown:
                raise ValidationError(
                    f"update annotations: cannot change {', '.join(sorted(unknown))}"
                )
        self.changes: dict[int, dict[str, Any]] = {
            int(i): _frozen(ch) for i, ch in changes.items() if ch
        }
        self._label = label or f"Edit {_plural(len(self.changes), 'object')}"

    @property
    def label(self) -> str:
        return self._label

    def apply(self, target: EditTarget) -> Command:
        old = _update_many(target, self.changes)
        return UpdateAnnotations(old, f"Undo {self._label}", self.image_id)

    @property
    def nbytes(self) -> int:
        return 100 + sum(
            150 + (_geometry_nbytes(ch["geometry"]) if "geometry" in ch else 0)
            for ch in self.changes.values()
        )


class DeleteAnnotations(Command):
    __slots__ = ("_label", "ids")

    def __init__(
        self,
        ids: Iterable[int],
        image_id: int | None = None,
        label: str = "",
        at: float | None = None,
    ) -> None:
        super().__init__(image_id, at)
        self.ids = _ids(ids)
        self._label = label or f"Delete {_plural(len(self.ids), 'object')}"

    @property
    def label(self) -> str:
        return self._label

    def apply(self, target: EditTarget) -> Command:
        deleted = target.delete_annotations(self.ids)
        return AddAnnotations(deleted, f"Undo {self._label}", self.image_id or deleted[0].image_id)


class UpdateAnnotation(Command):
    """Change any of geometry, label_id, attributes, z, hidden, locked of one annotation.

    The old values are captured when applied; the inverse is an UpdateAnnotation
    of the same fields back to them.
    """

    __slots__ = ("_label", "ann_id", "changes")

    def __init__(
        self,
        ann_id: int,
        *,
        label: str = "",
        image_id: int | None = None,
        at: float | None = None,
        **changes: Any,
    ) -> None:
        super().__init__(image_id, at)
        unknown = set(changes) - EDITABLE_FIELDS
        if unknown:
            raise ValidationError(f"update annotation: cannot change {', '.join(sorted(unknown))}")
        if not changes:
            raise ValidationError("update annotation: nothing to change")
        self.ann_id = int(ann_id)
        self.changes: dict[str, Any] = _frozen(changes)
        self._label = label or _update_label(self.changes)

    @property
    def label(self) -> str:
        return self._label

    def apply(self, target: EditTarget) -> Command:
        (back,) = _update_many(target, {self.ann_id: self.changes}).values()
        return UpdateAnnotation(
            self.ann_id, label=f"Undo {self._label}", image_id=self.image_id, **back
        )

    @property
    def nbytes(self) -> int:
        g = self.changes.get("geometry")
        return 200 + (_geometry_nbytes(g) if g is not None else 0)


class ReshapeAnnotation(UpdateAnnotation):
    """New geometry for one annotation (a vertex or box-handle drag: one command per drag)."""

    __slots__ = ()

    def __init__(
        self,
        ann_id: int,
        new_geometry: Geometry,
        label: str = "",
        image_id: int | None = None,
        at: float | None = None,
    ) -> None:
        super().__init__(
            ann_id,
            label=label or f"Reshape {new_geometry.kind}",
            image_id=image_id,
            at=at,
            geometry=new_geometry,
        )


class SetAttributes(UpdateAnnotation):
    __slots__ = ()

    def __init__(
        self,
        ann_id: int,
        attributes: Mapping[str, Any],
        label: str = "",
        image_id: int | None = None,
        at: float | None = None,
    ) -> None:
        super().__init__(
            ann_id,
            label=label or "Change attributes",
            image_id=image_id,
            at=at,
            attributes=dict(attributes),
        )


class Relabel(Command):
    __slots__ = ("ids", "label_id")

    def __init__(
        self,
        ids: Iterable[int],
        label_id: int,
        image_id: int | None = None,
        at: float | None = None,
    ) -> None:
        super().__init__(image_id, at)
        self.ids = _ids(ids)
        self.label_id = int(label_id)

    @property
    def label(self) -> str:
        return f"Relabel {_plural(len(self.ids), 'object')}"

    def apply(self, target: EditTarget) -> Command:
        old = _update_many(target, {i: {"label_id": self.label_id} for i in self.ids})
        return UpdateAnnotations(old, f"Undo {self.label}", self.image_id)


class MoveAnnotations(Command):
    """Translate annotations by (dx, dy) pixels; consecutive nudges of the same ids merge.

    The inverse restores the exact previous geometries (not a move by -dx, -dy,
    which float rounding and mask clipping at the border would make inexact).
    """

    __slots__ = ("dx", "dy", "ids")

    def __init__(
        self,
        ids: Iterable[int],
        dx: float,
        dy: float,
        image_id: int | None = None,
        at: float | None = None,
    ) -> None:
        super().__init__(image_id, at)
        self.ids = _ids(ids)
        self.dx = float(dx)
        self.dy = float(dy)

    @property
    def label(self) -> str:
        return f"Move {_plural(len(self.ids), 'object')}"

    def apply(self, target: EditTarget) -> Command:
        old: dict[int, dict[str, Any]] = {}
        moved: list[Annotation] = []
        for a in target.get_annotations(self.ids):
            g = a.geometry
            assert a.id is not None
            if isinstance(g, Mask):
                dx, dy = round(self.dx), round(self.dy)
                region = shift_region(target.get_mask_array(a.id), g.bbox(), dx, dy)
                if region is None:
                    continue
                target.put_mask_patch(a.id, region[0], region[1], region[2])
            elif isinstance(g, Box | Polygon | Keypoints):
                if self.dx == 0 and self.dy == 0:
                    continue
                moved.append(dataclasses.replace(a, geometry=g.translated(self.dx, self.dy)))
            else:
                continue  # tags have no extent
            old[a.id] = {"geometry": g}
        target.update_annotations(moved)
        return UpdateAnnotations(old, f"Undo {self.label}", self.image_id)

    def merge(self, newer: Command) -> Command | None:
        if (
            type(newer) is MoveAnnotations
            and newer.ids == self.ids
            and 0 <= newer.at - self.at <= MERGE_WINDOW_S
        ):
            return MoveAnnotations(
                self.ids, self.dx + newer.dx, self.dy + newer.dy, self.image_id, at=newer.at
            )
        return None


class Reorder(Command):
    """Change the drawing order: a direction ("up", "down", "front", "back") or explicit z values.

    Up/down swap with the neighbour in (z, id) order. When z values tie, the
    image's annotations are renumbered 0..n-1 once (only rows whose z changes are written).
    """

    __slots__ = ("direction", "ids", "z")

    def __init__(
        self,
        ids: Iterable[int],
        direction: Direction | None = None,
        z: Mapping[int, int] | Sequence[int] | None = None,
        image_id: int | None = None,
        at: float | None = None,
    ) -> None:
        super().__init__(image_id, at)
        self.ids = _ids(ids)
        if (direction is None) == (z is None):
            raise ValidationError("reorder: give either a direction or z values")
        if direction is not None and direction not in ("up", "down", "front", "back"):
            raise ValidationError(f"reorder: unknown direction {direction!r}")
        self.direction = direction
        if z is not None and not isinstance(z, Mapping):
            if len(z) != len(self.ids):
                raise ValidationError("reorder: one z value per annotation")
            z = dict(zip(self.ids, z, strict=True))
        self.z: dict[int, int] | None = (
            None if z is None else {int(k): int(v) for k, v in z.items()}
        )

    @property
    def label(self) -> str:
        names = {"up": "Bring forward", "down": "Send backward", "front": "Bring to front"}
        return names.get(self.direction or "", "Send to back" if self.direction else "Reorder")

    def apply(self, target: EditTarget) -> Command:
        new_z = self.z if self.z is not None else self._plan(target)
        current = target.get_annotations(list(new_z)) if new_z else []
        old = {a.id: a.z for a in current if a.z != new_z[a.id]}  # type: ignore[index]
        target.update_annotations(
            [dataclasses.replace(a, z=new_z[a.id]) for a in current if a.id in old]
        )  # type: ignore[index]
        if not old:
            return Batch([], f"Undo {self.label}", self.image_id)
        return Reorder(list(old), z=old, image_id=self.image_id)  # type: ignore[arg-type]

    def _plan(self, target: EditTarget) -> dict[int, int]:
        image_id = self.image_id or target.get_annotation(self.ids[0]).image_id
        order = target.z_order(image_id)
        chosen = set(self.ids)
        zs = [z for _, z in order]
        if self.direction == "front":
            top = max(zs)
            moving = [i for i, _ in order if i in chosen]
            return {i: top + 1 + k for k, i in enumerate(moving)}
        if self.direction == "back":
            bottom = min(zs)
            moving = [i for i, _ in order if i in chosen]
            return {i: bottom - len(moving) + k for k, i in enumerate(moving)}
        ids = [i for i, _ in order]
        # Swap each chosen annotation with its unchosen neighbour, walking towards the move.
        seq = list(ids) if self.direction == "down" else ids[::-1]
        for k in range(1, len(seq)):
            if seq[k] in chosen and seq[k - 1] not in chosen:
                seq[k - 1], seq[k] = seq[k], seq[k - 1]
        new_ids = seq if self.direction == "down" else seq[::-1]
        current = dict(order)
        if len(set(zs)) == len(zs):
            # Distinct z values: hand them out in the new order (only swapped rows change).
            return {i: z for i, z in zip(new_ids, sorted(zs), strict=True) if current[i] != z}
        return {i: k for k, i in enumerate(new_ids) if current[i] != k}


class PaintMask(Command):
    """A brush/eraser stroke (or wand/lasso) on a mask annotation, stored as a delta.

    Only the changed rectangle is kept, before and after, bit-packed: never a
    copy of the whole mask. ``before`` may be omitted (the inverse always uses
    what the target reports was there).
    """

    __slots__ = ("_after", "_before", "_label", "ann_id", "x0", "y0")

    def __init__(
        self,
        ann_id: int,
        x0: int,
        y0: int,
        before: np.ndarray | PackedPatch | None,
        after: np.ndarray | PackedPatch,
        label: str = "Paint mask",
        image_id: int | None = None,
        at: float | None = None,
    ) -> None:
        super().__init__(image_id, at)
        self.ann_id = int(ann_id)
        self.x0, self.y0 = int(x0), int(y0)
        if self.x0 < 0 or self.y0 < 0:
            raise ValidationError(f"paint mask: patch origin ({x0}, {y0}) is outside the mask")
        self._after = after if isinstance(after, PackedPatch) else PackedPatch.pack(after)
        self._before = (
            None
            if before is None
            else (before if isinstance(before, PackedPatch) else PackedPatch.pack(before))
        )
        if self._before is not None and self._before.shape != self._after.shape:
            raise ValidationError("paint mask: before and after patches differ in size")
        self._label = label

    @property
    def label(self) -> str:
        return self._label

    @property
    def after(self) -> np.ndarray:
        return self._after.unpack()

    @property
    def before(self) -> np.ndarray | None:
        return None if self._before is None else self._before.unpack()

    @property
    def rect(self) -> tuple[int, int, int, int]:
        """x0, y0, width, height of the changed rectangle."""
        return (self.x0, self.y0, self._after.width, self._after.height)

    def apply(self, target: EditTarget) -> Command:
        after = self._after.unpack()
        previous = target.put_mask_patch(self.ann_id, self.x0, self.y0, after)
        return PaintMask(
            self.ann_id,
            self.x0,
            self.y0,
            before=self._after,
            after=PackedPatch.pack(previous),
            label=f"Undo {self._label}",
            image_id=self.image_id,
        )

    @property
    def nbytes(self) -> int:
        return 150 + self._after.nbytes + (self._before.nbytes if self._before else 0)


# -- helpers ------------------------------------------------------------------------


def _update_many(
    target: EditTarget, changes: Mapping[int, Mapping[str, Any]]
) -> dict[int, dict[str, Any]]:
    """Apply field changes to many annotations in one bulk update; returns the old values."""
    if not changes:
        return {}
    current = target.get_annotations(list(changes))
    new = [dataclasses.replace(a, **_frozen(changes[a.id])) for a in current]  # type: ignore[index]
    olds = target.update_annotations(new)
    return {o.id: _frozen({k: getattr(o, k) for k in changes[o.id]}) for o in olds}  # type: ignore[index]


def _update_label(changes: Mapping[str, Any]) -> str:
    if set(changes) == {"geometry"}:
        return "Reshape"
    if set(changes) == {"label_id"}:
        return "Relabel"
    if set(changes) == {"attributes"}:
        return "Change attributes"
    if set(changes) == {"hidden"}:
        return "Hide" if changes["hidden"] else "Show"
    if set(changes) == {"locked"}:
        return "Lock" if changes["locked"] else "Unlock"
    if set(changes) == {"z"}:
        return "Reorder"
    return "Edit " + ", ".join(sorted(changes))
