"""Errors that carry what a person needs to fix the problem."""

from __future__ import annotations

from pathlib import Path


class LightableError(Exception):
    """Base class: the message is meant to be shown to a person as it is."""


class ValidationError(LightableError, ValueError):
    """A domain value (geometry, label, attribute) is not valid."""


class BadInputError(LightableError):
    """Outside data (an image, an annotation file, a model file) is unusable.

    The message always names the file, and where possible the place in it.
    """

    def __init__(self, path: str | Path, problem: str, where: str | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        self.where = where
        loc = f"{self.path}:{where}" if where else self.path
        super().__init__(f"{loc}: {problem}")


class ProjectError(LightableError):
    """The project cannot be opened or created (missing, newer schema, locked)."""
