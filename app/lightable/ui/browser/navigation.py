"""The labeling flow between browser and canvas: next/previous, next unfinished, mark done.

The order is the browser's current filtered order. Stepping is O(1): the
browser's model maps the current row to the next id directly; the only store
access is the canvas loading the new image. "Next unfinished" is one indexed
query (``images.next_with_status``). Status changes are commands, so marking an
image done is undoable in that image's history.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import QObject, Signal

from lightable.core.errors import LightableError
from lightable.core.model import ImageStatus

UNFINISHED = (ImageStatus.NEW, ImageStatus.IN_PROGRESS)


class Navigator(QObject):
    """Moves the canvas (and the browser's current tile) through the filtered order."""

    message = Signal(str)  # something to tell the user in the status bar

    def __init__(self, browser: Any, canvas: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.browser = browser
        self.canvas = canvas
        self.session: Any = None

    def set_session(self, session: Any) -> None:
        self.session = session

    def current_id(self) -> int | None:
        shown = self.canvas.image_id() if hasattr(self.canvas, "image_id") else None
        return shown if shown is not None else self.browser.current_id()

    def open(self, image_id: int | None) -> None:
        """Show ``image_id`` in the canvas and make it the browser's current tile."""
        if image_id is None:
            return
        if self.browser.current_id() != image_id:
            self.browser.select_image(image_id)
        self.canvas.show_image(image_id)

    def step(self, delta: int) -> int | None:
        """Go ``delta`` images forward (or back); returns the id shown, None at an end."""
        target = self.browser.neighbor(self.current_id(), delta)
        if target is None:
            self.message.emit("Last image" if delta > 0 else "First image")
            return None
        self.open(target)
        return target

    def next(self) -> int | None:
        return self.step(1)

    def previous(self) -> int | None:
        return self.step(-1)

    def next_unfinished(self) -> int | None:
        """The next image after the current one whose status is new or in progress."""
        project = self.browser.project
        if project is None:
            return None
        query = self.browser.query()
        current = self.current_id()
        image = project.images.get(current) if current is not None else None
        found = None
        if image is not None:
            found = project.images.next_with_status(query, image, UNFINISHED)
        if found is None:
            # Wrap around: the earliest unfinished image from the top of the order.
            candidates = [
                im
                for status in UNFINISHED
                for im in project.images.page(dataclasses.replace(query, status=status), None, 1)
            ]
            rows = self.browser.model
            found = min(candidates, key=lambda im: rows.row_of(im.id) or 0, default=None)
        if found is None or found.id == current:
            self.message.emit("Every image in this view is done")
            return None
        self.open(found.id)
        return found.id

    def set_status(self, status: ImageStatus, image_ids: list[int] | None = None) -> bool:
        """Set the status of the given images (default: the one shown) as undoable commands."""
        if self.session is None:
            return False
        ids = image_ids if image_ids else [i for i in [self.current_id()] if i is not None]
        if not ids:
            self.message.emit("No image to mark")
            return False
        from lightable.core.commands import SetImageStatus

        doc = self.session.document
        try:
            for image_id in ids:
                cmd = SetImageStatus(image_id, status)
                if doc is not None and doc.image_id == image_id:
                    doc.do(cmd)
                else:
                    # An image that is not open: its own history, one transaction.
                    editor = self.session.editor
                    with editor.transaction(cmd.label):
                        inverse = cmd.apply(editor)
                    self.session.history(image_id).push(cmd, inverse)
        except LightableError as exc:
            self.message.emit(str(exc))
            return False
        n = len(ids)
        label = str(status).replace("_", " ")
        self.message.emit(f"Marked {n} images {label}" if n > 1 else f"Marked {label}")
        return True

    def mark_done(self) -> bool:
        """Mark the browser's selection done if several tiles are selected, else the shown image."""
        selected = self.browser.selected_ids()
        return self.set_status(ImageStatus.DONE, selected if len(selected) > 1 else None)

    def mark_done_and_next(self) -> int | None:
        if self.set_status(ImageStatus.DONE):
            return self.next_unfinished()
        return None
