"""History and document behaviour on the in-memory target (no database)."""

from __future__ import annotations

import numpy as np
import pytest

from lightable.core import commands as C
from lightable.core.document import ImageDocument
from lightable.core.errors import ValidationError
from lightable.core.geometry import Box, Polygon
from lightable.core.history import History
from lightable.core.memory import MemoryTarget
from lightable.core.model import Annotation, Image, Label


def world() -> tuple[MemoryTarget, ImageDocument]:
    target = MemoryTarget(
        images=[Image("a.jpg", 1, 100, 80, id=1), Image("b.jpg", 1, 100, 80, id=2)],
        labels=[Label("cat", id=1), Label("dog", id=2)],
        annotations=[
            Annotation(1, 1, Box(10, 10, 5, 5), id=1),
            Annotation(1, 2, Polygon.from_points([(0, 0), (4, 0), (4, 4)]), z=1, id=2),
            Annotation(2, 1, Box(0, 0, 1, 1), id=3),
        ],
    )
    doc = ImageDocument(
        target.images[1],
        target,
        labels=target.labels.values(),
        annotations=target.annotations.values(),
    )
    return target, doc


def test_nudges_within_a_second_merge_into_one_step() -> None:
    target, doc = world()
    for k in range(5):
        doc.do(C.MoveAnnotations([1], 1, 0, at=100 + 0.3 * k))
    assert doc.history.entries() == ["Move 1 object"]
    assert target.annotations[1].geometry == Box(15, 10, 5, 5)
    doc.do(C.MoveAnnotations([1], 0, 1, at=103))  # more than a second later: a new step
    doc.do(C.MoveAnnotations([1, 2], 0, 1, at=103.1))  # other ids: a new step
    assert len(doc.history) == 3
    doc.undo()
    doc.undo()
    assert target.annotations[1].geometry == Box(15, 10, 5, 5)
    doc.undo()  # the five merged nudges go back at once
    assert target.annotations[1].geometry == Box(10, 10, 5, 5)
    doc.redo()
    assert target.annotations[1].geometry == Box(15, 10, 5, 5)


def test_no_merge_across_undo_selection_or_other_commands() -> None:
    _, doc = world()
    doc.do(C.MoveAnnotations([1], 1, 0, at=1.0))
    doc.undo()
    doc.do(C.MoveAnnotations([1], 1, 0, at=1.1))
    doc.do(C.MoveAnnotations([1], 1, 0, at=1.2))
    assert len(doc.history) == 1  # the redo branch went; these two merged
    doc.select([1])  # a selection change ends the run of nudges
    doc.do(C.MoveAnnotations([1], 1, 0, at=1.3))
    doc.do(C.UpdateAnnotation(1, hidden=True, at=1.4))
    doc.do(C.MoveAnnotations([1], 1, 0, at=1.5))
    assert doc.history.entries() == ["Move 1 object", "Move 1 object", "Hide", "Move 1 object"]


def test_new_command_after_undo_drops_the_redo_branch() -> None:
    target, doc = world()
    doc.do(C.MoveAnnotations([1], 1, 0, at=0))
    doc.do(C.UpdateAnnotation(1, locked=True, at=5))
    doc.do(C.Relabel([1], 2, at=10))
    doc.undo()
    doc.undo()
    assert doc.history.index == 1 and doc.can_redo()
    doc.do(C.DeleteAnnotations([2], at=20))
    assert doc.history.entries() == ["Move 1 object", "Delete 1 object"]
    assert not doc.can_redo() and doc.redo() is None
    assert target.annotations[1].label_id == 1 and not target.annotations[1].locked


def test_goto_walks_both_ways_and_rejects_bad_index() -> None:
    target, doc = world()
    states = [target.state()]
    for k in range(6):
        doc.do(C.MoveAnnotations([1 + k % 2], k + 1, 0, at=10.0 * k))
        states.append(target.state())
    seen: list[int] = []
    doc.history.subscribe(lambda h: seen.append(h.index))
    doc.goto(2)
    assert target.state() == states[2] and doc.history.index == 2
    assert seen == [5, 4, 3, 2]
    doc.goto(5)
    assert target.state() == states[5]
    doc.goto(0)
    assert target.state() == states[0]
    with pytest.raises(IndexError):
        doc.goto(7)
    assert doc.history.entries() == ["Move 1 object"] * 6


def test_undo_touches_only_its_step() -> None:
    """Undo/redo cost does not grow with the history: count the primitives it runs."""

    class Counting(MemoryTarget):
        calls = 0

        def update_annotation(self, a: Annotation) -> Annotation:
            Counting.calls += 1
            return super().update_annotation(a)

    target = Counting(images=[Image("a", 1, 9, 9, id=1)], labels=[Label("x", id=1)],
                      annotations=[Annotation(1, 1, Box(0, 0, 1, 1), id=1)])  # fmt: skip
    h = History(1)
    for k in range(2000):
        cmd = C.MoveAnnotations([1], 1, 0, at=10.0 * k)
        h.push(cmd, cmd.apply(target))
    Counting.calls = 0
    h.undo(target)
    h.redo(target)
    assert Counting.calls == 2


def test_failed_undo_leaves_history_where_it_was() -> None:
    target, doc = world()
    doc.do(C.MoveAnnotations([1], 3, 0))
    del target.annotations[1]  # deleted behind the history's back (another window)
    with pytest.raises(ValidationError, match="annotation 1"):
        doc.undo()
    assert doc.history.index == 1 and doc.can_undo()


def test_memory_target_transaction_is_atomic() -> None:
    target, doc = world()
    before = target.state()
    with pytest.raises(ValidationError):
        doc.do(C.Batch([C.MoveAnnotations([1], 1, 1), C.Relabel([2], 99)]))
    assert target.state() == before and len(doc.history) == 0
    assert doc.annotation(1).geometry == Box(10, 10, 5, 5)


def test_document_mirror_order_bboxes_and_events() -> None:
    _, doc = world()
    events = []
    doc.subscribe(events.append)
    assert [a.id for a in doc.annotations()] == [1, 2] and len(
        doc
    ) == 2  # image 2's box is not here
    ev = doc.do(C.AddAnnotation(Annotation(1, 2, Box(50, 50, 10, 20), z=doc.top_z())))
    (new,) = ev.added
    assert doc.ids() == [1, 2, new]
    doc.do(C.Reorder([new], "back"))
    assert doc.ids() == [new, 1, 2]
    doc.do(C.Reorder([1], "up"))
    assert doc.ids() == [new, 2, 1]
    ids, xywh = doc.bboxes()
    assert dict(zip(ids.tolist(), map(tuple, xywh.tolist()), strict=True)) == {
        1: (10, 10, 5, 5), 2: (0, 0, 4, 4), new: (50, 50, 10, 20)
    }  # fmt: skip
    with pytest.raises(ValueError):
        xywh[0, 0] = 1  # read-only views
    doc.do(C.DeleteAnnotations([1]))
    ids, _ = doc.bboxes()
    assert sorted(ids.tolist()) == sorted([2, new])
    assert [e.cause for e in events] == ["do"] * 4
    assert events[-1].removed == {1} and events[1].changed == {new}


def test_bbox_index_stays_right_under_random_churn() -> None:
    rng = np.random.default_rng(0)
    target, doc = world()
    for _ in range(400):
        ids = doc.ids()
        if ids and rng.random() < 0.3:
            doc.do(C.DeleteAnnotations([int(rng.choice(ids))]))
        elif ids and rng.random() < 0.5:
            doc.do(C.MoveAnnotations([int(rng.choice(ids))], float(rng.normal()), 1.0))
        elif ids and rng.random() < 0.5:
            pick = [int(i) for i in rng.choice(ids, size=min(3, len(ids)), replace=False)]
            if rng.random() < 0.5:
                doc.do(C.Reorder(pick, str(rng.choice(["up", "down", "front", "back"]))))  # type: ignore[arg-type]
            else:
                doc.do(C.Reorder(pick, z=[int(z) for z in rng.integers(-3, 4, len(pick))]))
        else:
            x, y = rng.uniform(0, 90, 2)
            doc.do(C.AddAnnotation(Annotation(1, 1, Box(x, y, 3, 4), z=int(rng.integers(-2, 3)))))
        if rng.random() < 0.2 and doc.can_undo():
            doc.undo()
        mine = {i: a for i, a in target.annotations.items() if a.image_id == 1}
        assert doc.ids() == sorted(mine, key=lambda i: (mine[i].z, i))  # drawing order kept
    ids, xywh = doc.bboxes()
    expect = {i: a.geometry.bbox() for i, a in target.annotations.items() if a.image_id == 1}
    assert dict(zip(ids.tolist(), map(tuple, xywh.tolist()), strict=True)) == expect


def test_label_edits_are_undoable_and_mirrored() -> None:
    target, doc = world()
    doc.do(C.AddLabel(Label("bird", color="#102030")))
    (bird,) = [i for i, lb in doc.labels.items() if lb.name == "bird"]
    doc.do(C.UpdateLabel(bird, name="parrot", color="#00ff00"))
    assert doc.labels[bird].name == "parrot" == target.labels[bird].name
    doc.undo()
    assert doc.labels[bird].name == "bird"
    doc.undo()
    assert bird not in doc.labels and bird not in target.labels
    doc.redo()
    assert doc.labels[bird].name == "bird" and target.labels[bird].id == bird


def test_image_status_command() -> None:
    target, doc = world()
    ev = doc.do(C.SetImageStatus(1, "done"))
    assert ev.image_changed and doc.image.status == "done" == target.images[1].status
    doc.undo()
    assert doc.image.status == "new"


def test_commands_validate_their_input() -> None:
    with pytest.raises(ValidationError, match="cannot change"):
        C.UpdateAnnotation(1, image_id_x=3)
    with pytest.raises(ValidationError, match="no annotations"):
        C.DeleteAnnotations([])
    with pytest.raises(ValidationError, match="either a direction or z"):
        C.Reorder([1])
    with pytest.raises(ValidationError, match="differ in size"):
        C.PaintMask(1, 0, 0, np.zeros((2, 2)), np.zeros((3, 3)))
    with pytest.raises(ValidationError, match="cannot change"):
        C.UpdateLabel(1, id=5)


def test_listeners_see_the_history_already_updated() -> None:
    _, doc = world()
    seen: list[tuple[str, int, bool, bool]] = []
    doc.subscribe(
        lambda e: seen.append((e.cause, doc.history.index, doc.can_undo(), doc.can_redo()))
    )
    doc.do(C.MoveAnnotations([1], 1, 0))
    doc.undo()
    doc.redo()
    assert seen == [("do", 1, True, False), ("undo", 0, False, True), ("redo", 1, True, False)]


def test_a_failing_listener_does_not_desync_document_and_history(
    caplog: pytest.LogCaptureFixture,
) -> None:
    target, doc = world()
    calls: list[str] = []

    def broken(e: object) -> None:
        raise RuntimeError("view bug")

    doc.subscribe(broken)
    doc.subscribe(lambda e: calls.append(e.cause))  # type: ignore[attr-defined]
    doc.history.subscribe(lambda h: 1 / 0)
    doc.do(C.MoveAnnotations([1], 5, 0))
    assert doc.history.entries() == ["Move 1 object"]
    assert doc.annotation(1).geometry == target.annotations[1].geometry == Box(15, 10, 5, 5)
    doc.undo()
    assert doc.annotation(1).geometry == target.annotations[1].geometry == Box(10, 10, 5, 5)
    assert calls == ["do", "undo"]
    assert "view bug" in caplog.text
