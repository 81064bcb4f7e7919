"""Layers, history, properties and tags panels: real clicks and keys, checked in the store."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtTest import QTest

from lightable.core.commands import AddAnnotation, MoveAnnotations, UpdateAnnotation
from lightable.core.geometry import Box, Polygon, Tag
from lightable.core.model import Annotation, Image, Label, LabelKind, Source
from lightable.imaging import masks
from lightable.store.edits import EditSession
from lightable.ui.panels.history import HistoryPanel
from lightable.ui.panels.layers import COL_LOCKED, COL_NAME, COL_VISIBLE, LayersPanel, restack_z
from lightable.ui.panels.properties import PropertiesPanel, parse_schema
from lightable.ui.panels.tags import TagsPanel

LEFT = Qt.MouseButton.LeftButton
NO = Qt.KeyboardModifier.NoModifier
SCHEMA = {
    "occluded": {"type": "bool"},
    "color": {"type": "enum", "values": ["red", "green", "blue"]},
    "count": {"type": "int", "min": 0, "max": 20},
    "note": "text",
}


class World:
    def __init__(self, project) -> None:
        self.project = project
        root = project.add_root(project.folder)
        project.images.insert_many([Image(path="a.png", root_id=root, width=200, height=100)])
        self.image_id = project.images.ordered_ids()[0]
        L = project.labels
        self.car = L.add(Label(name="car", color="#4e79a7", attributes=SCHEMA)).id
        self.person = L.add(Label(name="person", color="#e15759")).id
        self.night = L.add(Label(name="night", color="#76b7b2", kind=LabelKind.TAG)).id
        self.blurry = L.add(Label(name="blurry", color="#edc948", kind=LabelKind.TAG)).id
        m = np.zeros((100, 200), np.uint8)
        m[10:30, 10:60] = 1
        project.annotations.insert_many(
            [
                Annotation(self.image_id, self.car, Box(5, 5, 40, 20), z=0),
                Annotation(
                    self.image_id,
                    self.person,
                    Polygon.from_points([(50, 50), (90, 50), (70, 90)]),
                    z=1,
                ),
                Annotation(self.image_id, self.car, masks.encode(m), z=2, source=Source.IMPORT),
            ]
        )
        self.box, self.poly, self.mask = (
            a.id for a in project.annotations.for_image(self.image_id)
        )
        self.session = EditSession(project)
        self.doc = self.session.open_document(self.image_id)

    def row(self, ann_id: int) -> dict:
        a = self.project.annotations.get(ann_id)
        assert a is not None
        return {"hidden": a.hidden, "locked": a.locked, "z": a.z, "attributes": a.attributes,
                "label_id": a.label_id}  # fmt: skip


@pytest.fixture
def world(project) -> World:
    return World(project)


def shot(widget, name: str) -> None:
    folder = os.environ.get("LIGHTABLE_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(folder) / f"{name}.png"))


def click_index(view, index: QModelIndex, x_offset: int | None = None, mods=NO) -> None:
    rect = view.visualRect(index)
    pos = rect.center() if x_offset is None else QPoint(rect.left() + x_offset, rect.center().y())
    QTest.mouseClick(view.viewport(), LEFT, mods, pos)


# -- layers -------------------------------------------------------------------------------


def test_layers_lists_objects_topmost_first(world: World, qtbot) -> None:
    panel = LayersPanel()
    qtbot.addWidget(panel)
    panel.resize(320, 240)
    panel.set_document(world.doc)
    panel.show()
    m = panel.model
    assert m.ids == [world.mask, world.poly, world.box]
    assert m.data(m.index(0, COL_NAME)) == f"car  #{world.mask}"
    assert m.data(m.index(1, 3)) == "polygon"
    assert m.data(m.index(0, 4)) == "100%"
    # Tags are not layers.
    world.doc.do(AddAnnotation(Annotation(world.image_id, world.night, Tag())))
    assert len(m.ids) == 3
    shot(panel, "panels_layers")


def test_layers_visibility_and_lock_toggles_reach_the_store(world: World, qtbot) -> None:
    panel = LayersPanel()
    qtbot.addWidget(panel)
    panel.resize(320, 240)
    panel.set_document(world.doc)
    panel.show()
    qtbot.waitExposed(panel)
    v = panel.view
    row = panel.model.row_of(world.poly)
    click_index(v, panel.model.index(row, COL_VISIBLE))
    assert world.row(world.poly)["hidden"] is True
    assert world.doc.selected() == frozenset()  # toggling is not selecting
    click_index(v, panel.model.index(row, COL_LOCKED))
    assert world.row(world.poly)["locked"] is True
    click_index(v, panel.model.index(row, COL_VISIBLE))
    assert world.row(world.poly)["hidden"] is False
    assert world.doc.history.entries() == ["Hide", "Lock", "Show"]
    assert (
        panel.model.data(panel.model.index(row, COL_LOCKED), Qt.ItemDataRole.AccessibleTextRole)
        == "locked"
    )
    world.doc.undo()
    assert world.row(world.poly)["hidden"] is True


def test_layers_selection_is_synced_both_ways(world: World, qtbot) -> None:
    panel = LayersPanel()
    qtbot.addWidget(panel)
    panel.resize(320, 240)
    panel.set_document(world.doc)
    panel.show()
    qtbot.waitExposed(panel)
    v = panel.view
    click_index(v, panel.model.index(panel.model.row_of(world.box), COL_NAME))
    assert world.doc.selected() == {world.box}
    click_index(
        v,
        panel.model.index(panel.model.row_of(world.mask), COL_NAME),
        mods=Qt.KeyboardModifier.ControlModifier,
    )
    assert world.doc.selected() == {world.box, world.mask}
    world.doc.select([world.poly])
    assert panel.selected_ids() == [world.poly]
    world.doc.clear_selection()
    assert panel.selected_ids() == []


def test_layers_reorder_buttons_drop_and_opacity(world: World, qtbot) -> None:
    panel = LayersPanel()
    qtbot.addWidget(panel)
    panel.resize(320, 240)
    panel.set_document(world.doc)
    panel.show()
    qtbot.waitExposed(panel)
    world.doc.select([world.box])
    QTest.mouseClick(panel.btn_up, LEFT)
    assert world.row(world.box)["z"] > world.row(world.poly)["z"]
    assert panel.model.ids == [world.mask, world.box, world.poly]
    QTest.mouseClick(panel.btn_front, LEFT)
    assert panel.model.ids == [world.box, world.mask, world.poly]
    assert world.doc.history.entries() == ["Bring forward", "Bring to front"]
    # Dropping rows (what a drag does): the polygon goes to the top.
    data = panel.model.mimeData([panel.model.index(2, 0)])
    panel.model.dropMimeData(data, Qt.DropAction.MoveAction, 0, 0, QModelIndex())
    assert panel.model.ids == [world.poly, world.box, world.mask]
    zs = [world.row(i)["z"] for i in (world.mask, world.box, world.poly)]
    assert zs == sorted(zs) and len(set(zs)) == 3
    assert restack_z(world.doc, panel.model.ids, [world.poly], 0) == {}
    # Opacity of the selection: keyboard on the slider commits one step per change.
    world.doc.select([world.mask])
    panel.opacity.setFocus()
    QTest.keyClick(panel.opacity, Qt.Key.Key_PageDown)
    value = panel.opacity.value()
    assert value < 100
    assert world.row(world.mask)["attributes"]["_opacity"] == pytest.approx(value / 100)
    assert panel.model.data(panel.model.index(panel.model.row_of(world.mask), 4)) == f"{value}%"


# -- history ------------------------------------------------------------------------------


def test_history_click_goes_back_and_forward(world: World, qtbot) -> None:
    panel = HistoryPanel()
    qtbot.addWidget(panel)
    panel.resize(260, 240)
    panel.set_document(world.doc)
    panel.show()
    qtbot.waitExposed(panel)
    doc = world.doc
    doc.do(UpdateAnnotation(world.box, hidden=True))
    doc.do(MoveAnnotations([world.poly], 10, 0))
    doc.do(AddAnnotation(Annotation(world.image_id, world.person, Box(1, 1, 2, 2))))
    m = panel.model
    assert m.rowCount() == 4
    assert [m.data(m.index(r)) for r in range(4)] == ["Opened", "Hide", "Move 1 object", "Add box"]
    assert panel.view.currentIndex().row() == 3
    click_index(panel.view, m.index(1))
    assert doc.history.index == 1
    assert world.row(world.box)["hidden"] is True
    assert len(world.project.annotations.for_image(world.image_id)) == 3  # the add is undone
    assert world.project.annotations.get(world.poly).geometry.bbox()[0] == 50  # the move too
    assert m.data(m.index(3), Qt.ItemDataRole.FontRole).italic()
    click_index(panel.view, m.index(0))
    assert world.row(world.box)["hidden"] is False
    click_index(panel.view, m.index(3))
    assert doc.history.index == 3
    assert len(world.project.annotations.for_image(world.image_id)) == 4
    shot(panel, "panels_history")
    # A new edit after going back drops the redo branch, and the list follows.
    click_index(panel.view, m.index(1))
    doc.do(UpdateAnnotation(world.box, locked=True))
    assert [m.data(m.index(r)) for r in range(m.rowCount())] == ["Opened", "Hide", "Lock"]
    assert panel.view.currentIndex().row() == 2


# -- properties ---------------------------------------------------------------------------


def test_schema_parsing() -> None:
    specs = {
        s.name: s
        for s in parse_schema({**SCHEMA, "_hidden": "bool", "odd": 5, "shape": ["a", "b"]})
    }
    assert specs["occluded"].type == "bool" and specs["color"].values == ("red", "green", "blue")
    assert specs["count"].minimum == 0 and specs["count"].maximum == 20
    assert specs["note"].type == "text" and specs["odd"].type == "text"
    assert specs["shape"].type == "enum" and "_hidden" not in specs
    assert parse_schema(None) == [] and parse_schema({"e": {"type": "enum"}})[0].type == "text"


def test_properties_edit_reaches_the_store(world: World, qtbot) -> None:
    panel = PropertiesPanel()
    qtbot.addWidget(panel)
    panel.resize(300, 420)
    panel.set_document(world.doc)
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.title.text() == "No image" or panel.title.text() == "Nothing selected"
    world.doc.select([world.mask])
    assert panel.title.text() == f"Object #{world.mask}"
    assert panel.kind.text() == "mask"
    assert panel.area.text() == "1,000 px²"
    assert panel.bbox.text() == "x 10, y 10, 50 × 20"
    assert panel.source.text().startswith("import")
    assert set(panel.editors) == {"occluded", "color", "count", "note"}

    QTest.mouseClick(panel.editors["occluded"], LEFT)
    assert world.row(world.mask)["attributes"] == {"occluded": True}
    combo = panel.editors["color"]
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_Down)
    assert world.row(world.mask)["attributes"]["color"] == "red"
    note = panel.editors["note"]
    note.setFocus()
    QTest.keyClicks(note, "half hidden")
    QTest.keyClick(note, Qt.Key.Key_Return)
    assert world.row(world.mask)["attributes"]["note"] == "half hidden"
    spin = panel.editors["count"]
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, "7")
    QTest.keyClick(spin, Qt.Key.Key_Return)
    assert world.row(world.mask)["attributes"]["count"] == 7
    assert world.doc.history.entries() == ["Set occluded", "Set color", "Set note", "Set count"]
    shot(panel, "panels_properties")

    # Relabel through the label box; the person label has no schema.
    panel.label_combo.setFocus()
    QTest.keyClick(panel.label_combo, Qt.Key.Key_Down)
    assert world.row(world.mask)["label_id"] == world.person
    # Undeclared attributes stay visible (as text).
    assert set(panel.editors) == {"occluded", "color", "count", "note"}


def test_properties_multi_selection_edits_all_in_one_step(world: World, qtbot) -> None:
    panel = PropertiesPanel()
    qtbot.addWidget(panel)
    panel.set_document(world.doc)
    panel.show()
    world.doc.select([world.box, world.mask])
    assert panel.title.text() == "2 objects selected"
    QTest.mouseClick(panel.editors["occluded"], LEFT)
    assert world.row(world.box)["attributes"] == {"occluded": True}
    assert world.row(world.mask)["attributes"] == {"occluded": True}
    assert len(world.doc.history) == 1
    world.doc.undo()
    assert world.row(world.box)["attributes"] == {} and world.row(world.mask)["attributes"] == {}


# -- tags ---------------------------------------------------------------------------------


def test_tags_toggle_adds_and_removes_tag_annotations(world: World, qtbot) -> None:
    panel = TagsPanel()
    qtbot.addWidget(panel)
    panel.resize(240, 240)
    panel.set_document(world.doc)
    panel.show()
    qtbot.waitExposed(panel)
    lst = panel.list
    assert [lst.item(r).text() for r in range(lst.count())] == ["night", "blurry"]

    def tags() -> set[int]:
        return {
            a.label_id
            for a in world.project.annotations.for_image(world.image_id)
            if a.kind == "tag"
        }

    lst.setFocus()
    lst.setCurrentRow(0)
    QTest.keyClick(lst.viewport(), Qt.Key.Key_Space)
    assert tags() == {world.night}
    rect = lst.visualItemRect(lst.item(1))
    QTest.mouseClick(lst.viewport(), LEFT, NO, QPoint(rect.left() + 10, rect.center().y()))
    assert tags() == {world.night, world.blurry}
    shot(panel, "panels_tags")
    QTest.mouseClick(lst.viewport(), LEFT, NO, QPoint(rect.left() + 10, rect.center().y()))
    assert tags() == {world.night}
    assert world.doc.history.entries() == ["Tag night", "Tag blurry", "Untag blurry"]
    # Undo reflects back into the check boxes.
    world.doc.undo()
    assert lst.item(1).checkState() == Qt.CheckState.Checked
    panel.show_all.setChecked(True)
    assert lst.count() == 4
    panel.filter.setText("per")
    assert [lst.item(r).text() for r in range(lst.count()) if not lst.item(r).isHidden()] == [
        "person"
    ]
