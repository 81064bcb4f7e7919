"""Undoable edits of the taxonomy and of image status (part of ``core.commands``)."""

from __future__ import annotations

import copy
from typing import Any

from lightable.core.command_base import Batch, Command, EditTarget, _copy_label
from lightable.core.errors import ValidationError
from lightable.core.model import ImageStatus, Label

# Fields of a label that UpdateLabel may change.
LABEL_FIELDS = frozenset(
    {"name", "color", "kind", "shortcut", "parent_id", "attributes", "skeleton", "position"}
)


# -- taxonomy -----------------------------------------------------------------------


class AddLabel(Command):
    __slots__ = ("_label", "label_value")

    def __init__(
        self,
        label: Label,
        image_id: int | None = None,
        text: str = "",
        at: float | None = None,
    ) -> None:
        super().__init__(image_id, at)
        self.label_value = _copy_label(label)
        self._label = text or f"Add label {label.name!r}"

    @property
    def label(self) -> str:
        return self._label

    def apply(self, target: EditTarget) -> Command:
        stored = target.insert_label(_copy_label(self.label_value))
        assert stored.id is not None
        return DeleteLabel(stored.id, image_id=self.image_id, text=f"Undo {self._label}")


class UpdateLabel(Command):
    """Change fields of a label (name, color, kind, shortcut, parent_id, attributes, skeleton, position)."""

    __slots__ = ("_label", "changes", "label_id")

    def __init__(
        self,
        label_id: int,
        *,
        image_id: int | None = None,
        text: str = "",
        at: float | None = None,
        **changes: Any,
    ) -> None:
        super().__init__(image_id, at)
        unknown = set(changes) - LABEL_FIELDS
        if unknown:
            raise ValidationError(f"update label: cannot change {', '.join(sorted(unknown))}")
        if not changes:
            raise ValidationError("update label: nothing to change")
        self.label_id = int(label_id)
        self.changes: dict[str, Any] = copy.deepcopy(changes)
        self._label = text or "Edit label"

    @property
    def label(self) -> str:
        return self._label

    def apply(self, target: EditTarget) -> Command:
        current = target.get_label(self.label_id)
        new = _copy_label(current)
        for k, v in copy.deepcopy(self.changes).items():
            setattr(new, k, v)
        new.__post_init__()  # re-validate name and colour
        old = target.update_label(new)
        back = {k: copy.deepcopy(getattr(old, k)) for k in self.changes}
        return UpdateLabel(
            self.label_id, image_id=self.image_id, text=f"Undo {self._label}", **back
        )


class DeleteLabel(Command):
    """Delete a label. Fails (nothing changed) while annotations use it: relabel or delete
    them first, in the same Batch. Child labels are detached explicitly so undo reattaches them.
    """

    __slots__ = ("_label", "label_id")

    def __init__(
        self,
        label_id: int,
        image_id: int | None = None,
        text: str = "",
        at: float | None = None,
    ) -> None:
        super().__init__(image_id, at)
        self.label_id = int(label_id)
        self._label = text or "Delete label"

    @property
    def label(self) -> str:
        return self._label

    def apply(self, target: EditTarget) -> Command:
        detach = [UpdateLabel(c, parent_id=None) for c in target.label_children(self.label_id)]
        inverses = [c.apply(target) for c in detach]
        deleted = target.delete_label(self.label_id)
        inverses.append(AddLabel(deleted, text="Restore label"))
        return Batch(inverses[::-1], f"Undo {self._label}", self.image_id)


# -- images -------------------------------------------------------------------------


class SetImageStatus(Command):
    __slots__ = ("status",)

    def __init__(self, image_id: int, status: ImageStatus | str, at: float | None = None) -> None:
        super().__init__(int(image_id), at)
        self.status = ImageStatus(status)

    @property
    def label(self) -> str:
        return f"Mark image {self.status.value.replace('_', ' ')}"

    def apply(self, target: EditTarget) -> Command:
        assert self.image_id is not None
        old = target.set_image_status(self.image_id, self.status)
        return SetImageStatus(self.image_id, old)
