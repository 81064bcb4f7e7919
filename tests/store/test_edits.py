"""Each command on a real project: apply -> store state, undo -> exact previous rows, redo."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from lightable.core import commands as C
from lightable.core.errors import ValidationError
from lightable.core.geometry import Box, Keypoints, Mask, Polygon, Tag
from lightable.core.model import Annotation, ImageStatus, Label, Source
from lightable.imaging import masks
from lightable.store import schema
from lightable.store.edits import EditSession
from lightable.store.events import recent
from lightable.store.project import Change, Project
from tests.core.editing_world import make_world, snapshot, versions


@pytest.fixture
def world(project: Project) -> dict[str, Any]:
    w = make_world(project)
    img, (cat, dog, _car) = w["images"][0], w["labels"]
    session = EditSession(project)
    doc = session.open_document(img)
    m = np.zeros((480, 640), np.uint8)
    m[100:150, 200:260] = 1
    shapes = {
        "box": Box(10.5, 20.25, 30, 40),
        "poly": Polygon.from_points([(0, 0), (50.1, 0), (50.1, 30.7)]),
        "kp": Keypoints(((5, 5, 2), (9, 9, 1), (0, 0, 0))),
        "mask": masks.encode(m),
        "tag": Tag(),
    }
    ids = {}
    for z, (name, g) in enumerate(shapes.items()):
        ev = doc.do(C.AddAnnotation(Annotation(img, cat, g, attributes={"n": [z]}, z=z)))
        (ids[name],) = ev.added
    doc.history.clear()
    return {"session": session, "doc": doc, "img": img, "cat": cat, "dog": dog, "ids": ids, **w}


def assert_doc_matches_store(doc: Any, project: Project) -> None:
    stored = {a.id: a for a in project.annotations.for_image(doc.image_id)}
    assert {a.id: a for a in doc.annotations()} == stored
    assert [a.id for a in doc.annotations()] == [
        a.id for a in project.annotations.for_image(doc.image_id)
    ]
    ids, xywh = doc.bboxes()
    assert sorted(ids.tolist()) == sorted(stored)
    for i, bb in zip(ids.tolist(), xywh, strict=True):
        assert tuple(bb) == pytest.approx(stored[i].geometry.bbox())


def roundtrip(world: dict[str, Any], project: Project, cmd: C.Command) -> tuple[dict, dict]:
    """do, undo, redo, undo again; asserts exact rows each time; returns (before, after)."""
    doc = world["doc"]
    before = snapshot(project)
    v0 = versions(project)
    doc.do(cmd)
    after = snapshot(project)
    assert after != before, "the command changed nothing"
    assert_doc_matches_store(doc, project)
    doc.undo()
    assert snapshot(project) == before
    assert_doc_matches_store(doc, project)
    v1 = versions(project)
    assert all(v1[i] >= v0[i] for i in v0.keys() & v1.keys())  # version only goes up
    doc.redo()
    assert snapshot(project) == after
    assert_doc_matches_store(doc, project)
    doc.undo()
    assert snapshot(project) == before
    return before, after


def ann_rows(snap: dict) -> dict[int, dict]:
    return snap["annotations"]


CASES: dict[str, Callable[[dict[str, Any]], C.Command]] = {
    "add_box": lambda w: C.AddAnnotation(Annotation(w["img"], w["dog"], Box(1, 2, 3, 4))),
    "add_many": lambda w: C.AddAnnotations(
        [Annotation(w["img"], w["dog"], Box(k, k, 3, 4), attributes={"k": k}) for k in range(5)]
    ),
    "update_many": lambda w: C.UpdateAnnotations(
        {
            w["ids"]["box"]: {"geometry": Box(0, 0, 1, 1), "z": 7},
            w["ids"]["kp"]: {"attributes": {"x": [1]}, "hidden": True},
        }
    ),
    "delete_all": lambda w: C.DeleteAnnotations(list(w["ids"].values())),
    "move_box": lambda w: C.MoveAnnotations([w["ids"]["box"]], 0.1, 0.2),
    "move_all": lambda w: C.MoveAnnotations(list(w["ids"].values()), 7, -3),
    "move_mask_off_edge": lambda w: C.MoveAnnotations([w["ids"]["mask"]], 420, 0),
    "reshape_poly": lambda w: C.ReshapeAnnotation(
        w["ids"]["poly"], Polygon.from_points([(1, 1), (60, 2), (30, 40), (2, 30)])
    ),
    "reshape_box": lambda w: C.ReshapeAnnotation(w["ids"]["box"], Box(0, 0, 5.5, 6.5)),
    "relabel": lambda w: C.Relabel([w["ids"]["box"], w["ids"]["poly"]], w["dog"]),
    "attributes": lambda w: C.SetAttributes(w["ids"]["kp"], {"occluded": True, "n": [1, 2]}),
    "hide_lock": lambda w: C.UpdateAnnotation(w["ids"]["box"], hidden=True, locked=True),
    "reorder_front": lambda w: C.Reorder([w["ids"]["box"]], "front"),
    "reorder_back": lambda w: C.Reorder([w["ids"]["tag"]], "back"),
    "reorder_up": lambda w: C.Reorder([w["ids"]["box"], w["ids"]["kp"]], "up"),
    "reorder_down": lambda w: C.Reorder([w["ids"]["mask"]], "down"),
    "reorder_z": lambda w: C.Reorder([w["ids"]["box"], w["ids"]["poly"]], z=[9, -9]),
    "paint": lambda w: C.PaintMask(w["ids"]["mask"], 190, 90, None, np.ones((20, 30), np.uint8)),
    "erase": lambda w: C.PaintMask(w["ids"]["mask"], 210, 110, None, np.zeros((10, 10), np.uint8)),
    "add_label": lambda w: C.AddLabel(Label(name="bird", color="#123456")),
    "update_label": lambda w: C.UpdateLabel(w["dog"], name="hound", color="#abcdef", shortcut="h"),
    "delete_label": lambda w: C.DeleteLabel(w["labels"][2]),
    "status": lambda w: C.SetImageStatus(w["img"], ImageStatus.DONE),
    "batch": lambda w: C.Batch(
        [
            C.AddAnnotation(Annotation(w["img"], w["dog"], Box(5, 5, 5, 5))),
            C.DeleteAnnotations([w["ids"]["poly"]]),
            C.MoveAnnotations([w["ids"]["box"]], 1, 1),
            C.SetImageStatus(w["img"], ImageStatus.REVIEW),
        ],
        "Several",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_command_roundtrip(world: dict[str, Any], project: Project, case: str) -> None:
    roundtrip(world, project, CASES[case](world))


def test_add_then_state(world: dict[str, Any], project: Project) -> None:
    doc = world["doc"]
    ev = doc.do(C.AddAnnotation(Annotation(world["img"], world["dog"], Box(1, 2, 3, 4))))
    (new_id,) = ev.added
    row = ann_rows(snapshot(project))[new_id]
    assert (row["x"], row["y"], row["w"], row["h"], row["area"]) == (1, 2, 3, 4, 12)
    assert row["label_id"] == world["dog"] and row["kind"] == "box"
    assert doc.history.entries() == ["Add box"]
    doc.undo()
    assert new_id not in ann_rows(snapshot(project))
    doc.redo()  # comes back with the same id
    assert new_id in ann_rows(snapshot(project)) and new_id in doc


def test_move_and_reshape_values(world: dict[str, Any], project: Project) -> None:
    doc, ids = world["doc"], world["ids"]
    doc.do(C.MoveAnnotations([ids["box"], ids["kp"]], 2, 3))
    assert doc.annotation(ids["box"]).geometry == Box(12.5, 23.25, 30, 40)
    assert doc.annotation(ids["kp"]).geometry == Keypoints(((7, 8, 2), (11, 12, 1), (0, 0, 0)))
    doc.do(C.ReshapeAnnotation(ids["box"], Box(1, 1, 1, 1)))
    assert project.annotations.get(ids["box"]).geometry == Box(1, 1, 1, 1)
    assert doc.history.entries() == ["Move 2 objects", "Reshape box"]


def test_mask_move_shifts_pixels(world: dict[str, Any], project: Project) -> None:
    doc, mid = world["doc"], world["ids"]["mask"]
    doc.do(C.MoveAnnotations([mid], 10, -20))
    g = project.annotations.get(mid).geometry
    assert isinstance(g, Mask)
    arr = masks.decode(g)
    assert g.bbox() == (210, 80, 60, 50)
    assert arr[80:130, 210:270].all() and arr.sum() == 50 * 60


def test_paint_mask_values_and_events(world: dict[str, Any], project: Project) -> None:
    doc, mid = world["doc"], world["ids"]["mask"]
    doc.do(C.PaintMask(mid, 0, 0, np.zeros((4, 5)), np.ones((4, 5))))
    arr = masks.decode(project.annotations.get(mid).geometry)
    assert arr[:4, :5].all() and arr.sum() == 50 * 60 + 20
    assert np.array_equal(doc.mask_array(mid), arr)
    ev = recent(project, image_id=world["img"], limit=1)[0]
    assert ev.kind == "annotation.mask" and ev.entity_id == mid
    assert ev.payload["rect"] == [0, 0, 5, 4] and ev.payload["via"] == "do"
    with pytest.raises(ValidationError, match="outside"):
        doc.do(C.PaintMask(mid, 630, 0, None, np.ones((5, 20))))
    with pytest.raises(ValidationError, match="not a mask"):
        doc.do(C.PaintMask(world["ids"]["box"], 0, 0, None, np.ones((5, 20))))


def test_accept_prediction(world: dict[str, Any], project: Project) -> None:
    with project.engine.begin() as conn:
        run = conn.execute(
            schema.model_runs.insert().values(name="r", model="m")
        ).inserted_primary_key[0]
        pred = conn.execute(
            schema.predictions.insert().values(
                run_id=run,
                image_id=world["img"],
                kind="box",
                geometry=Box(1, 1, 9, 9).to_dict(),
                score=0.8,
            )
        ).inserted_primary_key[0]
    cmd = C.AcceptPrediction(pred, Annotation(world["img"], world["cat"], Box(1, 1, 9, 9)))
    _, after = roundtrip(world, project, cmd)
    (row,) = [r for r in ann_rows(after).values() if r["prediction_id"] == pred]
    assert row["source"] == Source.PREDICTION
    assert world["doc"].history.entries() == ["Accept prediction"]


def test_every_primitive_writes_events_in_the_same_transaction(
    world: dict[str, Any], project: Project
) -> None:
    doc, ids = world["doc"], world["ids"]
    n0 = len(recent(project, limit=1000))
    doc.do(
        C.Batch(
            [
                C.MoveAnnotations([ids["box"], ids["poly"]], 1, 1),
                C.SetImageStatus(world["img"], "done"),
            ]
        )
    )
    new = recent(project, limit=1000)[: len(recent(project, limit=1000)) - n0]
    assert sorted(e.kind for e in new) == ["annotation.update", "annotation.update", "image.status"]
    assert {e.payload["command"] for e in new} == {"Edit"}
    doc.undo()
    assert [e.payload["via"] for e in recent(project, limit=3)] == ["undo"] * 3


def test_failed_batch_changes_nothing(world: dict[str, Any], project: Project) -> None:
    doc, ids = world["doc"], world["ids"]
    before = snapshot(project)
    n_events = len(recent(project, limit=1000))
    seen: list[Any] = []
    doc.subscribe(seen.append)
    bad = C.Batch([C.MoveAnnotations([ids["box"]], 5, 5), C.DeleteAnnotations([999_999])])
    with pytest.raises(ValidationError, match="999999"):
        doc.do(bad)
    assert snapshot(project) == before
    assert len(recent(project, limit=1000)) == n_events
    assert_doc_matches_store(doc, project)
    assert seen == [] and doc.history.entries() == []


def test_delete_used_label_is_refused_but_batch_works(
    world: dict[str, Any], project: Project
) -> None:
    doc = world["doc"]
    with pytest.raises(ValidationError, match="used by 5 annotations"):
        doc.do(C.DeleteLabel(world["cat"]))
    cmd = C.Batch(
        [C.Relabel(list(world["ids"].values()), world["dog"]), C.DeleteLabel(world["cat"])],
        "Merge cat into dog",
    )
    roundtrip(world, project, cmd)


def test_delete_parent_label_detaches_children_and_undo_reattaches(
    world: dict[str, Any], project: Project
) -> None:
    doc = world["doc"]
    doc.do(C.AddLabel(Label(name="animal")))
    parent = project.labels.by_name("animal").id
    doc.do(C.UpdateLabel(world["dog"], parent_id=parent))
    before = snapshot(project)
    doc.do(C.DeleteLabel(parent))
    assert project.labels.get(world["dog"]).parent_id is None
    assert parent not in doc.labels
    doc.undo()
    assert snapshot(project) == before
    assert doc.labels[world["dog"]].parent_id == parent


def test_label_rename_clash_is_refused(world: dict[str, Any], project: Project) -> None:
    with pytest.raises(ValidationError, match="already exists"):
        world["doc"].do(C.UpdateLabel(world["dog"], name="cat"))
    assert project.labels.get(world["dog"]).name == "dog"


def test_ids_are_not_reused_after_undo(world: dict[str, Any], project: Project) -> None:
    """An undone add on image A must not lose its id to an add on image B (SQLite reuses max rowid)."""
    session = world["session"]
    doc_a = world["doc"]
    (a_id,) = doc_a.do(
        C.AddAnnotation(Annotation(world["img"], world["cat"], Box(0, 0, 1, 1)))
    ).added
    doc_a.undo()
    doc_b = session.open_document(world["images"][1])
    (b_id,) = doc_b.do(
        C.AddAnnotation(Annotation(doc_b.image_id, world["cat"], Box(0, 0, 2, 2)))
    ).added
    assert b_id != a_id
    doc_a = session.open_document(world["img"])
    doc_a.redo()
    assert project.annotations.get(a_id).geometry == Box(0, 0, 1, 1)
    assert project.annotations.get(b_id).geometry == Box(0, 0, 2, 2)


def test_versions_only_go_up(world: dict[str, Any], project: Project) -> None:
    doc, bid = world["doc"], world["ids"]["box"]
    seen = [project.annotations.get(bid).version]
    doc.do(C.MoveAnnotations([bid], 1, 0))
    seen.append(project.annotations.get(bid).version)
    doc.undo()
    seen.append(project.annotations.get(bid).version)
    doc.do(C.DeleteAnnotations([bid]))
    doc.undo()  # the row comes back: one more write
    seen.append(project.annotations.get(bid).version)
    assert seen == sorted(set(seen)) and len(seen) == 4
    assert doc.annotation(bid).version == seen[-1]


def test_changes_are_notified_after_commit(world: dict[str, Any], project: Project) -> None:
    doc, ids, session = world["doc"], world["ids"], world["session"]
    got: list[Change] = []

    def listener(ch: Change) -> None:
        # The change is committed when listeners hear of it: another connection sees it.
        with project.engine.connect() as conn:
            n = conn.execute(
                select(schema.annotations.c.id).where(schema.annotations.c.id == ids["box"])
            ).first()
        got.append((ch, n is None))  # type: ignore[arg-type]

    project.subscribe(listener)
    doc.do(C.DeleteAnnotations([ids["box"]]))
    doc.do(C.SetImageStatus(world["img"], ImageStatus.DONE))
    doc.do(C.AddLabel(Label(name="bird")))
    kinds = [(c.kind, gone) for c, gone in got]  # type: ignore[misc]
    assert kinds == [
        ("annotations.changed", True),
        ("images.changed", True),
        ("labels.changed", True),
    ]
    ch = got[0][0]  # type: ignore[index]
    assert ch.image_ids == (world["img"],) and ch.payload["removed"] == [ids["box"]]
    assert session.is_own(ch)


def test_history_per_image_survives_switching(world: dict[str, Any], project: Project) -> None:
    session = world["session"]
    img_a, img_b = world["images"][:2]
    doc_a = world["doc"]
    doc_a.do(C.MoveAnnotations([world["ids"]["box"]], 1, 1))
    doc_b = session.open_document(img_b)
    assert doc_b.history.entries() == [] and not doc_b.can_undo()
    doc_b.do(C.AddAnnotation(Annotation(img_b, world["cat"], Box(0, 0, 3, 3))))
    doc_a2 = session.open_document(img_a)
    assert doc_a2.history is doc_a.history and doc_a2.history.entries() == ["Move 1 object"]
    doc_a2.undo()
    assert doc_a2.annotation(world["ids"]["box"]).geometry == Box(10.5, 20.25, 30, 40)
    assert session.open_document(img_b).history.entries() == ["Add box"]
    assert len(session.open_document(img_b)) == 1


def test_document_events_and_selection(world: dict[str, Any], project: Project) -> None:
    doc, ids = world["doc"], world["ids"]
    events: list[Any] = []
    doc.subscribe(events.append)
    doc.select([ids["box"], ids["poly"]])
    assert doc.selected() == {ids["box"], ids["poly"]}
    doc.select([ids["kp"]], add=True)
    doc.do(C.DeleteAnnotations([ids["box"]]))
    assert doc.selected() == {ids["poly"], ids["kp"]}
    doc.undo()
    assert [e.cause for e in events] == ["select", "select", "do", "undo"]
    assert events[2].removed == {ids["box"]} and events[2].selection_changed
    assert events[3].added == {ids["box"]}


def test_session_reload_sees_outside_changes(world: dict[str, Any], project: Project) -> None:
    session, doc = world["session"], world["doc"]
    project.annotations.add(Annotation(world["img"], world["dog"], Box(3, 3, 3, 3)))
    assert len(doc) == 5
    session.reload_document()
    assert len(doc) == 6
    assert_doc_matches_store(doc, project)
