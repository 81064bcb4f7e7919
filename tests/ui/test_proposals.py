"""Pre-fill in the canvas: a model run's predictions as proposals, driven with real
mouse/key events through QTest on an offscreen CanvasWidget with a real EditSession;
assertions on the store."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from lightable.core.geometry import Box, Polygon
from lightable.core.model import Prediction, Source
from lightable.store.predictions import PredictionRepo, ScoreRow
from tests.ui.test_canvas_support import Env, make_env

Shift = Qt.KeyboardModifier.ShiftModifier


def add_run(env: Env, preds: list[tuple[str, object, float]], image: int = 0) -> int:
    """A model run with ``(class name, geometry, score)`` predictions on one image."""
    repo = PredictionRepo(env.project)
    run = repo.create_run("test run", "fake", "detection", None, {}, "cpu")
    image_id = env.image_ids[image]
    rows = [
        (
            Prediction(run, image_id, g, s, label_id=env.labels.get(name), class_name=name),
            None,
        )
        for name, g, s in preds
    ]
    repo.write_batch(run, rows, [ScoreRow(image_id)])
    return run


PREDS = [
    ("car", Box(100, 100, 120, 80), 0.92),
    ("person", Box(300, 200, 60, 140), 0.71),
    ("tree", Polygon(((450, 50, 560, 60, 520, 160),)), 0.55),
    ("car", Box(40, 330, 90, 60), 0.30),
]


@pytest.fixture
def env(project, tmp_path, qtbot) -> Env:
    e = make_env(project, tmp_path, qtbot)
    run = add_run(e, PREDS)
    e.canvas.set_prediction_run(run)
    e.canvas.set_proposal_threshold(0.5)
    e.run_id = run  # type: ignore[attr-defined]
    return e


def shown(env: Env) -> list[float]:
    return [p.score for p in env.canvas.proposals.visible()]


def grab(env: Env):
    env.canvas.repaint()
    return env.canvas.grab().toImage()


def test_proposals_above_threshold_are_drawn(env: Env) -> None:
    assert shown(env) == [0.92, 0.71, 0.55]
    # Compare the screen with and without the run: the car proposal's dashed outline
    # changed pixels along its top edge, the sub-threshold one changed nothing.
    with_run = grab(env)
    env.canvas.set_prediction_run(None)
    without = grab(env)
    env.canvas.set_prediction_run(env.run_id)  # type: ignore[attr-defined]

    def changed_near(x0: float, x1: float, y: float) -> int:
        n = 0
        for x in range(int(x0), int(x1)):
            p = env.vp(x, y)
            for dy in (-1, 0, 1):
                a, b = with_run.pixelColor(p.x(), p.y() + dy), without.pixelColor(p.x(), p.y() + dy)
                n += abs(a.red() - b.red()) + abs(a.green() - b.green()) > 60
        return n

    assert changed_near(110, 210, 100) >= 20
    assert changed_near(45, 125, 330) == 0
    assert changed_near(45, 125, 360) == 0
    env.canvas.set_proposal_threshold(0.2)
    assert shown(env) == [0.92, 0.71, 0.55, 0.30]
    env.canvas.set_prediction_run(None)
    assert shown(env) == []


def test_click_selects_enter_accepts_undo_brings_it_back(env: Env) -> None:
    c = env.canvas
    env.click(160, 140)
    assert c.proposals.selected is not None
    pid = c.proposals.selected
    env.key(Qt.Key.Key_Return)
    stored = env.stored()
    assert len(stored) == 1
    a = stored[0]
    assert a.source == Source.PREDICTION and a.prediction_id == pid
    assert a.label_id == env.labels["car"] and a.geometry == Box(100, 100, 120, 80)
    assert shown(env) == [0.71, 0.55]  # the accepted one is no longer a proposal
    assert c.proposals.selected is None
    env.key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert env.stored() == []
    assert shown(env) == [0.92, 0.71, 0.55]
    env.key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Shift)
    assert [a.prediction_id for a in env.stored()] == [pid]


def test_delete_rejects_for_the_session(env: Env) -> None:
    c = env.canvas
    env.click(330, 270)  # the person proposal
    pid = c.proposals.selected
    assert pid is not None
    env.key(Qt.Key.Key_Delete)
    assert shown(env) == [0.92, 0.55]
    assert env.stored() == []  # nothing written
    assert pid in c.proposals.rejected[env.run_id]  # type: ignore[attr-defined]
    # Still rejected after visiting another image and coming back.
    c.show_image(env.image_ids[1])
    c.show_image(env.image_ids[0])
    env.qtbot.waitUntil(lambda: not c.is_loading(), timeout=5000)
    assert shown(env) == [0.92, 0.55]


def test_click_beside_proposals_clears_the_proposal_selection(env: Env) -> None:
    env.click(160, 140)
    assert env.canvas.proposals.selected is not None
    env.click(600, 420)
    assert env.canvas.proposals.selected is None
    env.key(Qt.Key.Key_Return)
    assert env.stored() == []


def test_shift_enter_accepts_all_as_one_step(env: Env) -> None:
    doc = env.doc
    before = len(doc.history)
    env.key(Qt.Key.Key_Return, Shift)
    stored = env.stored()
    assert sorted(a.prediction_id for a in stored) == sorted(
        p.id for p in PredictionRepo(env.project).for_image(env.image_ids[0], min_score=0.5)
    )
    assert all(a.source == Source.PREDICTION for a in stored)
    assert len(doc.history) == before + 1
    assert shown(env) == []
    env.key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert env.stored() == []
    assert shown(env) == [0.92, 0.71, 0.55]


def test_dragging_a_proposal_accepts_then_moves_it(env: Env) -> None:
    env.drag([(160, 140), (170, 150), (180, 160), (190, 170)])
    stored = env.stored()
    assert len(stored) == 1
    a = stored[0]
    assert a.source == Source.PREDICTION and a.prediction_id is not None
    x, y, w, h = a.geometry.bbox()
    assert (round(w), round(h)) == (120, 80)
    assert abs(x - 130) <= 2 and abs(y - 130) <= 2
    assert 0.92 not in shown(env)


def test_unmapped_class_is_skipped_with_a_message(env: Env, qtbot) -> None:
    run = add_run(env, [("zebra", Box(10, 10, 50, 50), 0.9)])
    env.canvas.set_prediction_run(run)
    with qtbot.waitSignal(env.canvas.message, timeout=1000) as blocker:
        env.key(Qt.Key.Key_Return, Shift)
    assert "zebra" in blocker.args[0]
    assert env.stored() == []


def test_class_name_matches_a_label_when_label_id_is_missing(env: Env) -> None:
    repo = PredictionRepo(env.project)
    run = repo.create_run("names", "fake", "detection", None, {}, "cpu")
    image_id = env.image_ids[0]
    repo.write_batch(
        run, [(Prediction(run, image_id, Box(10, 10, 50, 50), 0.9, class_name="tree"), None)],
        [ScoreRow(image_id)],
    )  # fmt: skip
    env.canvas.set_prediction_run(run)
    env.click(30, 30)
    env.key(Qt.Key.Key_Enter)
    assert [a.label_id for a in env.stored()] == [env.labels["tree"]]


def test_enter_with_nothing_to_accept_still_reaches_the_tool(env: Env) -> None:
    import numpy as np

    from lightable.core.commands import AddAnnotation
    from lightable.core.geometry import Mask
    from lightable.core.model import Annotation
    from lightable.imaging import masks

    m = np.zeros((480, 640), np.uint8)
    m[10:40, 10:40] = 1
    mask: Mask = masks.encode(m)
    doc = env.doc
    ev = doc.do(AddAnnotation(Annotation(doc.image_id, env.labels["car"], mask)))
    ann = next(iter(ev.added))
    env.canvas.set_tool("brush")
    doc.select([ann])
    # Proposals are shown but none is selected: Enter is the brush's "finish the object".
    assert env.canvas.proposals.visible() and env.canvas.proposals.selected is None
    assert doc.selected() == {ann}
    env.key(Qt.Key.Key_Return)
    assert doc.selected() == frozenset()
    assert [a.id for a in env.stored()] == [ann]  # nothing accepted
