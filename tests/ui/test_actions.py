"""The action registry, menus built from it, and the Help > Keyboard shortcuts window."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMainWindow

from lightable.ui.actions import ActionRegistry, build_menus, shortcut_text
from lightable.ui.shortcuts_dialog import ShortcutsDialog
from tests.ui.conftest import activate


@pytest.fixture
def window(qtbot):
    w = QMainWindow()
    qtbot.addWidget(w)
    w.resize(400, 300)
    return w


def test_shortcut_triggers_callback_in_the_window(qtbot, window):
    reg = ActionRegistry(window)
    calls = []
    reg.add("image.next", "Next image", lambda: calls.append("next"), shortcut="D", group="Image")
    activate(qtbot, window)
    QTest.keyClick(window, Qt.Key.Key_D)
    assert calls == ["next"]
    assert reg.action("image.next").shortcut() == QKeySequence("D")
    assert "(D)" in reg.action("image.next").toolTip()


def test_ids_are_unique_and_lookups_fail_loudly():
    reg = ActionRegistry()
    reg.add("file.open", "Open")
    with pytest.raises(KeyError, match="already registered"):
        reg.add("file.open", "Open again")
    with pytest.raises(KeyError, match="no action"):
        reg.action("file.nope")
    assert reg.get("file.nope") is None


def test_groups_keep_registration_order_and_conflicts_are_found():
    reg = ActionRegistry()
    reg.add("a.one", "One", shortcut="Ctrl+1", group="A")
    reg.add("b.two", "Two", shortcut=["Ctrl+2", "F2"], group="B")
    reg.add("a.three", "Three", shortcut="Ctrl+1", group="A")
    groups = reg.groups()
    assert list(groups) == ["A", "B"]
    assert [a.objectName() for a in groups["A"]] == ["a.one", "a.three"]
    assert shortcut_text(reg.action("b.two")) == "Ctrl+2, F2"
    assert reg.conflicts() == {"Ctrl+1": ["a.one", "a.three"]}


def test_checkable_action_passes_its_state():
    reg = ActionRegistry()
    seen = []
    act = reg.add("view.x", "X", lambda on: seen.append(on), checkable=True)
    act.trigger()
    act.trigger()
    assert seen == [True, False]
    no_arg = []
    reg.add("view.y", "Y", lambda: no_arg.append(1), checkable=True).trigger()
    assert no_arg == [1]


def test_menus_place_actions_by_prefix(qtbot, window):
    reg = ActionRegistry(window)
    reg.add("file.open_project", "Open")
    reg.add("file.quit", "Quit")
    reg.add("tool.rect", "Rectangle", group="Tools")
    reg.add("canvas.odd", "Odd one", group="Canvas extras")
    reg.add("image.next", "Next")
    menus = build_menus(window.menuBar(), reg)
    texts = lambda m: [a.text() for a in m.actions() if not a.isSeparator()]  # noqa: E731
    assert texts(menus["File"]) == ["Open", "Quit"]
    assert texts(menus["Image"]) == ["Next"]
    tools = menus["Tools"]
    assert "Rectangle" in texts(tools)
    extras = [a.menu() for a in tools.actions() if a.menu() is not None]
    assert extras and texts(extras[0]) == ["Odd one"]
    assert not menus["Edit"].menuAction().isVisible()  # empty menus are hidden


def test_shortcuts_dialog_lists_every_action_and_searches(qtbot):
    reg = ActionRegistry()
    reg.add("file.open", "&Open project…", shortcut="Ctrl+O", group="File")
    reg.add("image.next", "Next image", shortcut="D", group="Image")
    reg.add("image.done", "Mark done", shortcut="Ctrl+Return", group="Image")
    reg.add("help.about", "About", group="Help")
    dlg = ShortcutsDialog(reg)
    qtbot.addWidget(dlg)
    dlg.show()
    assert sorted(dlg.visible_action_ids()) == sorted(reg.ids())
    assert dlg.count.text() == "4 actions"
    QTest.keyClicks(dlg.search, "mark")
    assert dlg.visible_action_ids() == ["image.done"]
    dlg.search.clear()
    QTest.keyClicks(dlg.search, "ctrl+o")
    assert dlg.visible_action_ids() == ["file.open"]
    dlg.search.clear()
    QTest.keyClicks(dlg.search, "image")  # a group name shows the whole group
    assert dlg.visible_action_ids() == ["image.next", "image.done"]
    # The shortcut column shows the key; the name has no mnemonic ampersand.
    item = dlg.tree.topLevelItem(0).child(0)
    assert item.text(0) == "Open project…"
    assert item.text(1) == QKeySequence("Ctrl+O").toString(QKeySequence.SequenceFormat.NativeText)


def test_every_icon_renders_at_toolbar_sizes(qtbot):
    from PySide6.QtCore import QSize

    from lightable.ui import icons

    names = icons.icon_names()
    for tool in ("move", "rect", "polygon", "brush", "eraser", "wand", "lasso", "keypoints",
                 "hand", "zoom"):  # fmt: skip
        assert tool in names
    for name in names:
        pm = icons.icon(name).pixmap(QSize(24, 24))
        assert not pm.isNull(), name
        img = pm.toImage()
        assert any(img.pixelColor(x, y).alpha() > 0 for x in range(24) for y in range(24)), name
    assert icons.icon("no-such-icon").isNull()
