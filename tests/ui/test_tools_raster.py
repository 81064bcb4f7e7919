"""Brush, eraser, magic wand and lasso on the real canvas, with real mouse and key events.

Every test drives CanvasWidget with QTest and checks what reached the store
(a real EditSession on the ``project`` fixture).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from lightable.core.commands import AddAnnotation, UpdateAnnotation
from lightable.core.errors import ValidationError
from lightable.core.geometry import Box, Mask, Polygon
from lightable.core.model import Annotation, Image, Label
from lightable.imaging import maskops, masks
from lightable.store.edits import EditSession

W, H = 240, 160
RED, NEAR_RED, BLUE, GREEN = (200, 30, 30), (212, 40, 24), (30, 40, 200), (40, 190, 60)
NO = Qt.KeyboardModifier.NoModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier
LEFT = Qt.MouseButton.LeftButton


def scene() -> np.ndarray:
    """Flat colour regions: red left half with a near-red square, blue right half with a
    green square."""
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[:, :120] = RED
    rgb[100:130, 20:50] = NEAR_RED
    rgb[:, 120:] = BLUE
    rgb[40:70, 150:180] = GREEN
    return rgb


class World:
    def __init__(self, project, qtbot) -> None:
        from lightable.ui.canvas.widget import CanvasWidget

        self.project = project
        root = project.add_root(project.folder)
        project.images.insert_many([Image(path="scene.png", root_id=root, width=W, height=H)])
        self.image_id = project.images.ordered_ids()[0]
        self.thing = project.labels.add(Label(name="thing", color="#59a14f")).id
        self.car = project.labels.add(Label(name="car", color="#edc948")).id
        self.session = EditSession(project)
        self.doc = self.session.open_document(self.image_id)
        self.rgb = scene()
        self.canvas = CanvasWidget()
        qtbot.addWidget(self.canvas)
        # 8 px fit margin on each side: zoom 1, image pixel (x, y) at widget (x + 8, y + 8).
        self.canvas.resize(W + 16, H + 16)
        self.canvas.show_document(self.doc, self.rgb)
        self.canvas.show()
        qtbot.waitExposed(self.canvas)
        self.canvas.set_active_label(self.thing)
        assert self.canvas.zoom() == pytest.approx(1.0)

    def vp(self, x: float, y: float) -> QPoint:
        return self.canvas.image_to_view(QPointF(x, y)).toPoint()

    def img(self, x: float, y: float) -> tuple[float, float]:
        """The image point a widget position maps to (what the tool receives)."""
        q = self.canvas.view_to_image(QPointF(self.vp(x, y)))
        return q.x(), q.y()

    def stroke(self, points: list[tuple[float, float]], mods=NO) -> None:
        c = self.canvas
        QTest.mousePress(c, LEFT, mods, self.vp(*points[0]))
        for p in points[1:]:
            QTest.mouseMove(c, self.vp(*p))
        QTest.mouseRelease(c, LEFT, mods, self.vp(*points[-1]))

    def click(self, x: float, y: float, mods=NO) -> None:
        QTest.mouseClick(self.canvas, LEFT, mods, self.vp(x, y))

    def stored(self) -> list[Annotation]:
        return self.project.annotations.for_image(self.image_id)

    def stored_mask(self, ann_id: int) -> np.ndarray:
        a = self.project.annotations.get(ann_id)
        assert a is not None and isinstance(a.geometry, Mask)
        return masks.decode(a.geometry)


@pytest.fixture
def world(project, qtbot) -> World:
    return World(project, qtbot)


def expected_stroke(
    w: World, points: list[tuple[float, float]], radius: float, base=None
) -> np.ndarray:
    m = np.zeros((H, W), np.uint8) if base is None else base.copy()
    pts = [w.img(*p) for p in points]
    maskops.stamp_capsule(m, *pts[0], *pts[0], radius)
    for a, b in itertools.pairwise(pts):
        maskops.stamp_capsule(m, *a, *b, radius)
    return m


def shot(widget, name: str) -> None:
    folder = os.environ.get("LIGHTABLE_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(folder) / f"{name}.png"))


# -- brush / eraser -----------------------------------------------------------------------


def test_brush_stroke_is_one_paint_command_and_undo_restores(world: World) -> None:
    c = world.canvas
    c.set_tool("brush")
    tool = c.tool()
    tool.set_size(10)
    pts = [(20, 20), (30, 22), (45, 25), (60, 25), (80, 30)]
    world.stroke(pts)
    [ann] = world.stored()
    assert ann.label_id == world.thing and ann.kind == "mask"
    expected = expected_stroke(world, pts, 5.0)
    assert np.array_equal(world.stored_mask(ann.id), expected)
    assert world.doc.history.entries() == ["Paint new mask"]
    assert world.doc.selected() == {ann.id}

    # A second stroke grows the selected object: one PaintMask step, a delta only.
    pts2 = [(80, 30), (90, 60), (95, 90)]
    world.stroke(pts2)
    assert [a.id for a in world.stored()] == [ann.id]
    both = expected_stroke(world, pts2, 5.0, expected)
    assert np.array_equal(world.stored_mask(ann.id), both)
    assert len(world.doc.history) == 2
    step = world.doc.history.steps()[-1]
    assert type(step.redo).__name__ == "PaintMask"
    _x0, _y0, pw, ph = step.redo.rect
    assert pw * ph < W * H // 4  # the changed rectangle, not the whole mask

    world.doc.undo()
    assert np.array_equal(world.stored_mask(ann.id), expected)
    world.doc.undo()
    assert world.stored() == []
    world.doc.redo()
    world.doc.redo()
    assert np.array_equal(world.stored_mask(ann.id), both)


def test_brush_size_keys_and_cursor(world: World) -> None:
    c = world.canvas
    c.set_tool("brush")
    tool = c.tool()
    tool.set_size(20)
    QTest.keyClick(c, Qt.Key.Key_BracketRight)
    assert tool.size == 24
    QTest.keyClick(c, Qt.Key.Key_BracketLeft)
    QTest.keyClick(c, Qt.Key.Key_BracketLeft)
    assert tool.size == 17
    for _ in range(40):
        QTest.keyClick(c, Qt.Key.Key_BracketLeft)
    assert tool.size == 1
    assert c.cursor().shape() == Qt.CursorShape.BlankCursor  # the real-size circle replaces it
    # The round cursor scales with the zoom: drawn at radius * zoom.
    tool.set_size(40)
    QTest.mouseMove(c, world.vp(100, 80))
    c.set_zoom(2.0, QPointF(world.vp(100, 80)))
    QTest.mouseMove(c, world.vp(100, 80))
    assert tool.radius * c.zoom() == pytest.approx(40.0)
    assert tool._hover is not None
    QApplication.sendEvent(c, QEvent(QEvent.Type.Leave))  # the circle does not linger
    assert tool._hover is None


def test_eraser_and_alt_inverts_and_shift_draws_a_line(world: World) -> None:
    c = world.canvas
    c.set_tool("brush")
    c.tool().set_size(16)
    world.stroke([(30, 50), (120, 50)])
    [ann] = world.stored()
    painted = world.stored_mask(ann.id)
    # Alt with the brush erases.
    world.stroke([(60, 50), (60, 51)], ALT)
    after_alt = world.stored_mask(ann.id)
    assert after_alt.sum() < painted.sum() and after_alt[50, 60] == 0 and after_alt[50, 100] == 1
    # Shift-click: a straight line from the end of the previous stroke.
    world.stroke([(60, 120)], SHIFT)
    line = world.stored_mask(ann.id)
    assert line[85, 60] == 1 and line[120, 60] == 1
    # The eraser subtracts from the selected mask.
    c.set_tool("eraser")
    c.tool().set_size(30)
    world.stroke([(100, 40), (100, 60)])
    erased = world.stored_mask(ann.id)
    assert erased[50, 100] == 0 and erased[50, 40] == 1
    assert world.doc.history.entries()[-1] == "Erase"
    # Erasing with nothing selected changes nothing.
    world.doc.clear_selection()
    n = len(world.doc.history)
    world.stroke([(40, 50), (45, 50)])
    assert len(world.doc.history) == n


def test_erasing_every_pixel_deletes_the_object_in_one_step(world: World) -> None:
    c = world.canvas
    c.set_tool("brush")
    c.tool().set_size(6)
    world.stroke([(50, 50), (60, 50)])
    [ann] = world.stored()
    c.set_tool("eraser")
    c.tool().set_size(40)
    world.stroke([(55, 50)])
    assert world.stored() == []
    world.doc.undo()
    assert world.stored_mask(ann.id).sum() > 0


def test_escape_cancels_a_stroke_and_locked_masks_refuse(world: World) -> None:
    c = world.canvas
    c.set_tool("brush")
    c.tool().set_size(10)
    QTest.mousePress(c, LEFT, NO, world.vp(30, 30))
    QTest.mouseMove(c, world.vp(60, 30))
    QTest.keyClick(c, Qt.Key.Key_Escape)
    QTest.mouseRelease(c, LEFT, NO, world.vp(60, 30))
    assert world.stored() == [] and len(world.doc.history) == 0

    world.stroke([(30, 30), (60, 30)])
    [ann] = world.stored()
    world.doc.do(UpdateAnnotation(ann.id, locked=True))
    before = world.stored_mask(ann.id)
    world.stroke([(30, 80), (60, 80)])
    assert np.array_equal(world.stored_mask(ann.id), before)
    assert "locked" in c.tool()._notice


def test_enter_finishes_the_object_and_next_stroke_starts_another(world: World) -> None:
    c = world.canvas
    c.set_tool("brush")
    c.tool().set_size(8)
    world.stroke([(20, 20), (40, 20)])
    QTest.keyClick(c, Qt.Key.Key_Return)
    assert world.doc.selected() == frozenset()
    c.set_active_label(world.car)
    world.stroke([(20, 80), (40, 80)])
    anns = world.stored()
    assert len(anns) == 2 and {a.label_id for a in anns} == {world.thing, world.car}


def test_per_class_mode_paints_into_one_mask_per_label(world: World) -> None:
    c = world.canvas
    c.set_tool("brush")
    tool = c.tool()
    tool.per_class = True
    tool.set_size(8)
    world.stroke([(20, 20), (40, 20)])
    world.doc.clear_selection()
    world.stroke([(20, 80), (40, 80)])
    [ann] = world.stored()
    m = world.stored_mask(ann.id)
    assert m[20, 30] == 1 and m[80, 30] == 1
    c.set_active_label(world.car)
    world.stroke([(150, 80), (160, 80)])
    assert sorted(a.label_id for a in world.stored()) == sorted([world.thing, world.car])
    assert c.tools()["eraser"].per_class  # shared by the raster tools of the canvas


# -- magic wand ---------------------------------------------------------------------------


def region(rgb: np.ndarray, x: int, y: int, tol: int) -> np.ndarray:
    x0, y0, patch = maskops.flood_fill(rgb, x, y, tol)
    out = np.zeros((H, W), np.uint8)
    out[y0 : y0 + patch.shape[0], x0 : x0 + patch.shape[1]] = patch
    return out


def test_wand_click_makes_the_region_and_shift_alt_add_subtract(world: World) -> None:
    c = world.canvas
    c.set_tool("wand")
    tool = c.tool()
    tool.set_tolerance(4)
    world.click(60, 20)
    [ann] = world.stored()
    red = np.zeros((H, W), np.uint8)
    red[:, :120] = 1
    red[100:130, 20:50] = 0  # the near-red square is outside tolerance 4
    assert np.array_equal(world.stored_mask(ann.id), red)
    assert world.doc.selected() == {ann.id}

    world.click(160, 50, SHIFT)  # add the green square
    m = world.stored_mask(ann.id)
    assert m[50, 160] == 1 and m.sum() == red.sum() + 900
    world.click(60, 20, ALT)  # subtract the red region again
    m = world.stored_mask(ann.id)
    assert m.sum() == 900 and m[50, 160] == 1
    assert len(world.doc.history) == 3

    # A plain click is a new object; tolerance 32 takes the near-red square along.
    QTest.keyClick(c, Qt.Key.Key_BracketRight)
    assert tool.tolerance == 8
    tool.set_tolerance(32)
    world.click(60, 20)
    assert len(world.stored()) == 2
    new = next(a for a in world.stored() if a.id != ann.id)
    assert world.stored_mask(new.id).sum() == 120 * H


def test_wand_polygon_output(world: World) -> None:
    c = world.canvas
    c.set_tool("wand")
    c.tool().set_output("polygon")
    world.click(165, 55)
    [ann] = world.stored()
    assert isinstance(ann.geometry, Polygon)
    assert ann.geometry.bbox() == (150.0, 40.0, 30.0, 30.0)
    assert ann.geometry.area() == pytest.approx(900.0)
    # Shift-click adds to the selected polygon (still a polygon).
    world.click(20, 5, SHIFT)  # the red region: joins the polygon as a second part
    a = world.project.annotations.get(ann.id)
    assert isinstance(a.geometry, Polygon) and len(a.geometry.rings) == 2


# -- lasso --------------------------------------------------------------------------------


def test_lasso_drag_to_mask_and_alt_subtracts(world: World) -> None:
    c = world.canvas
    c.set_tool("lasso")
    outline = [(40, 40), (70, 40), (100, 40), (100, 65), (100, 90), (70, 90), (40, 90), (40, 65)]
    world.stroke([*outline, (41, 41)])
    [ann] = world.stored()
    m = world.stored_mask(ann.id)
    assert m.sum() == pytest.approx(60 * 50, rel=0.05)
    assert m[60, 70] == 1 and m[30, 70] == 0
    # Alt-drag subtracts a smaller region from the selected mask.
    world.stroke([(60, 50), (80, 50), (80, 70), (60, 70), (61, 51)], ALT)
    m2 = world.stored_mask(ann.id)
    assert m2[60, 70] == 0 and m2[45, 45] == 1
    assert len(world.doc.history) == 2


def test_lasso_clicks_to_polygon(world: World) -> None:
    c = world.canvas
    c.set_tool("lasso")
    c.tool().set_output("polygon")
    for p in [(20, 20), (120, 20), (120, 100)]:
        world.click(*p)
    QTest.keyClick(c, Qt.Key.Key_Backspace)  # drop (120, 100)
    world.click(100, 100)
    world.click(20, 100)
    QTest.keyClick(c, Qt.Key.Key_Return)
    [ann] = world.stored()
    assert isinstance(ann.geometry, Polygon)
    pts = {(round(x), round(y)) for x, y in ann.geometry.points()}
    assert pts == {(20, 20), (120, 20), (100, 100), (20, 100)}
    assert world.doc.history.entries() == ["Lasso polygon"]


def test_lasso_shift_adds_to_selected_mask(world: World) -> None:
    c = world.canvas
    c.set_tool("brush")
    c.tool().set_size(6)
    world.stroke([(150, 120), (160, 120)])
    [ann] = world.stored()
    c.set_tool("lasso")
    world.stroke([(20, 20), (60, 20), (60, 60), (20, 60), (21, 21)], SHIFT)
    m = world.stored_mask(ann.id)
    assert m[40, 40] == 1 and m[120, 155] == 1
    assert [a.id for a in world.stored()] == [ann.id]


# -- conversions ----------------------------------------------------------------------------


def _add(world: World, ann: Annotation) -> int:
    ev = world.doc.do(AddAnnotation(ann))
    return next(iter(ev.added))


def test_convert_mask_to_polygon_and_back_are_single_undo_steps(world: World) -> None:
    m = np.zeros((H, W), np.uint8)
    m[20:60, 30:90] = 1
    m[30:40, 50:60] = 0  # a hole survives both ways
    doc = world.doc
    ann_id = _add(
        world, Annotation(world.image_id, world.thing, masks.encode(m), attributes={"k": 1})
    )
    doc.do(maskops.mask_to_polygon_command(doc, ann_id, tolerance=0))
    a = world.project.annotations.get(ann_id)
    assert isinstance(a.geometry, Polygon) and a.attributes == {"k": 1}
    assert np.array_equal(maskops.polygon_to_mask(a.geometry, H, W), m)
    doc.do(maskops.polygon_to_mask_command(doc, ann_id))
    assert np.array_equal(world.stored_mask(ann_id), m)
    assert doc.history.entries()[-2:] == ["Convert mask to polygon", "Convert polygon to mask"]
    doc.undo()
    assert isinstance(world.project.annotations.get(ann_id).geometry, Polygon)
    doc.undo()
    assert np.array_equal(world.stored_mask(ann_id), m)
    # Boxes convert to masks too; the wrong kinds are refused with a message.
    box_id = _add(world, Annotation(world.image_id, world.car, Box(10, 10, 5, 4)))
    doc.do(maskops.polygon_to_mask_command(doc, box_id))
    assert world.stored_mask(box_id).sum() == 20
    poly_id = _add(
        world, Annotation(world.image_id, world.car, Polygon.from_points([(1, 1), (9, 1), (5, 8)]))
    )
    with pytest.raises(ValidationError, match="not a mask"):
        maskops.mask_to_polygon_command(doc, poly_id)
    with pytest.raises(ValidationError, match="not a polygon"):
        maskops.polygon_to_mask_command(doc, ann_id)


def test_screenshots_of_the_raster_tools(world: World, qtbot) -> None:
    """Saved when LIGHTABLE_SHOTS is set; asserts what the live previews draw."""
    c = world.canvas
    c.resize(W * 3 + 16, H * 3 + 16)
    c.zoom_fit()
    c.set_tool("wand")
    world.click(165, 55)
    c.set_tool("brush")
    c.tool().set_size(14)
    world.doc.clear_selection()
    c.set_active_label(world.car)
    pts = [(30, 120), (50, 110), (70, 118), (90, 135)]
    before = c.grab().toImage().pixelColor(world.vp(50, 110))
    QTest.mousePress(c, LEFT, NO, world.vp(*pts[0]))
    for p in pts[1:]:
        QTest.mouseMove(c, world.vp(*p))
    colour = c.grab().toImage().pixelColor(world.vp(50, 110))
    assert colour.green() > before.green() + 40  # the live stroke (yellow over red) is on screen
    shot(c, "tool_brush")
    QTest.mouseRelease(c, LEFT, NO, world.vp(*pts[-1]))
    c.set_tool("lasso")
    QTest.mousePress(c, LEFT, NO, world.vp(130, 100))
    for p in [(200, 95), (225, 140), (150, 150)]:
        QTest.mouseMove(c, world.vp(*p))
    shot(c, "tool_lasso")
    QTest.mouseRelease(c, LEFT, NO, world.vp(150, 150))
    c.set_tool("wand")
    shot(c, "tool_wand")
    assert len(world.stored()) == 3


def test_picking_another_label_starts_a_new_object(world: World) -> None:
    c = world.canvas
    c.set_tool("brush")
    c.tool().set_size(8)
    world.stroke([(20, 20), (40, 20)])
    c.set_active_label(world.car)  # keys 1-9 in the labels panel end up here
    assert world.doc.selected() == frozenset()
    world.stroke([(20, 60), (40, 60)])
    assert sorted(a.label_id for a in world.stored()) == sorted([world.thing, world.car])


def test_options_widgets_follow_the_keys(world: World, qtbot) -> None:
    c = world.canvas
    c.set_tool("brush")
    brush = c.tool()
    opts = brush.options_widget()
    qtbot.addWidget(opts)
    brush.set_size(20)
    QTest.keyClick(c, Qt.Key.Key_BracketRight)
    assert opts.size.value() == 24
    opts.size.setValue(50)
    assert brush.size == 50
    opts.per_class.setChecked(True)
    assert c.tools()["wand"].per_class
    opts.opacity.setValue(70)
    assert c.fill_opacity() == pytest.approx(0.7)
    c.set_tool("wand")
    wand = c.tool()
    wopts = wand.options_widget()
    qtbot.addWidget(wopts)
    QTest.keyClick(c, Qt.Key.Key_BracketLeft)
    assert wopts.tolerance.value() == wand.tolerance == 28
    wopts.output.setCurrentIndex(1)
    assert wand.output == "polygon"
    c.set_tool("lasso")
    lopts = c.tool().options_widget()
    qtbot.addWidget(lopts)
    lopts.output.setCurrentIndex(1)
    assert c.tool().output == "polygon"


def test_live_stroke_is_drawn_when_zoomed_out(world: World) -> None:
    """Below 100% the live mask is drawn from a reduced level (one image per frame)."""
    c = world.canvas
    c.set_zoom(0.25)
    assert c.zoom() == pytest.approx(0.25)
    c.set_tool("brush")
    c.tool().set_size(30)
    background = c.grab().toImage().pixelColor(world.vp(40, 80))
    QTest.mousePress(c, LEFT, NO, world.vp(20, 80))
    QTest.mouseMove(c, world.vp(100, 80))
    live = c.grab().toImage().pixelColor(world.vp(40, 80))  # far from the cursor's cross
    # The label's green blended over the red image (not the white of a cursor).
    assert live.green() > background.green() + 30 and live.red() < background.red() - 20
    QTest.mouseRelease(c, LEFT, NO, world.vp(100, 80))
    assert len(world.stored()) == 1


# -- the live mask replaces the committed one during a stroke ----------------------------


def _color_at(world: World, x: float, y: float) -> np.ndarray:
    img = world.canvas.grab().toImage()
    c = img.pixelColor(world.vp(x, y))
    return np.array([c.red(), c.green(), c.blue()])


@pytest.mark.parametrize("object_opacity", [1.0, 0.5])
def test_erasing_an_existing_mask_hides_the_committed_pixels_during_the_stroke(
    world: World, object_opacity: float
) -> None:
    """While the eraser works on a committed mask, what it erased shows the image (the
    committed rendering must not show through the live mask's holes), and what it did
    not erase looks exactly as committed (one mask opacity rule for both)."""
    from lightable.core.commands import SetAttributes

    c = world.canvas
    c.set_tool("brush")
    c.tool().set_size(40)
    world.stroke([(30, 80), (110, 80)])  # red half of the scene
    [ann] = world.stored()
    if object_opacity != 1.0:
        world.doc.do(SetAttributes(ann.id, {"_opacity": object_opacity}))
    world.canvas.repaint()
    inside, erased = (45, 80), (95, 80)
    committed = _color_at(world, *inside)
    assert np.abs(committed - np.array(RED)).max() > 30  # the mask is visible there
    assert np.abs(_color_at(world, *erased) - committed).max() <= 2

    c.set_tool("eraser")
    c.tool().set_size(30)
    QTest.mousePress(c, LEFT, NO, world.vp(88, 80))
    QTest.mouseMove(c, world.vp(102, 80))
    QTest.mouseMove(c, world.vp(104, 80))
    c.repaint()
    # Erased: the image itself, not the committed mask's colour.
    assert np.abs(_color_at(world, *erased) - np.array(RED)).max() <= 3
    # Not erased: drawn live, the same colour as committed.
    assert np.abs(_color_at(world, *inside) - committed).max() <= 3
    QTest.mouseRelease(c, LEFT, NO, world.vp(104, 80))

    stored = world.stored_mask(ann.id)
    x, y = (int(v) for v in world.img(*erased))
    assert stored[y, x] == 0 and stored[80, 45] == 1
    c.repaint()
    assert np.abs(_color_at(world, *erased) - np.array(RED)).max() <= 3
    assert np.abs(_color_at(world, *inside) - committed).max() <= 2
    assert c.overlay._excluded == set()  # nothing left hidden after the stroke


def test_a_cancelled_erase_shows_the_committed_mask_again(world: World) -> None:
    c = world.canvas
    c.set_tool("brush")
    c.tool().set_size(40)
    world.stroke([(30, 80), (110, 80)])
    [ann] = world.stored()
    c.repaint()
    committed = _color_at(world, 95, 80)
    c.set_tool("eraser")
    c.tool().set_size(30)
    QTest.mousePress(c, LEFT, NO, world.vp(88, 80))
    QTest.mouseMove(c, world.vp(104, 80))
    c.repaint()
    assert np.abs(_color_at(world, 95, 80) - np.array(RED)).max() <= 3
    QTest.keyClick(c, Qt.Key.Key_Escape)
    QTest.mouseRelease(c, LEFT, NO, world.vp(104, 80))
    c.repaint()
    assert np.abs(_color_at(world, 95, 80) - committed).max() <= 2
    assert world.stored_mask(ann.id)[80, 95] == 1 and len(world.doc.history) == 1


def test_leaving_the_canvas_tells_the_tool(world: World) -> None:
    """The canvas calls Tool.leave() (no event filter of the tool's own)."""
    c = world.canvas
    c.set_tool("eraser")
    tool = c.tool()
    QTest.mouseMove(c, world.vp(60, 60))
    assert tool._hover is not None
    calls = []
    original = tool.leave
    tool.leave = lambda: (calls.append(1), original())
    QApplication.sendEvent(c, QEvent(QEvent.Type.Leave))
    assert calls == [1] and tool._hover is None


def test_tool_options_widget_for_the_window(world: World, qtbot) -> None:
    c = world.canvas
    c.set_tool("select")
    assert c.tool_options_widget() is None
    c.set_tool("brush")
    w = c.tool_options_widget()
    qtbot.addWidget(w)
    assert w is c.tool_options_widget()  # made once, then reused
    QTest.keyClick(c, Qt.Key.Key_BracketRight)
    assert w.size.value() == int(c.tool().size)  # follows the keys
    # Per-class mode is shared by brush and eraser: the eraser's bar shows the change.
    c.set_tool("eraser")
    e = c.tool_options_widget()
    qtbot.addWidget(e)
    assert e is not w
    w.per_class.setChecked(True)
    assert c.tool_options_widget().per_class.isChecked()
    c.set_tool("wand")
    wand_bar = c.tool_options_widget()
    assert wand_bar is not None
    wand_bar.deleteLater()  # a window that deleted it anyway: the next call makes another
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    QTest.keyClick(c, Qt.Key.Key_BracketRight)  # the tool must not touch the dead widget
    again = c.tool_options_widget()
    qtbot.addWidget(again)
    assert again.tolerance.value() == c.tool().tolerance
