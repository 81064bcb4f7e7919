"""The Labels dock: taxonomy edits are undoable commands saved at once; 1-9 pick a label."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMainWindow

from lightable.core.geometry import Box
from lightable.core.model import Annotation
from lightable.store.edits import EditSession
from lightable.ui.actions import ActionRegistry
from lightable.ui.panels.labels import LabelsPanel
from tests.ui.conftest import activate


@pytest.fixture
def session(indexed_project):
    for name, color in (("car", "#e15759"), ("person", "#4e79a7"), ("bike", "#59a14f")):
        indexed_project.labels.ensure(name, color)
    return EditSession(indexed_project)


@pytest.fixture
def panel(qtbot, session):
    p = LabelsPanel()
    qtbot.addWidget(p)
    p.set_session(session)
    p.resize(300, 400)
    p.show()
    return p


def names(project) -> list[str]:
    return [lb.name for lb in project.labels.all()]


def test_lists_the_taxonomy_with_keys(panel):
    assert panel.tree.topLevelItemCount() == 3
    rows = [
        (panel.tree.topLevelItem(i).text(0), panel.tree.topLevelItem(i).text(2)) for i in range(3)
    ]
    assert rows == [("car", "1"), ("person", "2"), ("bike", "3")]
    assert panel.active_label_id() == panel.labels()[0].id


def test_add_rename_recolor_delete_reach_the_store_and_undo(panel, session):
    project = session.project
    new_id = panel.add_label("truck")
    assert new_id is not None and "truck" in names(project)
    assert panel.active_label_id() == new_id
    assert panel.rename_label(new_id, "lorry")
    assert project.labels.get(new_id).name == "lorry"
    assert panel.recolor_label(new_id, "#123456")
    assert project.labels.get(new_id).color == "#123456"
    assert panel.delete_label(new_id)
    assert "lorry" not in names(project)
    # Every step is in the taxonomy history (no image open): undo walks back.
    assert panel.undo_taxonomy()
    assert project.labels.get(new_id).color == "#123456"
    assert panel.undo_taxonomy()
    assert project.labels.get(new_id).color != "#123456"
    assert panel.undo_taxonomy()
    assert project.labels.get(new_id).name == "truck"
    assert panel.undo_taxonomy()
    assert "truck" not in names(project)


def test_edits_with_an_open_image_go_into_its_history(panel, session):
    doc = session.open_document(session.project.images.ordered_ids()[0])
    panel.add_label("sign")
    assert "sign" in names(session.project)
    assert doc.history.can_undo()
    doc.undo()
    assert "sign" not in names(session.project)


def test_rename_in_place_with_the_keyboard(panel, session, qtbot):
    item = panel.tree.topLevelItem(1)
    panel.tree.setCurrentItem(item)
    panel.tree.setFocus()
    QTest.keyClick(panel.tree, Qt.Key.Key_F2)
    editor = panel.tree.focusWidget()
    assert editor is not panel.tree
    editor.selectAll()
    QTest.keyClicks(editor, "pedestrian")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "pedestrian" in names(session.project), timeout=2000)
    assert "person" not in names(session.project)


def test_bad_names_and_used_labels_show_a_message(panel, session):
    project = session.project
    assert panel.add_label("car") is None  # duplicate
    assert "already exists" in panel.message.text()
    label = project.labels.by_name("bike")
    image_id = project.images.ordered_ids()[0]
    project.annotations.add(
        Annotation(image_id=image_id, label_id=label.id, geometry=Box(1, 1, 5, 5))
    )
    assert not panel.delete_label(label.id)
    assert "used by 1 annotation" in panel.message.text()
    assert "bike" in names(project)


def test_number_keys_pick_a_label_and_relabel_the_selection(qtbot, panel, session):
    window = QMainWindow()
    qtbot.addWidget(window)
    reg = ActionRegistry(window)
    panel.register_actions(reg)
    picked = []
    panel.labelActivated.connect(picked.append)
    activate(qtbot, window)
    labels = panel.labels()
    QTest.keyClick(window, Qt.Key.Key_2)
    assert panel.active_label_id() == labels[1].id
    assert picked[-1] == labels[1].id
    QTest.keyClick(window, Qt.Key.Key_9)  # no ninth label: nothing happens
    assert panel.active_label_id() == labels[1].id

    project = session.project
    image_id = project.images.ordered_ids()[0]
    ann = project.annotations.add(
        Annotation(image_id=image_id, label_id=labels[0].id, geometry=Box(1, 1, 5, 5))
    )
    doc = session.open_document(image_id)
    doc.select([ann.id])
    QTest.keyClick(window, Qt.Key.Key_3)
    assert project.annotations.get(ann.id).label_id == labels[2].id
    doc.undo()
    assert project.annotations.get(ann.id).label_id == labels[0].id


def test_follows_label_changes_made_elsewhere(panel, session, qtbot):
    session.project.labels.ensure("tree", "#00aa00")
    qtbot.waitUntil(lambda: panel.tree.topLevelItemCount() == 4, timeout=2000)
    assert panel.tree.topLevelItem(3).text(0) == "tree"
