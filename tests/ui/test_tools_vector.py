"""Vector tools driven with real mouse and key events; every assertion is on the store.

Move/select (V), rectangle (M), polygon (P), keypoints (K). Screenshots of each
tool in use go to /tmp/shots/canvas_*.png.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from lightable.core.commands import AddAnnotation, UpdateAnnotation
from lightable.core.geometry import Box, Keypoints, Polygon
from lightable.core.model import Annotation
from tests.ui.test_canvas_support import Env, make_env

NoMod = Qt.KeyboardModifier.NoModifier
Ctrl = Qt.KeyboardModifier.ControlModifier
Shift = Qt.KeyboardModifier.ShiftModifier
Alt = Qt.KeyboardModifier.AltModifier


@pytest.fixture
def env(project, tmp_path, qtbot) -> Env:
    e = make_env(project, tmp_path, qtbot)
    e.canvas.set_zoom(1.0)  # one widget pixel per image pixel: exact coordinates
    e.canvas.center_on(QPointF(320, 240))
    return e


def add(env: Env, geometry, label: str = "car", **kw) -> int:
    doc = env.doc
    ev = doc.do(AddAnnotation(Annotation(doc.image_id, env.labels[label], geometry, **kw)))
    return next(iter(ev.added))


def steps(env: Env) -> int:
    return env.doc.history.index


# -- rectangle ---------------------------------------------------------------------------


def test_rect_draws_a_box_with_the_active_label(env: Env) -> None:
    env.key(Qt.Key.Key_M)
    env.canvas.set_active_label(env.labels["tree"])
    env.drag([(100, 120), (150, 150), (220, 200)])
    [a] = env.stored()
    assert a.geometry == Box(100, 120, 120, 80)
    assert a.label_id == env.labels["tree"]
    assert env.doc.selected() == {a.id}  # the new box is selected: Delete removes it
    env.key(Qt.Key.Key_Delete)
    assert env.stored() == []


def test_rect_shift_draws_a_square_and_tiny_drags_draw_nothing(env: Env) -> None:
    env.key(Qt.Key.Key_M)
    env.drag([(100, 100), (140, 120), (160, 130)], mod=Shift)
    [a] = env.stored()
    assert a.geometry.w == a.geometry.h == 60
    env.drag([(300, 300), (301, 301)])
    assert len(env.stored()) == 1


def test_rect_is_clamped_to_the_image_and_esc_cancels(env: Env) -> None:
    env.key(Qt.Key.Key_M)
    env.drag([(600, 400), (700, 500)])
    [a] = env.stored()
    assert (a.geometry.x2, a.geometry.y2) == (640, 480)
    env.press(100, 100)
    env.move(200, 200)
    env.shot("rect_drawing")
    env.key(Qt.Key.Key_Escape)
    env.release(200, 200)
    assert len(env.stored()) == 1


def test_rect_tool_resizes_a_selected_box_by_its_handle(env: Env) -> None:
    a = add(env, Box(100, 100, 100, 100))
    env.doc.select([a])
    env.key(Qt.Key.Key_M)
    before = steps(env)
    env.drag([(200, 200), (230, 220), (250, 260)])  # the se corner handle
    assert env.project.annotations.get(a).geometry == Box(100, 100, 150, 160)
    assert steps(env) == before + 1
    assert len(env.stored()) == 1  # resized, not a new box


# -- polygon -------------------------------------------------------------------------------


def test_polygon_clicks_and_enter(env: Env) -> None:
    env.key(Qt.Key.Key_P)
    for x, y in [(100, 100), (200, 100), (200, 200), (100, 200)]:
        env.click(x, y)
    env.move(150, 250)
    env.shot("polygon_drawing")
    assert env.stored() == []  # nothing reaches the store until the polygon is closed
    env.key(Qt.Key.Key_Return)
    [a] = env.stored()
    assert isinstance(a.geometry, Polygon)
    assert sorted(a.geometry.points()) == sorted([(100, 100), (200, 100), (200, 200), (100, 200)])


def test_polygon_backspace_removes_the_last_vertex_and_esc_cancels(env: Env) -> None:
    env.key(Qt.Key.Key_P)
    for x, y in [(100, 100), (200, 100), (200, 200), (300, 300)]:
        env.click(x, y)
    env.key(Qt.Key.Key_Backspace)  # not "delete selection": the tool has it while drawing
    env.key(Qt.Key.Key_Return)
    [a] = env.stored()
    assert a.geometry.points() == [(100, 100), (200, 100), (200, 200)]
    for x, y in [(400, 100), (500, 100), (500, 200)]:
        env.click(x, y)
    env.key(Qt.Key.Key_Escape)
    env.key(Qt.Key.Key_Return)
    assert len(env.stored()) == 1


def test_polygon_closes_on_the_first_vertex_and_on_double_click(env: Env) -> None:
    env.key(Qt.Key.Key_P)
    for x, y in [(100, 100), (200, 100), (150, 180), (102, 101)]:
        env.click(x, y)
    [a] = env.stored()
    assert len(a.geometry.points()) == 3
    env.click(300, 300)
    env.click(400, 300)
    env.click(350, 380)
    QTest.mouseDClick(env.canvas, Qt.MouseButton.LeftButton, NoMod, env.vp(350, 380))
    polys = [x for x in env.stored() if x.id != a.id]
    assert len(polys) == 1 and len(polys[0].geometry.points()) == 3


def test_polygon_trace_by_dragging(env: Env) -> None:
    env.key(Qt.Key.Key_P)
    path = [(100 + 2 * i, 100) for i in range(50)] + [(200, 100 + 2 * i) for i in range(50)]
    env.drag(path)
    env.key(Qt.Key.Key_Return)
    [a] = env.stored()
    pts = a.geometry.points()
    assert len(pts) >= 20  # a vertex every few pixels along the trace
    assert (100, 100) in pts and (200, 198) in pts


# -- move / select -------------------------------------------------------------------------


def test_click_shift_click_and_rubber_band_select(env: Env) -> None:
    a = add(env, Box(100, 100, 50, 50))
    b = add(env, Polygon.from_points([(300, 100), (360, 100), (330, 160)]))
    c = add(env, Box(100, 300, 50, 50))
    env.key(Qt.Key.Key_V)
    env.click(120, 120)
    assert env.doc.selected() == {a}
    env.click(330, 120, mod=Shift)
    assert env.doc.selected() == {a, b}
    env.click(500, 400)  # empty space clears
    assert env.doc.selected() == set()
    env.drag([(80, 80), (200, 250), (380, 200)])  # around a and b, not c
    assert env.doc.selected() == {a, b}
    env.drag([(80, 280), (160, 360)], mod=Shift)  # shift-band adds c
    assert env.doc.selected() == {a, b, c}
    env.key(Qt.Key.Key_Escape)
    assert env.doc.selected() == set()


def test_drag_moves_the_selection_in_one_step(env: Env) -> None:
    a = add(env, Box(100, 100, 50, 50))
    b = add(env, Polygon.from_points([(300, 100), (360, 100), (330, 160)]))
    env.key(Qt.Key.Key_V)
    env.click(120, 120)
    env.click(330, 120, mod=Shift)
    before = steps(env)
    env.press(120, 120)
    for k in range(1, 11):
        env.move(120 + 3 * k, 120 + 2 * k)
    env.shot("select_moving")
    assert env.project.annotations.get(a).geometry == Box(
        100, 100, 50, 50
    )  # no writes while dragging
    env.release(150, 140)
    assert env.project.annotations.get(a).geometry == Box(130, 120, 50, 50)
    assert env.project.annotations.get(b).geometry.points()[0] == (330, 120)
    assert steps(env) == before + 1
    env.key(Qt.Key.Key_Z, Ctrl)
    assert env.project.annotations.get(a).geometry == Box(100, 100, 50, 50)


def test_vertex_drag_is_one_history_step(env: Env) -> None:
    p = add(env, Polygon.from_points([(100, 100), (200, 100), (150, 200)]))
    env.key(Qt.Key.Key_V)
    env.click(150, 130)
    before = steps(env)
    env.press(200, 100)  # the second vertex's handle
    for k in range(1, 21):
        env.move(200 + k, 100 - k)
    env.shot("select_vertex_drag")
    env.release(220, 80)
    g = env.project.annotations.get(p).geometry
    assert g.points() == [(100, 100), (220, 80), (150, 200)]
    assert steps(env) == before + 1
    env.key(Qt.Key.Key_Z, Ctrl)
    assert env.project.annotations.get(p).geometry.points()[1] == (200, 100)


def test_box_handle_drag_and_alt_click_deletes_a_vertex(env: Env) -> None:
    a = add(env, Box(100, 100, 100, 100))
    p = add(env, Polygon.from_points([(300, 100), (400, 100), (400, 200), (300, 200)]))
    env.key(Qt.Key.Key_V)
    env.click(150, 150)
    env.drag([(150, 100), (150, 80), (150, 60)])  # the n edge handle
    assert env.project.annotations.get(a).geometry == Box(100, 60, 100, 140)
    env.click(350, 150)
    env.click(400, 200, mod=Alt)
    assert len(env.project.annotations.get(p).geometry.points()) == 3


def test_double_click_on_an_edge_inserts_a_vertex(env: Env) -> None:
    p = add(env, Polygon.from_points([(300, 100), (400, 100), (400, 200), (300, 200)]))
    env.key(Qt.Key.Key_V)
    env.click(350, 150)
    QTest.mouseDClick(env.canvas, Qt.MouseButton.LeftButton, NoMod, env.vp(350, 100))
    pts = env.project.annotations.get(p).geometry.points()
    assert pts == [(300, 100), (350, 100), (400, 100), (400, 200), (300, 200)]


def test_arrow_nudges_merge_into_one_step(env: Env) -> None:
    a = add(env, Box(100, 100, 50, 50))
    env.key(Qt.Key.Key_V)
    env.click(120, 120)
    before = steps(env)
    for _ in range(3):
        env.key(Qt.Key.Key_Right)
    env.key(Qt.Key.Key_Down, Shift)
    assert env.project.annotations.get(a).geometry == Box(103, 110, 50, 50)
    assert steps(env) == before + 1  # merged
    env.key(Qt.Key.Key_Z, Ctrl)
    assert env.project.annotations.get(a).geometry == Box(100, 100, 50, 50)


def test_locked_objects_are_not_picked_or_moved(env: Env) -> None:
    a = add(env, Box(100, 100, 50, 50))
    env.doc.do(UpdateAnnotation(a, locked=True))
    env.key(Qt.Key.Key_V)
    env.drag([(120, 120), (150, 150), (170, 170)])
    assert env.project.annotations.get(a).geometry == Box(100, 100, 50, 50)
    assert env.doc.selected() == set()


def test_picking_a_label_relabels_the_selection_with_the_move_tool(env: Env) -> None:
    a = add(env, Box(100, 100, 50, 50))
    env.key(Qt.Key.Key_V)
    env.click(120, 120)
    env.canvas.set_active_label(env.labels["tree"])
    assert env.project.annotations.get(a).label_id == env.labels["tree"]
    # With a drawing tool active, picking a label only sets the next shape's label.
    env.key(Qt.Key.Key_M)
    env.canvas.set_active_label(env.labels["car"])
    assert env.project.annotations.get(a).label_id == env.labels["tree"]
    env.key(Qt.Key.Key_V)
    env.key(Qt.Key.Key_L, Ctrl)
    assert env.project.annotations.get(a).label_id == env.labels["car"]


def test_select_all_and_delete(env: Env) -> None:
    for i in range(5):
        add(env, Box(50 + 60 * i, 50, 40, 40))
    env.key(Qt.Key.Key_V)
    env.key(Qt.Key.Key_A, Ctrl)
    assert len(env.doc.selected()) == 5
    env.shot("select_all")
    env.key(Qt.Key.Key_Delete)
    assert env.stored() == []
    env.key(Qt.Key.Key_Z, Ctrl)
    assert len(env.stored()) == 5


# -- keypoints -------------------------------------------------------------------------------


def test_keypoints_follow_the_skeleton_with_visibility(env: Env) -> None:
    env.key(Qt.Key.Key_K)
    env.canvas.set_active_label(env.labels["person"])  # head, left_hand, right_hand, feet
    env.click(200, 100)
    env.click(150, 180, mod=Alt)  # hidden
    env.move(260, 180)
    env.shot("keypoints_placing")
    env.key(Qt.Key.Key_N)  # right hand not labeled
    assert env.stored() == []
    env.click(200, 300)  # the last point commits
    [a] = env.stored()
    assert isinstance(a.geometry, Keypoints)
    assert [p[2] for p in a.geometry.points] == [2, 1, 0, 2]
    assert a.geometry.points[0][:2] == (200, 100)
    assert a.label_id == env.labels["person"]
    env.shot("keypoints_done")


def test_keypoints_backspace_esc_and_enter(env: Env) -> None:
    env.key(Qt.Key.Key_K)
    env.canvas.set_active_label(env.labels["person"])
    env.click(100, 100)
    env.click(120, 120)
    env.key(Qt.Key.Key_Backspace)
    env.key(Qt.Key.Key_Return)  # finish early: the rest are "not labeled"
    [a] = env.stored()
    assert [p[2] for p in a.geometry.points] == [2, 0, 0, 0]
    env.click(300, 300)
    env.key(Qt.Key.Key_Escape)
    env.key(Qt.Key.Key_Return)
    assert len(env.stored()) == 1


def test_screenshot_of_a_busy_canvas(env: Env) -> None:
    """Many shapes of every kind, a selection with handles: for looking at, not asserting much."""
    import numpy as np

    from lightable.imaging import masks

    rng = np.random.default_rng(3)
    for _ in range(40):
        x, y = rng.uniform(20, 560), rng.uniform(20, 400)
        add(env, Box(x, y, rng.uniform(20, 70), rng.uniform(20, 70)), label="car")
    for _ in range(15):
        cx, cy = rng.uniform(60, 580), rng.uniform(60, 420)
        ang = np.linspace(0, 2 * np.pi, 9, endpoint=False)
        r = rng.uniform(15, 45) * rng.uniform(0.6, 1.0, 9)
        add(
            env,
            Polygon.from_points(list(zip(cx + r * np.cos(ang), cy + r * np.sin(ang), strict=True))),
            label="tree",
        )
    m = np.zeros((480, 640), np.uint8)
    yy, xx = np.mgrid[0:480, 0:640]
    m[(xx - 480) ** 2 + (yy - 120) ** 2 < 60**2] = 1
    add(env, masks.encode(m), label="person")
    add(
        env,
        Keypoints(((320.0, 200.0, 2), (290.0, 260.0, 2), (350.0, 260.0, 1), (320.0, 330.0, 2))),
        label="person",
    )
    poly = add(
        env,
        Polygon.from_points([(150, 300), (260, 290), (280, 380), (200, 430), (140, 390)]),
        label="tree",
    )
    env.canvas.zoom_fit()
    env.doc.select([poly])
    path = env.shot("busy")
    assert path.stat().st_size > 10_000


def test_ctrl_z_while_drawing_takes_back_a_vertex(env: Env) -> None:
    a = add(env, Box(10, 10, 20, 20))
    env.key(Qt.Key.Key_P)
    for x, y in [(100, 100), (200, 100), (200, 200), (300, 300)]:
        env.click(x, y)
    env.key(Qt.Key.Key_Z, Ctrl)  # the last vertex, not the box added before
    env.key(Qt.Key.Key_Return)
    polys = [x for x in env.stored() if x.id != a]
    assert len(polys) == 1 and polys[0].geometry.points() == [(100, 100), (200, 100), (200, 200)]
    assert env.project.annotations.get(a) is not None


def test_dragging_a_large_selection_moves_everything(env: Env) -> None:
    """More shapes than the live-path limit: the drag is drawn from a sprite, the result is the same."""
    from lightable.ui.canvas import overlay

    ids = [
        add(env, Box(20 + 12 * (i % 40), 20 + 12 * (i // 40), 8, 8))
        for i in range(overlay.SPRITE_ABOVE + 40)
    ]
    env.key(Qt.Key.Key_V)
    env.key(Qt.Key.Key_A, Ctrl)
    env.press(24, 24)
    for k in range(1, 6):
        env.move(24 + 4 * k, 24 + 2 * k)
    env.shot("select_many_moving")
    env.release(44, 34)
    moved = {a.id: a.geometry for a in env.stored()}
    assert (
        moved[ids[0]] == Box(40, 30, 8, 8)
        and moved[ids[-1]].x == Box(20 + 12 * ((len(ids) - 1) % 40), 0, 8, 8).x + 20
    )
