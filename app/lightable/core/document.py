"""The Qt-free model of the image being edited (napari-style layer model).

``ImageDocument`` holds the image, the taxonomy, the image's annotations in
z-order and the selection. Views (canvas, layers, history, properties panels)
subscribe and redraw from ``DocumentEvent``s; tools change it only through
``do(command)``. Every command runs through the backing ``EditTarget`` (the
store) in one transaction; the document mirrors what the target reported
only after that transaction committed, so the screen never shows an edit the
store does not have.

Listeners are called on the thread that made the change (the UI thread for
edits); a Qt view forwards them to widgets itself.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from lightable.core.commands import Command, EditTarget
from lightable.core.errors import ValidationError
from lightable.core.history import History
from lightable.core.model import Annotation, Image, ImageStatus, Label

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DocumentEvent:
    """What changed. ``cause`` is "do", "undo", "redo", "select" or "reload"."""

    cause: str
    added: frozenset[int] = frozenset()
    removed: frozenset[int] = frozenset()
    changed: frozenset[int] = frozenset()
    selection_changed: bool = False
    labels_changed: bool = False
    image_changed: bool = False
    label: str = ""  # the command's history label, when there is one

    @property
    def annotations_changed(self) -> bool:
        return bool(self.added or self.removed or self.changed)


DocumentListener = Callable[[DocumentEvent], None]


class ImageDocument:
    """One image with its annotations, labels, selection and history."""

    def __init__(
        self,
        image: Image,
        target: EditTarget,
        history: History | None = None,
        labels: Iterable[Label] = (),
        annotations: Iterable[Annotation] = (),
        *,
        bboxes: np.ndarray | None = None,
    ) -> None:
        """``bboxes``: optional N x 4 xywh of ``annotations`` (same order), as the store
        keeps them in its x/y/w/h columns; saves computing every geometry's box."""
        if image.id is None:
            raise ValidationError("document: the image has no id")
        self.image = image
        self.history = history if history is not None else History(image.id)
        self.labels: dict[int, Label] = {lb.id: lb for lb in labels if lb.id is not None}
        self._target = target
        self._proxy = _MirroringTarget(target, self)
        self._anns: dict[int, Annotation] = {}
        self._order: list[int] | None = None  # ids in z-order; None when it must be rebuilt
        self._selection: set[int] = set()
        self._listeners: list[DocumentListener] = []
        self._boxes = _BoxIndex()
        self._load(annotations, bboxes)

    @property
    def image_id(self) -> int:
        assert self.image.id is not None
        return self.image.id

    @property
    def target(self) -> EditTarget:
        """The target that mirrors into this document (for tools that apply by hand)."""
        return self._proxy

    # -- edits ----------------------------------------------------------------------
    # Listeners hear of an edit only once the store committed it AND the history
    # records it, so a view asking ``can_undo()`` or ``history.index`` from its
    # listener sees the new state.
    def do(self, cmd: Command, *, merge: bool = True) -> DocumentEvent:
        """Apply ``cmd`` in one transaction, record it in the history, notify; returns the event."""
        with self._proxy.deferred():
            with self._proxy.transaction(cmd.label, "do"):
                inverse = cmd.apply(self._proxy)
            self.history.push(cmd, inverse, merge=merge)
        return self._proxy.last_event

    def undo(self) -> DocumentEvent | None:
        with self._proxy.deferred():
            step = self.history.undo(self._proxy)
        return self._proxy.last_event if step else None

    def redo(self) -> DocumentEvent | None:
        with self._proxy.deferred():
            step = self.history.redo(self._proxy)
        return self._proxy.last_event if step else None

    def goto(self, index: int) -> None:
        """Undo or redo step by step to ``index`` (a click in the history panel)."""
        if not 0 <= index <= len(self.history):
            raise IndexError(f"history has {len(self.history)} steps; cannot go to {index}")
        while self.history.index > index:
            self.undo()
        while self.history.index < index:
            self.redo()

    def can_undo(self) -> bool:
        return self.history.can_undo()

    def can_redo(self) -> bool:
        return self.history.can_redo()

    # -- reading --------------------------------------------------------------------
    def annotation(self, ann_id: int) -> Annotation:
        try:
            return self._anns[ann_id]
        except KeyError:
            raise KeyError(f"annotation {ann_id} is not on image {self.image_id}") from None

    def get(self, ann_id: int) -> Annotation | None:
        return self._anns.get(ann_id)

    def __contains__(self, ann_id: object) -> bool:
        return ann_id in self._anns

    def __len__(self) -> int:
        return len(self._anns)

    def annotations(self) -> list[Annotation]:
        """All annotations, bottom first (z, then id): the drawing order."""
        return [self._anns[i] for i in self._z_ids()]

    def ids(self) -> list[int]:
        """Annotation ids in drawing order."""
        return list(self._z_ids())

    def visible(self) -> Iterator[Annotation]:
        return (a for a in self.annotations() if not a.hidden)

    def top_z(self) -> int:
        """A z that puts a new annotation above all others."""
        return max((a.z for a in self._anns.values()), default=-1) + 1

    def bboxes(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64[N], xywh float64[N, 4]) of all annotations, in no particular order.

        Kept up to date incrementally (O(1) per edited annotation); the arrays are
        read-only views, valid until the next change. For spatial queries and hit tests.
        """
        return self._boxes.arrays()

    def mask_array(self, ann_id: int) -> np.ndarray:
        """The decoded mask of a mask annotation (H x W uint8 0/1, read-only, cached by the store)."""
        return self._target.get_mask_array(ann_id)

    def label_for(self, ann_id: int) -> Label | None:
        return self.labels.get(self.annotation(ann_id).label_id)

    # -- selection ------------------------------------------------------------------
    def select(self, ids: Iterable[int], add: bool = False) -> None:
        """Select ``ids`` (replacing the selection unless ``add``); unknown ids are ignored."""
        new = {i for i in ids if i in self._anns}
        sel = self._selection | new if add else new
        self._set_selection(sel)

    def deselect(self, ids: Iterable[int]) -> None:
        self._set_selection(self._selection - set(ids))

    def toggle(self, ann_id: int) -> None:
        self._set_selection(self._selection ^ ({ann_id} & self._anns.keys()))

    def clear_selection(self) -> None:
        self._set_selection(set())

    def selected(self) -> frozenset[int]:
        return frozenset(self._selection)

    def _set_selection(self, sel: set[int]) -> None:
        if sel == self._selection:
            return
        self._selection = sel
        # A new selection ends a run of nudges: moving other objects is a new step.
        self.history.seal()
        self._emit(DocumentEvent("select", selection_changed=True))

    # -- listeners ------------------------------------------------------------------
    def subscribe(self, fn: DocumentListener) -> Callable[[], None]:
        self._listeners.append(fn)

        def unsubscribe() -> None:
            if fn in self._listeners:
                self._listeners.remove(fn)

        return unsubscribe

    def _emit(self, event: DocumentEvent) -> None:
        # A failing view must not leave the document half-notified or the history behind
        # the store: report it and carry on with the other listeners.
        for fn in list(self._listeners):
            try:
                fn(event)
            except Exception:
                log.exception("document listener %r failed on %s", fn, event.cause)

    # -- loading --------------------------------------------------------------------
    def reload(
        self,
        annotations: Iterable[Annotation],
        labels: Iterable[Label] | None = None,
        image: Image | None = None,
        *,
        bboxes: np.ndarray | None = None,
    ) -> None:
        """Replace the content with fresh rows (after a change made elsewhere);
        ``bboxes`` as in the constructor."""
        before = set(self._anns)
        self._anns.clear()
        self._boxes = _BoxIndex()
        self._load(annotations, bboxes)
        if labels is not None:
            self.labels = {lb.id: lb for lb in labels if lb.id is not None}
        if image is not None:
            self.image = image
        self._selection &= self._anns.keys()
        self._emit(
            DocumentEvent(
                "reload",
                added=frozenset(self._anns.keys() - before),
                removed=frozenset(before - self._anns.keys()),
                changed=frozenset(before & self._anns.keys()),
                selection_changed=True,
                labels_changed=labels is not None,
                image_changed=image is not None,
            )
        )

    def _load(self, annotations: Iterable[Annotation], bboxes: np.ndarray | None = None) -> None:
        anns = list(annotations)
        image_id = self.image_id
        if (
            bboxes is not None
            and len(bboxes) == len(anns)
            and not self._anns
            and all(a.image_id == image_id and a.id is not None for a in anns)
        ):
            # The store's own rows, with their boxes: one dict and two arrays instead
            # of a Python bbox() per annotation (10k polygons: ~0.1 s).
            by_id: dict[int, Annotation] = {a.id: a for a in anns}  # type: ignore[misc]
            if len(by_id) == len(anns):
                self._anns = by_id
                ids = np.fromiter(by_id, np.int64, len(by_id))
                self._boxes = _BoxIndex.from_arrays(ids, np.asarray(bboxes, np.float64))
                self._order = None
                return
        for a in anns:
            if a.image_id != image_id or a.id is None:
                continue
            self._anns[a.id] = a
            self._boxes.set(a.id, a.geometry.bbox())
        self._order = None

    def _update_order(self, out: set[int], into: set[int]) -> None:
        """Keep the cached drawing order in step without re-sorting everything (10k shapes:
        a geometry edit costs nothing here, an add or a z change a bisect)."""
        if self._order is None or not (out or into):
            return
        if len(out) + len(into) > 64:
            self._order = None  # many changes: one sort on the next read is cheaper
            return
        if out:
            self._order = [i for i in self._order if i not in out]
        key = self._z_key
        for i in sorted(into, key=key):
            bisect.insort(self._order, i, key=key)

    def _z_key(self, ann_id: int) -> tuple[int, int]:
        return (self._anns[ann_id].z, ann_id)

    def _z_ids(self) -> list[int]:
        if self._order is None:
            self._order = sorted(self._anns, key=self._z_key)
        return self._order

    # -- mirroring (called by _MirroringTarget after a commit) ----------------------
    def _apply_changes(self, ch: _Changes, cause: str, label: str) -> DocumentEvent:
        added: set[int] = set()
        removed: set[int] = set()
        changed: set[int] = set()
        restack: set[int] = set()  # ids whose place in the drawing order moves
        for ann_id, a in ch.annotations.items():  # one entry per id: its state after the commit
            old = self._anns.get(ann_id)
            if a is None:
                if old is not None:
                    del self._anns[ann_id]
                    self._boxes.remove(ann_id)
                    removed.add(ann_id)
                continue
            if a.image_id != self.image_id:
                continue  # an edit of another image through this document's target
            self._anns[ann_id] = a
            self._boxes.set(ann_id, a.geometry.bbox())
            (changed if old is not None else added).add(ann_id)
            if old is None or old.z != a.z:
                restack.add(ann_id)
        self._update_order(removed | restack, added | restack)
        for label_id, lb in ch.labels.items():
            if lb is None:
                self.labels.pop(label_id, None)
            else:
                self.labels[label_id] = lb
        if ch.status is not None:
            self.image.status = ch.status
        sel_changed = bool(self._selection & removed)
        self._selection -= removed
        event = DocumentEvent(
            cause,
            added=frozenset(added),
            removed=frozenset(removed),
            changed=frozenset(changed),
            selection_changed=sel_changed,
            labels_changed=bool(ch.labels),
            image_changed=ch.status is not None,
            label=label,
        )
        return event


@dataclass(slots=True)
class _Changes:
    """What one transaction did, by id; None marks a deletion. Last write wins."""

    annotations: dict[int, Annotation | None] = field(default_factory=dict)
    labels: dict[int, Label | None] = field(default_factory=dict)
    status: ImageStatus | None = None


class _MirroringTarget:
    """Forwards primitives to the real target and records their results; the
    document applies the record once the outermost transaction has committed
    (and drops it if the transaction failed)."""

    def __init__(self, base: EditTarget, doc: ImageDocument) -> None:
        self._base = base
        self._doc = doc
        self._depth = 0
        self._pending = _Changes()
        self.last_event = DocumentEvent("do")
        self._defer = 0
        self._queued: list[DocumentEvent] = []

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold events back until the block ends (then emit them, even if it failed)."""
        self._defer += 1
        try:
            yield
        finally:
            self._defer -= 1
            if not self._defer:
                queued, self._queued = self._queued, []
                for ev in queued:
                    self._doc._emit(ev)

    @contextmanager
    def transaction(self, label: str = "", via: str = "do") -> Iterator[None]:
        outer = self._depth == 0
        if outer:
            self._pending = _Changes()
        self._depth += 1
        try:
            with self._base.transaction(label, via):
                yield
        except BaseException:
            if outer:
                self._pending = _Changes()
            raise
        finally:
            self._depth -= 1
        if outer:
            pending, self._pending = self._pending, _Changes()
            self.last_event = self._doc._apply_changes(pending, via, label)
            if self._defer:
                self._queued.append(self.last_event)
            else:
                self._doc._emit(self.last_event)

    # Outside a transaction (a tool applying by hand) each primitive is its own one.
    @contextmanager
    def _op(self) -> Iterator[None]:
        if self._depth:
            yield
        else:
            with self.transaction():
                yield

    def get_annotation(self, ann_id: int) -> Annotation:
        return self._base.get_annotation(ann_id)

    def get_annotations(self, ids: Sequence[int]) -> list[Annotation]:
        return self._base.get_annotations(ids)

    def insert_annotation(self, a: Annotation) -> Annotation:
        return self.insert_annotations([a])[0]

    def insert_annotations(self, anns: Sequence[Annotation]) -> list[Annotation]:
        with self._op():
            stored = self._base.insert_annotations(anns)
            for a in stored:
                assert a.id is not None
                self._pending.annotations[a.id] = _snapshot(a)
        return stored

    def delete_annotation(self, ann_id: int) -> Annotation:
        return self.delete_annotations([ann_id])[0]

    def delete_annotations(self, ids: Sequence[int]) -> list[Annotation]:
        with self._op():
            old = self._base.delete_annotations(ids)
            for i in ids:
                self._pending.annotations[i] = None
        return old

    def update_annotation(self, a: Annotation) -> Annotation:
        return self.update_annotations([a])[0]

    def update_annotations(self, anns: Sequence[Annotation]) -> list[Annotation]:
        with self._op():
            old = self._base.update_annotations(anns)
            for a in anns:
                assert a.id is not None
                self._pending.annotations[a.id] = _snapshot(a)
        return old

    def z_order(self, image_id: int) -> list[tuple[int, int]]:
        return self._base.z_order(image_id)

    def get_label(self, label_id: int) -> Label:
        return self._base.get_label(label_id)

    def insert_label(self, label: Label) -> Label:
        with self._op():
            stored = self._base.insert_label(label)
            assert stored.id is not None
            self._pending.labels[stored.id] = dataclasses.replace(stored)
        return stored

    def delete_label(self, label_id: int) -> Label:
        with self._op():
            old = self._base.delete_label(label_id)
            self._pending.labels[label_id] = None
        return old

    def update_label(self, label: Label) -> Label:
        with self._op():
            old = self._base.update_label(label)
            assert label.id is not None
            self._pending.labels[label.id] = dataclasses.replace(label)
        return old

    def label_children(self, label_id: int) -> list[int]:
        return self._base.label_children(label_id)

    def set_image_status(self, image_id: int, status: ImageStatus) -> ImageStatus:
        with self._op():
            old = self._base.set_image_status(image_id, status)
            if image_id == self._doc.image_id:
                self._pending.status = ImageStatus(status)
        return old

    def get_mask_array(self, ann_id: int) -> np.ndarray:
        return self._base.get_mask_array(ann_id)

    def put_mask_patch(self, ann_id: int, x0: int, y0: int, patch: np.ndarray) -> np.ndarray:
        with self._op():
            previous = self._base.put_mask_patch(ann_id, x0, y0, patch)
            self._pending.annotations[ann_id] = self._base.get_annotation(ann_id)
        return previous


def _snapshot(a: Annotation) -> Annotation:
    # The document keeps its own object: commands and tools may hold the one they passed.
    return dataclasses.replace(a)


class _BoxIndex:
    """Parallel arrays of ids and xywh with O(1) set/remove (swap with the last row)."""

    def __init__(self) -> None:
        self._ids = np.zeros(64, dtype=np.int64)
        self._xywh = np.zeros((64, 4), dtype=np.float64)
        self._row: dict[int, int] = {}

    @classmethod
    def from_arrays(cls, ids: np.ndarray, xywh: np.ndarray) -> _BoxIndex:
        """An index of unique ``ids`` (int64[N]) with boxes ``xywh`` (float64[N, 4])."""
        n = len(ids)
        idx = cls()
        cap = max(64, n)
        idx._ids = np.zeros(cap, dtype=np.int64)
        idx._xywh = np.zeros((cap, 4), dtype=np.float64)
        idx._ids[:n] = ids
        idx._xywh[:n] = np.reshape(xywh, (n, 4))
        idx._row = dict(zip(ids.tolist(), range(n), strict=True))
        return idx

    def set(self, ann_id: int, bbox: tuple[float, float, float, float]) -> None:
        r = self._row.get(ann_id)
        if r is None:
            r = len(self._row)
            if r == len(self._ids):
                self._ids = np.resize(self._ids, 2 * r)
                self._xywh = np.resize(self._xywh, (2 * r, 4))
            self._row[ann_id] = r
            self._ids[r] = ann_id
        self._xywh[r] = bbox

    def remove(self, ann_id: int) -> None:
        r = self._row.pop(ann_id, None)
        if r is None:
            return
        last = len(self._row)
        if r != last:
            moved = int(self._ids[last])
            self._ids[r] = moved
            self._xywh[r] = self._xywh[last]
            self._row[moved] = r

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        n = len(self._row)
        ids, xywh = self._ids[:n], self._xywh[:n]
        ids.flags.writeable = False
        xywh.flags.writeable = False
        return ids, xywh
