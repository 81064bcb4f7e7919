"""Unlimited undo/redo for one image.

The history is a list of steps and a position. Each step holds the command
that (re)does it and the command that undoes it. Undo applies the undo
command and keeps what *that* returns as the new redo command (and redo
likewise), so both directions are always the exact inverse of the state the
target was in: e.g. an undone "add" is redone with the same row id, and a
merged nudge is redone to the exact coordinates it had.

Undo and redo touch one step: O(size of the step), whatever the history length.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from lightable.core.commands import Command, EditTarget

HistoryListener = Callable[["History"], None]
log = logging.getLogger(__name__)


@dataclass(slots=True)
class Step:
    """One entry of the history panel."""

    label: str
    redo: Command  # applying it takes the target from before this step to after it
    undo: Command  # ... and this one back


class History:
    """Undo/redo stacks of one image (or of a whole project, for taxonomy-only windows)."""

    def __init__(self, image_id: int | None = None) -> None:
        self.image_id = image_id
        self._steps: list[Step] = []
        self._index = 0  # number of steps currently applied
        self._listeners: list[HistoryListener] = []
        # A step that must not absorb the next command (after undo/redo or an explicit break).
        self._sealed = False

    # -- state ----------------------------------------------------------------------
    @property
    def index(self) -> int:
        """Current position: how many of ``entries()`` are applied (0 = nothing)."""
        return self._index

    def __len__(self) -> int:
        return len(self._steps)

    def entries(self) -> list[str]:
        """Labels of all steps, oldest first; those at ``index`` and after are undone (redo-able)."""
        return [s.label for s in self._steps]

    def steps(self) -> list[Step]:
        return list(self._steps)

    def can_undo(self) -> bool:
        return self._index > 0

    def can_redo(self) -> bool:
        return self._index < len(self._steps)

    def undo_label(self) -> str | None:
        return self._steps[self._index - 1].label if self.can_undo() else None

    def redo_label(self) -> str | None:
        return self._steps[self._index].label if self.can_redo() else None

    @property
    def nbytes(self) -> int:
        """Rough memory held by the history (both directions of every step)."""
        return sum(s.redo.nbytes + s.undo.nbytes for s in self._steps)

    # -- changes --------------------------------------------------------------------
    def push(self, applied: Command, inverse: Command, *, merge: bool = True) -> None:
        """Record a command that has just been applied and the inverse it returned.

        Drops the redo branch. When ``merge`` and the previous step's command
        merges with ``applied`` (consecutive nudges), the two become one step
        whose undo is the older inverse (it restores the state before both).
        """
        del self._steps[self._index :]
        if merge and not self._sealed and self._steps:
            top = self._steps[-1]
            merged = top.redo.merge(applied)
            if merged is not None:
                top.redo = merged
                top.label = merged.label
                self._notify()
                return
        self._steps.append(Step(applied.label, applied, inverse))
        self._index = len(self._steps)
        self._sealed = False
        self._notify()

    def seal(self) -> None:
        """The next push starts a new step even if it could merge (e.g. after a selection change)."""
        self._sealed = True

    def clear(self) -> None:
        self._steps.clear()
        self._index = 0
        self._notify()

    def undo(self, target: EditTarget) -> Step | None:
        """Undo one step on ``target`` (one transaction); None when there is nothing to undo."""
        if not self.can_undo():
            return None
        step = self._steps[self._index - 1]
        with _transaction(target, step.label, "undo"):
            step.redo = step.undo.apply(target)
        self._index -= 1
        self._sealed = True
        self._notify()
        return step

    def redo(self, target: EditTarget) -> Step | None:
        if not self.can_redo():
            return None
        step = self._steps[self._index]
        with _transaction(target, step.label, "redo"):
            step.undo = step.redo.apply(target)
        self._index += 1
        self._sealed = True
        self._notify()
        return step

    def goto(self, index: int, target: EditTarget) -> None:
        """Undo or redo until ``index`` steps are applied (a click in the history panel).

        Each step is its own transaction, so a failure part-way leaves the
        history position matching what is in the store.
        """
        if not 0 <= index <= len(self._steps):
            raise IndexError(f"history has {len(self._steps)} steps; cannot go to {index}")
        while self._index > index:
            self.undo(target)
        while self._index < index:
            self.redo(target)

    # -- listeners ------------------------------------------------------------------
    def subscribe(self, fn: HistoryListener) -> Callable[[], None]:
        self._listeners.append(fn)

        def unsubscribe() -> None:
            if fn in self._listeners:
                self._listeners.remove(fn)

        return unsubscribe

    def _notify(self) -> None:
        for fn in list(self._listeners):
            try:
                fn(self)
            except Exception:  # a broken view must not stop the history (or the others)
                log.exception("history listener %r failed", fn)


def _transaction(target: EditTarget, label: str, via: str) -> AbstractContextManager[None]:
    tx = getattr(target, "transaction", None)
    return tx(label, via) if tx is not None else nullcontext()
