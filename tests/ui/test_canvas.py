"""The canvas as a viewer and an editor host: display, navigation, actions, rendering.

Driven with real mouse/key/wheel events through QTest on an offscreen CanvasWidget
with a real project, EditSession and action registry; assertions on the store.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from lightable.core.commands import AddAnnotation
from lightable.core.geometry import Box, Keypoints, Polygon
from lightable.core.model import Annotation
from lightable.imaging import masks
from tests.ui.test_canvas_support import Env, gradient, make_env

NoMod = Qt.KeyboardModifier.NoModifier
Ctrl = Qt.KeyboardModifier.ControlModifier
Shift = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def env(project, tmp_path, qtbot) -> Env:
    return make_env(project, tmp_path, qtbot)


def pixel(env: Env, x: float, y: float) -> tuple[int, int, int]:
    """The colour on screen at image point (x, y)."""
    env.canvas.repaint()
    img = env.canvas.grab().toImage()
    p = env.vp(x, y)
    c = img.pixelColor(p.x(), p.y())
    return c.red(), c.green(), c.blue()


def add(env: Env, geometry, label: str = "car", **kw) -> int:
    doc = env.doc
    ev = doc.do(AddAnnotation(Annotation(doc.image_id, env.labels[label], geometry, **kw)))
    return next(iter(ev.added))


def wheel(env: Env, pos: QPoint, notches: float) -> None:
    ev = QWheelEvent(
        QPointF(pos),
        QPointF(env.canvas.mapToGlobal(pos)),
        QPoint(0, 0),
        QPoint(0, int(120 * notches)),
        Qt.MouseButton.NoButton,
        NoMod,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(env.canvas, ev)


# -- display and navigation --------------------------------------------------------------


def test_image_is_decoded_and_fitted(env: Env) -> None:
    c = env.canvas
    assert c.error() is None and c.image_source() is not None
    w, h = c.image_size()
    assert (w, h) == (640, 480)
    # Fitted: the whole image inside the widget, touching it on one axis (minus the margin).
    tl, br = c.image_to_view(QPointF(0, 0)), c.image_to_view(QPointF(w, h))
    assert tl.x() >= 0 and tl.y() >= 0 and br.x() <= c.width() and br.y() <= c.height()
    assert min(c.width() - (br.x() - tl.x()), c.height() - (br.y() - tl.y())) <= 17
    # What is on screen is the image: compare a pixel with the file's.
    expected = gradient(640, 480, 0)[240, 320]
    got = np.array(pixel(env, 320.5, 240.5))
    assert np.abs(got - expected.astype(int)).max() <= 12
    assert c.image_array().shape == (480, 640, 3)


def test_wheel_zoom_keeps_the_point_under_the_cursor(env: Env) -> None:
    c = env.canvas
    anchor = QPoint(300, 200)
    before = c.view_to_image(QPointF(anchor))
    z0 = c.zoom()
    wheel(env, anchor, 3)
    assert c.zoom() == pytest.approx(z0 * 1.2**3, rel=1e-6)
    after = c.view_to_image(QPointF(anchor))
    # Within half a widget pixel (the offset is snapped to whole pixels).
    assert abs(after.x() - before.x()) * c.zoom() <= 0.51
    assert abs(after.y() - before.y()) * c.zoom() <= 0.51
    wheel(env, QPoint(600, 450), -2)
    assert c.zoom() == pytest.approx(z0 * 1.2, rel=1e-6)


def test_space_drag_pans_without_drawing(env: Env) -> None:
    c = env.canvas
    c.set_tool("rect")
    c.set_zoom(2.0)
    before = c.view_to_image(QPointF(100, 100))
    QTest.keyPress(c, Qt.Key.Key_Space)
    QTest.mousePress(c, Qt.MouseButton.LeftButton, NoMod, QPoint(100, 100))
    QTest.mouseMove(c, QPoint(150, 130))
    QTest.mouseMove(c, QPoint(180, 160))
    QTest.mouseRelease(c, Qt.MouseButton.LeftButton, NoMod, QPoint(180, 160))
    QTest.keyRelease(c, Qt.Key.Key_Space)
    after = c.view_to_image(QPointF(180, 160))
    assert after.x() == pytest.approx(before.x(), abs=0.6) and after.y() == pytest.approx(
        before.y(), abs=0.6
    )
    assert env.stored() == []  # the rectangle tool did not see the drag
    assert c.tool().name == "rect"


def test_middle_drag_pans_from_any_tool(env: Env) -> None:
    c = env.canvas
    c.set_tool("polygon")
    v0 = c.view()
    QTest.mousePress(c, Qt.MouseButton.MiddleButton, NoMod, QPoint(300, 300))
    QTest.mouseMove(c, QPoint(260, 280))
    QTest.mouseRelease(c, Qt.MouseButton.MiddleButton, NoMod, QPoint(260, 280))
    assert (c.view().ox - v0.ox, c.view().oy - v0.oy) == (-40, -20)
    assert not c.tool().busy()


def test_zoom_shortcuts(env: Env) -> None:
    c = env.canvas
    fit = c.zoom()
    env.key(Qt.Key.Key_1, Ctrl)
    assert c.zoom() == 1.0
    env.key(Qt.Key.Key_Equal, Ctrl)
    assert c.zoom() > 1.0
    env.key(Qt.Key.Key_0, Ctrl)
    assert c.zoom() == pytest.approx(fit)


def test_hand_and_zoom_tools(env: Env) -> None:
    c = env.canvas
    env.key(Qt.Key.Key_H)
    assert c.tool().name == "hand"
    v0 = c.view()
    env.drag([(100, 100), (120, 110), (140, 120)])
    assert c.view().ox > v0.ox and c.view().oy > v0.oy
    env.key(Qt.Key.Key_Z)
    assert c.tool().name == "zoom"
    z = c.zoom()
    p = env.vp(200, 150)
    QTest.mouseClick(c, Qt.MouseButton.LeftButton, NoMod, p)
    assert c.zoom() == pytest.approx(2 * z)
    assert c.view_to_image(QPointF(p)).x() == pytest.approx(200, abs=1)
    QTest.mouseClick(c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier, p)
    assert c.zoom() == pytest.approx(z)
    env.drag([(100, 100), (140, 120), (200, 150)])  # zoom to that rectangle
    r = c.image_rect_visible()
    assert r.left() <= 101 and r.right() >= 199 and r.width() < 320


# -- edits through keys -------------------------------------------------------------------


def test_undo_redo_keys(env: Env) -> None:
    env.canvas.set_tool("rect")
    env.drag([(100, 100), (160, 140), (200, 180)])
    assert len(env.stored()) == 1
    env.key(Qt.Key.Key_Z, Ctrl)
    assert env.stored() == []
    env.key(Qt.Key.Key_Z, Ctrl | Shift)
    assert len(env.stored()) == 1
    env.key(Qt.Key.Key_Z, Ctrl)
    env.key(Qt.Key.Key_Y, Ctrl)
    [a] = env.stored()
    assert isinstance(a.geometry, Box)
    assert env.canvas.hit_test(QPointF(150, 150)) == a.id  # the canvas shows the redone box


def test_tool_keys_pick_tools(env: Env) -> None:
    c = env.canvas
    for key, name in [
        (Qt.Key.Key_M, "rect"),
        (Qt.Key.Key_P, "polygon"),
        (Qt.Key.Key_K, "keypoints"),
        (Qt.Key.Key_V, "select"),
    ]:
        env.key(key)
        assert c.tool().name == name
        assert env.registry.action(f"tool.{name}").isChecked()


def test_hide_all_and_fill_opacity(env: Env) -> None:
    add(env, Box(100, 100, 200, 150))
    inside = pixel(env, 200, 175)
    bare = tuple(int(v) for v in gradient(640, 480, 0)[175, 200])
    assert np.abs(np.array(inside) - np.array(bare)).max() > 15  # tinted by the fill
    env.key(Qt.Key.Key_H, Ctrl)
    assert not env.canvas.annotations_visible()
    assert np.abs(np.array(pixel(env, 200, 175)) - np.array(bare)).max() <= 12
    assert env.canvas.hit_test(QPointF(200, 175)) is None  # hidden shapes are not clickable
    env.key(Qt.Key.Key_H, Ctrl)
    o = env.canvas.fill_opacity()
    env.key(Qt.Key.Key_BracketRight, Qt.KeyboardModifier.AltModifier)
    assert env.canvas.fill_opacity() == pytest.approx(o + 0.1)
    stronger = pixel(env, 200, 175)
    # More opacity: closer to the label colour (#e15759: red channel up, blue down).
    assert stronger[0] - stronger[2] > inside[0] - inside[2]


def test_brightness_contrast(env: Env) -> None:
    before = pixel(env, 320, 240)
    env.key(Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    env.key(Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    brighter = pixel(env, 320, 240)
    assert all(b >= a + 25 for a, b in zip(before, brighter, strict=True))
    env.key(Qt.Key.Key_0, Qt.KeyboardModifier.AltModifier)
    assert np.abs(np.array(pixel(env, 320, 240)) - np.array(before)).max() <= 1
    assert env.stored() == []  # display only


def test_copy_from_previous_image(env: Env) -> None:
    c = env.canvas
    add(env, Box(10, 20, 30, 40))
    add(env, Polygon.from_points([(100, 100), (150, 100), (120, 160)]), label="tree")
    c.show_image(env.image_ids[1])
    env.qtbot.waitUntil(lambda: not c.is_loading())
    assert c.previous_image() == env.image_ids[0]
    env.key(Qt.Key.Key_V, Ctrl | Shift)
    copied = env.stored(env.image_ids[1])
    assert sorted(type(a.geometry).__name__ for a in copied) == ["Box", "Polygon"]
    assert len(env.stored(env.image_ids[0])) == 2  # the source is untouched
    env.key(Qt.Key.Key_Z, Ctrl)  # one undo step removes the whole copy
    assert env.stored(env.image_ids[1]) == []


def test_copy_paste_between_images(env: Env) -> None:
    c = env.canvas
    a = add(env, Box(10, 20, 30, 40))
    env.doc.select([a])
    env.key(Qt.Key.Key_C, Ctrl)
    c.show_image(env.image_ids[1])
    env.qtbot.waitUntil(lambda: not c.is_loading())
    env.key(Qt.Key.Key_V, Ctrl)
    [b] = env.stored(env.image_ids[1])
    assert b.geometry == Box(10, 20, 30, 40) and b.id != a


def test_reorder_keys(env: Env) -> None:
    a = add(env, Box(100, 100, 100, 100), z=0)
    b = add(env, Box(150, 150, 100, 100), z=1)
    assert env.canvas.hit_test(QPointF(175, 175)) == b
    env.doc.select([a])
    env.key(Qt.Key.Key_BracketRight, Ctrl | Shift)  # bring to front
    assert env.canvas.hit_test(QPointF(175, 175)) == a
    z = {x.id: x.z for x in env.stored()}
    assert z[a] > z[b]


# -- rendering of each kind -------------------------------------------------------------------


def test_masks_keypoints_and_boxes_render(env: Env) -> None:
    m = np.zeros((480, 640), np.uint8)
    m[300:400, 400:560] = 1
    add(env, masks.encode(m), label="tree")
    add(
        env,
        Keypoints(((100.0, 300.0, 2), (60.0, 380.0, 2), (140.0, 380.0, 1), (0.0, 0.0, 0))),
        label="person",
    )
    add(env, Box(250, 50, 100, 80))
    bare = gradient(640, 480, 0)
    for x, y in [(480, 350), (100, 300)]:
        got = np.array(pixel(env, x, y))
        assert np.abs(got - bare[y, x].astype(int)).max() > 20, (x, y)
    c = env.canvas
    assert c.hit_test(QPointF(480, 350)) is not None  # the mask's pixel
    assert c.hit_test(QPointF(420, 310)) is not None
    assert (
        c.hit_test(QPointF(380, 250)) is None
    )  # inside the mask's box, not its pixels... outside both
    kp = c.hit_test(QPointF(60, 380))
    assert kp is not None and env.doc.annotation(kp).geometry.kind == "keypoints"
    env.shot("kinds")


def test_edits_from_elsewhere_are_shown(env: Env) -> None:
    """The canvas observes the document: an edit applied by a panel (doc.do) is drawn and hit-testable."""
    c = env.canvas
    c.repaint()
    a = add(env, Polygon.from_points([(300, 300), (400, 300), (350, 400)]))
    assert c.hit_test(QPointF(350, 330)) == a
    env.doc.undo()
    assert c.hit_test(QPointF(350, 330)) is None


def test_broken_image_shows_an_error(env: Env, tmp_path) -> None:
    from lightable.core.model import Image

    folder = tmp_path / "images"
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    root = next(iter(env.project.roots()))
    env.project.images.insert_many([Image("broken.png", root, 100, 100)])
    bid = env.project.images.by_path(root, "broken.png").id
    env.canvas.show_image(bid)
    env.qtbot.waitUntil(lambda: not env.canvas.is_loading())
    assert env.canvas.error() and "broken.png" in env.canvas.error()
    env.canvas.repaint()  # paints the message, no exception


def test_huge_images_go_through_the_pyramid(project, tmp_path, qtbot, monkeypatch) -> None:
    """Above the size threshold the canvas shows an overview at once and full-resolution
    tiles once the child process has built them (threshold lowered for the test)."""
    from PIL import Image as PILImage

    from lightable.core.model import Image
    from lightable.ui.canvas import image_layer

    monkeypatch.setattr(image_layer, "HUGE_PIXELS", 1_000_000)
    env = make_env(project, tmp_path, qtbot, n_images=1)
    folder = tmp_path / "images"
    big = gradient(3000, 2000, 5)
    big[1000:1010, 1500:1510] = (255, 0, 255)  # a 10 px magenta square: invisible in the overview
    PILImage.fromarray(big).save(folder / "big.jpg", quality=95)
    root = next(iter(project.roots()))
    project.images.insert_many([Image("big.jpg", root, 3000, 2000)])
    image_id = project.images.by_path(root, "big.jpg").id
    c = env.canvas
    c.show_image(image_id)
    qtbot.waitUntil(lambda: c.image_source() is not None or c.error() is not None, timeout=10000)
    src = c.image_source()
    assert c.error() is None and src.kind == "pyramid"
    assert c.image_array() is None  # no full decode in this process
    qtbot.waitUntil(lambda: src.full_ready, timeout=60000)
    c.set_zoom(4.0)
    c.center_on(QPointF(1505, 1005))

    def magenta() -> bool:
        r, g, b = pixel(env, 1505, 1005)
        return r > 200 and g < 80 and b > 200

    qtbot.waitUntil(magenta, timeout=10000)
    env.shot("huge_tiles")


def test_changes_made_elsewhere_reach_the_canvas(env: Env) -> None:
    """An import or job writes rows and notifies the project: the open image reloads."""
    from lightable.store.project import Change

    a = Annotation(env.image_ids[0], env.labels["car"], Box(400, 300, 50, 50))
    env.project.annotations.add(a)
    assert env.canvas.hit_test(QPointF(420, 320)) is None
    env.project.notify(Change("annotations.changed", (env.image_ids[0],)))
    env.qtbot.waitUntil(lambda: env.canvas.hit_test(QPointF(420, 320)) == a.id, timeout=3000)
    # Our own edits do not trigger a reload (the document already has them).
    env.canvas.set_tool("rect")
    reloads = []
    env.doc.subscribe(lambda ev: reloads.append(ev.cause))
    env.drag([(100, 100), (150, 150)])
    env.qtbot.wait(50)
    assert "reload" not in reloads and len(env.stored()) == 2


def test_per_object_opacity_and_hidden_objects(env: Env) -> None:
    """The layers panel's per-object opacity (attributes["_opacity"]) and hidden flag are drawn."""
    from lightable.core.commands import SetAttributes, UpdateAnnotation

    a = add(env, Box(100, 100, 200, 150))
    bare = np.array([int(v) for v in gradient(640, 480, 0)[175, 200]])
    tinted = np.array(pixel(env, 200, 175))
    assert np.abs(tinted - bare).max() > 15
    env.doc.do(SetAttributes(a, {"_opacity": 0.0}))
    assert np.abs(np.array(pixel(env, 200, 175)) - bare).max() <= 12
    env.doc.do(SetAttributes(a, {"_opacity": 1.0}))
    env.doc.do(UpdateAnnotation(a, hidden=True))
    assert np.abs(np.array(pixel(env, 200, 175)) - bare).max() <= 12
    assert env.canvas.hit_test(QPointF(200, 175)) is None


def test_pixels_are_squares_past_400_percent(env: Env, tmp_path) -> None:
    from PIL import Image as PILImage

    checker = np.zeros((480, 640, 3), np.uint8)
    checker[(np.add.outer(np.arange(480), np.arange(640)) % 2) == 1] = 255
    PILImage.fromarray(checker).save(tmp_path / "images" / "img1.png")
    c = env.canvas
    c.show_image(env.image_ids[1])
    env.qtbot.waitUntil(lambda: not c.is_loading())
    c.set_zoom(8.0)
    c.center_on(QPointF(320, 240))
    c.repaint()
    img = c.grab().toImage()
    p = env.vp(320, 240)  # top-left corner of pixel (320, 240): white (320 + 240 is even -> black)
    block = [
        img.pixelColor(p.x() + dx, p.y() + dy).red() for dx in range(1, 7) for dy in range(1, 7)
    ]
    assert set(block) == {0}  # one flat 8 x 8 square, no filtering
    right = [
        img.pixelColor(p.x() + 8 + dx, p.y() + dy).red() for dx in range(1, 7) for dy in range(1, 7)
    ]
    assert set(right) == {255}


def test_live_ids_are_left_to_the_tool(env: Env) -> None:
    """A tool drawing an object itself (a brush stroke) hides its committed drawing meanwhile."""
    a = add(env, Box(100, 100, 200, 150))
    bare = np.array([int(v) for v in gradient(640, 480, 0)[175, 200]])
    env.canvas.set_live_ids([a])
    assert np.abs(np.array(pixel(env, 200, 175)) - bare).max() <= 12
    env.canvas.set_live_ids(())
    assert np.abs(np.array(pixel(env, 200, 175)) - bare).max() > 15


def test_object_opacity_applies_to_live_previews(env: Env) -> None:
    """A reshape or move in progress is drawn live: with the object's own opacity too."""
    from lightable.core.commands import SetAttributes

    a = add(env, Box(100, 100, 200, 150))
    env.doc.do(SetAttributes(a, {"_opacity": 0.0}))
    bare = np.array([int(v) for v in gradient(640, 480, 0)[175, 200]])
    env.canvas.set_tool("select")
    env.doc.select([a])
    # Drag the bottom-right handle: the preview replaces the committed drawing.
    env.press(300, 250)
    env.move(310, 255)
    env.move(320, 260)
    assert env.canvas.overlay.preview  # a reshape is in progress
    assert np.abs(np.array(pixel(env, 200, 175)) - bare).max() <= 12
    env.release(320, 260)
    env.doc.do(SetAttributes(a, {"_opacity": 1.0}))
    env.press(320, 260)
    env.move(330, 265)
    assert np.abs(np.array(pixel(env, 200, 175)) - bare).max() > 15  # drawn when opaque
    env.release(330, 265)
    assert env.stored()[0].geometry.bbox() == pytest.approx((100, 100, 230, 165), abs=1.0)
