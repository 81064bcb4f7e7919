"""Randomized: hundreds of random commands through EditSession on a real project;
undo all -> the store exactly as it was; redo all -> exactly the edited state.

Failed commands (a random batch that deletes then moves the same object, a
label still in use...) must change nothing at all, which is checked too.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from lightable.core import commands as C
from lightable.core.document import ImageDocument
from lightable.core.errors import ValidationError
from lightable.core.geometry import Box, Geometry, Keypoints, Polygon, Tag
from lightable.core.model import Annotation, ImageStatus, Label
from lightable.imaging import masks
from lightable.store.edits import EditSession
from lightable.store.project import Project
from tests.core.editing_world import make_world, snapshot

W, H = 64, 48


class Gen:
    """Random commands valid (mostly) for the document's current state."""

    def __init__(self, rng: random.Random, project: Project) -> None:
        self.rng = rng
        self.project = project
        self.clock = 1000.0
        self.last_move: tuple[int, ...] | None = None
        self.names = 0

    def coord(self) -> float:
        return self.rng.choice([self.rng.uniform(0, W - 10), float(self.rng.randint(0, W - 10))])

    def geometry(self, kind: str) -> Geometry:
        r = self.rng
        if kind == "box":
            return Box(self.coord(), self.coord(), r.uniform(0, 9), r.uniform(0, 9))
        if kind == "polygon":
            n = r.randint(3, 7)
            return Polygon.from_points([(self.coord(), self.coord()) for _ in range(n)])
        if kind == "keypoints":
            return Keypoints(tuple((self.coord(), self.coord(), r.randint(0, 2)) for _ in range(4)))
        if kind == "mask":
            m = np.zeros((H, W), np.uint8)
            x, y = r.randint(0, W - 12), r.randint(0, H - 12)
            m[y : y + r.randint(1, 11), x : x + r.randint(1, 11)] = 1
            return masks.encode(m)
        return Tag()

    def attrs(self) -> dict[str, Any]:
        r = self.rng
        return {
            f"a{r.randint(0, 3)}": r.choice([True, 1.5, "x", [1, {"k": None}]])
            for _ in range(r.randint(0, 3))
        }

    def sample(self, doc: ImageDocument, k: int = 3) -> list[int]:
        ids = doc.ids()
        return self.rng.sample(ids, self.rng.randint(1, min(k, len(ids)))) if ids else []

    def label_id(self, doc: ImageDocument) -> int:
        return self.rng.choice(sorted(doc.labels))

    def command(
        self, doc: ImageDocument, allow_labels: bool = True, depth: int = 0
    ) -> C.Command | None:
        r = self.rng
        self.clock += r.choice([0.2, 0.5, 3.0])
        kinds = ["add"] * 4 + ["delete", "move", "move", "nudge", "reshape", "relabel", "attrs",
                               "flags", "reorder", "reorder_z", "paint", "paint", "status"]  # fmt: skip
        if allow_labels:
            kinds += ["add_label", "update_label", "delete_label"]
        if depth == 0:
            kinds += ["batch"]
        kind = r.choice(kinds)
        ids = self.sample(doc)
        if kind == "add" or (
            not ids and kind not in ("status", "add_label", "update_label", "delete_label", "batch")
        ):
            g = self.geometry(r.choice(["box", "polygon", "keypoints", "mask", "tag"]))
            return C.AddAnnotation(
                Annotation(
                    doc.image_id, self.label_id(doc), g, attributes=self.attrs(), z=r.randint(-2, 5)
                ),
                at=self.clock,
            )
        if kind == "delete":
            return C.DeleteAnnotations(ids, at=self.clock)
        if kind == "move":
            self.last_move = tuple(ids)
            return C.MoveAnnotations(ids, r.uniform(-5, 5), r.uniform(-5, 5), at=self.clock)
        if kind == "nudge":
            # Arrow-key nudges of the previous selection: these merge into one step.
            ids = (
                list(self.last_move)
                if self.last_move and all(i in doc for i in self.last_move)
                else ids
            )
            self.last_move = tuple(ids)
            self.clock -= 0.15 if self.clock > 0.3 else 0
            return C.MoveAnnotations(ids, r.choice([-1, 1]), r.choice([-1, 0, 1]), at=self.clock)
        if kind == "reshape":
            a = doc.annotation(ids[0])
            if a.kind in ("mask", "tag"):
                return C.UpdateAnnotation(a.id, label_id=self.label_id(doc), at=self.clock)
            return C.ReshapeAnnotation(a.id, self.geometry(str(a.kind)), at=self.clock)
        if kind == "relabel":
            return C.Relabel(ids, self.label_id(doc), at=self.clock)
        if kind == "attrs":
            return C.SetAttributes(ids[0], self.attrs(), at=self.clock)
        if kind == "flags":
            return C.UpdateAnnotation(
                ids[0], hidden=r.random() < 0.5, locked=r.random() < 0.5, at=self.clock
            )
        if kind == "reorder":
            return C.Reorder(ids, r.choice(["up", "down", "front", "back"]), at=self.clock)
        if kind == "reorder_z":
            return C.Reorder(ids, z=[r.randint(-3, 8) for _ in ids], at=self.clock)
        if kind == "paint":
            mids = [a.id for a in doc.annotations() if a.kind == "mask"]
            if not mids:
                return C.AddAnnotation(
                    Annotation(doc.image_id, self.label_id(doc), self.geometry("mask"))
                )
            w, h = r.randint(1, 20), r.randint(1, 20)
            x0, y0 = r.randint(0, W - w), r.randint(0, H - h)
            after = (np.random.default_rng(r.randint(0, 2**31)).random((h, w)) < 0.5).astype(
                np.uint8
            )
            return C.PaintMask(r.choice(mids), x0, y0, None, after, at=self.clock)
        if kind == "status":
            return C.SetImageStatus(doc.image_id, r.choice(list(ImageStatus)), at=self.clock)
        if kind == "add_label":
            self.names += 1
            return C.AddLabel(
                Label(name=f"L{self.names}", color=f"#{r.randrange(16**6):06x}"), at=self.clock
            )
        if kind == "update_label":
            lid = self.label_id(doc)
            others = [i for i in doc.labels if i != lid]
            return C.UpdateLabel(
                lid,
                color=f"#{r.randrange(16**6):06x}",
                shortcut=r.choice([None, "1", "q"]),
                parent_id=r.choice([None, *others]),
                attributes={"schema": self.attrs()},
                at=self.clock,
            )
        if kind == "delete_label":
            return C.DeleteLabel(self.label_id(doc), at=self.clock)  # often refused: in use
        subs = [self.command(doc, allow_labels, depth + 1) for _ in range(r.randint(2, 4))]
        return C.Batch([s for s in subs if s is not None], "Random batch", at=self.clock)


def apply_checked(
    doc: ImageDocument, cmd: C.Command, project: Project, before: dict
) -> tuple[bool, dict]:
    """Apply; a refused command must leave store, document and history untouched.

    ``before`` is the store's snapshot now; returns (applied, snapshot afterwards).
    """
    entries = doc.history.entries()
    try:
        doc.do(cmd)
    except ValidationError:
        assert snapshot(project) == before
        assert doc.history.entries() == entries
        assert_mirror(doc, project)
        return False, before
    return True, snapshot(project)


def assert_mirror(doc: ImageDocument, project: Project) -> None:
    assert doc.annotations() == project.annotations.for_image(doc.image_id)
    assert doc.labels == {lb.id: lb for lb in project.labels.all()}
    ids, xywh = doc.bboxes()
    assert dict(zip(ids.tolist(), map(tuple, xywh.tolist()), strict=True)) == {
        a.id: a.geometry.bbox() for a in doc.annotations()
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_random_edits_single_image_undo_redo_all(project: Project, seed: int) -> None:
    rng = random.Random(seed)
    world = make_world(project, n_images=1, size=(W, H), imported=True)
    session = EditSession(project)
    doc = session.open_document(world["images"][0])
    gen = Gen(rng, project)
    initial = snapshot(project)
    # The store's state at each history position, as last seen there.
    states: dict[int, dict] = {0: initial}
    current = initial
    applied = refused = undos = 0
    for _ in range(300):
        if doc.can_undo() and rng.random() < 0.08:
            doc.undo()  # some undo in the middle of work, then new edits drop the redo branch
            undos += 1
            current = snapshot(project)
            assert current == states[doc.history.index]
            continue
        if doc.can_redo() and rng.random() < 0.05:
            doc.redo()
            current = snapshot(project)
            assert current == states[doc.history.index]
            continue
        cmd = gen.command(doc)
        if cmd is not None:
            ok, current = apply_checked(doc, cmd, project, current)
            applied += ok
            refused += not ok
            states[doc.history.index] = current
    assert applied > 200 and refused > 0 and undos > 5
    assert len(doc.history) < applied  # nudges merged
    doc.goto(len(doc.history))
    edited = snapshot(project)
    assert edited == states[len(doc.history)] and edited != initial
    assert_mirror(doc, project)

    doc.goto(0)
    assert snapshot(project) == initial
    assert_mirror(doc, project)
    doc.goto(len(doc.history))
    assert snapshot(project) == edited
    assert_mirror(doc, project)
    # One step at a time, both ways: every intermediate state comes back exactly.
    while doc.undo():
        assert snapshot(project) == states[doc.history.index]
    while doc.redo():
        assert snapshot(project) == states[doc.history.index]
    assert snapshot(project) == edited


def test_random_edits_across_images(project: Project) -> None:
    """Work on several images, switching back and forth; undo everything in reverse order."""
    rng = random.Random(7)
    world = make_world(project, n_images=3, size=(W, H), imported=True)
    session = EditSession(project)
    gen = Gen(rng, project)
    initial = snapshot(project)
    log: list[int] = []  # image of each new history step, in the order they were made
    doc = session.open_document(world["images"][0])
    current = initial
    for _ in range(300):
        if rng.random() < 0.1:
            doc = session.open_document(rng.choice(world["images"]))
        cmd = gen.command(doc)
        n = len(doc.history)
        if cmd is None:
            continue
        ok, current = apply_checked(doc, cmd, project, current)
        if ok and len(doc.history) > n:
            log.append(doc.image_id)
    edited = snapshot(project)
    assert len(set(log)) == 3 and sum(len(h) for h in session.histories().values()) == len(log)
    for image_id in reversed(log):
        assert session.open_document(image_id).undo() is not None
    assert snapshot(project) == initial
    for image_id in log:
        assert session.open_document(image_id).redo() is not None
    assert snapshot(project) == edited
    assert_mirror(session.open_document(world["images"][1]), project)
