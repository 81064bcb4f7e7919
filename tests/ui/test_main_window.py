"""The main window: navigation keys, marking done, docks, settings, screenshots."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtTest import QTest

from lightable.core.model import ImageStatus
from lightable.ui.main_window import MainWindow
from lightable.ui.settings import Settings
from tests.ui.conftest import activate, loop_until, make_jpeg, run_loop, settle

SHOTS = Path("/tmp/shots")


@pytest.fixture
def errors():
    return []


@pytest.fixture
def make_window(qtbot, errors, monkeypatch):
    made = []
    monkeypatch.setattr(MainWindow, "show_error", lambda self, t, text: errors.append(text))

    def make(project=None, resize: bool = True) -> MainWindow:
        w = MainWindow(Settings())
        qtbot.addWidget(w)
        if resize:
            w.resize(1280, 800)
        if project is not None:
            w.set_project(project)
        activate(qtbot, w)
        settle(qtbot, w.browser)
        made.append(w)
        return w

    yield make
    for w in made:
        if w.project is not None or w.isVisible():
            w.close()


@pytest.fixture
def window(make_window, indexed_project):
    return make_window(indexed_project)


def shown(w: MainWindow) -> int | None:
    return w.canvas.image_id()


def press(w: MainWindow, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(w, key, modifier)


def test_enter_in_browser_opens_the_image_in_the_canvas(window, qtbot):
    grid = window.browser.grid
    grid.setFocus()
    window.browser.select_row(4)
    QTest.keyClick(grid, Qt.Key.Key_Return)
    assert shown(window) == window.browser.ids()[4]
    assert window.canvas.hasFocus()
    image = window.project.images.get(shown(window))
    assert window.status_image.text() == image.path
    assert window.status_size.text() == f"{image.width} × {image.height}"


def test_next_and_previous_keys_walk_the_filtered_order(window, qtbot):
    b = window.browser
    QTest.keyClicks(b.search, "dogs")
    qtbot.waitUntil(lambda: b.model.rowCount() == 17, timeout=2000)
    order = b.ids()
    window.navigator.open(order[0])
    window.canvas.setFocus()
    for expected in order[1:4]:
        press(window, Qt.Key.Key_D)
        assert shown(window) == expected
        assert b.current_id() == expected  # the browser follows
    press(window, Qt.Key.Key_A)
    assert shown(window) == order[2]
    # At the end of the order, "next" stays and says so.
    window.navigator.open(order[-1])
    press(window, Qt.Key.Key_D)
    assert shown(window) == order[-1]
    assert window.statusBar().currentMessage() == "Last image"


def test_mark_done_reaches_the_store_and_undoes(window, qtbot):
    project = window.project
    first = window.browser.ids()[0]
    window.navigator.open(first)
    window.canvas.setFocus()
    press(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert project.images.get(first).status == ImageStatus.DONE
    qtbot.waitUntil(
        lambda: window.browser.model.image_at(0).status == ImageStatus.DONE, timeout=2000
    )
    qtbot.waitUntil(lambda: window.session.document is not None, timeout=3000)
    press(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert project.images.get(first).status == ImageStatus.NEW


def test_next_unfinished_skips_done_images_and_wraps(window, qtbot):
    project = window.project
    ids = window.browser.ids()
    project.images.set_status(ids[1:4], ImageStatus.DONE)
    window.navigator.open(ids[0])
    window.canvas.setFocus()
    press(window, Qt.Key.Key_D, Qt.KeyboardModifier.ShiftModifier)
    assert shown(window) == ids[4]
    # From the last image, it wraps to the first unfinished one at the top.
    window.navigator.open(ids[-1])
    press(window, Qt.Key.Key_D, Qt.KeyboardModifier.ShiftModifier)
    assert shown(window) == ids[0]


def test_mark_done_on_a_multi_selection(window, qtbot):
    b = window.browser
    vp = b.grid.viewport()
    center = lambda r: b.grid.visualRect(b.model.index(r)).center()  # noqa: E731
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, pos=center(0))
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, center(2))
    window.registry.trigger("image.mark_done")
    statuses = [window.project.images.get(i).status for i in b.ids()[:4]]
    assert statuses == [ImageStatus.DONE] * 3 + [ImageStatus.NEW]
    assert "3 images" in window.statusBar().currentMessage()


def test_no_two_actions_share_a_shortcut(window):
    assert window.registry.conflicts() == {}


def test_shortcuts_window_lists_every_action(dark_theme, window, qtbot):
    press(window, Qt.Key.Key_F1)
    dlg = window.shortcuts_dialog
    qtbot.waitExposed(dlg)
    SHOTS.mkdir(parents=True, exist_ok=True)
    dlg.grab().save(str(SHOTS / "shortcuts.png"))
    assert sorted(dlg.visible_action_ids()) == sorted(window.registry.ids())
    for must in ("image.next", "image.previous", "image.next_unfinished", "image.mark_done",
                 "file.open_project", "edit.undo", "view.zoom_fit", "label.pick_1"):  # fmt: skip
        assert must in dlg.visible_action_ids()
    dlg.close()


def test_settings_are_remembered_across_windows(make_window, indexed_project, qtbot):
    w1 = make_window(indexed_project)
    w1.resize(1000, 590)  # the offscreen screen is 800x600: restoring clamps the width
    w1.docks["jobs"].hide()
    target = str(indexed_project.folder)
    w1.navigator.open(w1.browser.ids()[5])
    w1.close()
    s = Settings()
    assert s.recent_projects()[0] == target
    assert s.last_project() == target

    from lightable.store.project import Project

    w2 = make_window(resize=False)  # as the user left it
    assert w2.height() == 590 and w2.size() != QSize(1280, 800)
    assert not w2.docks["jobs"].isVisible()
    assert w2.docks["browser"].isVisible()
    assert w2.central.currentWidget() is w2.welcome
    assert w2.welcome.recent.item(0).text() == target
    w2.set_project(Project.open(target))
    settle(qtbot, w2.browser)
    # The image that was open last time comes back.
    qtbot.waitUntil(lambda: shown(w2) is not None, timeout=3000)
    assert w2.browser.current_row() == 5


def test_opening_a_non_project_reports_it(make_window, errors, tmp_path):
    w = make_window()
    assert not w.open_project(str(tmp_path / "nothing_here"))
    assert errors and "not a Lightable project" in errors[0]
    assert w.project is None


def test_add_images_folder_runs_as_a_job(window, qtbot, tmp_path):
    folder = tmp_path / "new_batch"
    for i in range(5):
        make_jpeg(folder / f"n_{i}.jpg", seed=200 + i)
    job = window.add_images_folder(folder)
    with qtbot.waitSignal(job.ended, timeout=10000):
        pass
    assert job.status == "done"
    qtbot.waitUntil(lambda: window.browser.model.rowCount() == 56, timeout=3000)
    assert window.jobs_panel.rows  # it is listed in the Jobs dock
    thumbs = [j for j in window.runner.jobs if j.title == "Building thumbnails"]
    assert thumbs
    with qtbot.waitSignal(thumbs[0].ended, timeout=20000):
        pass


def test_screenshot_of_the_main_window(dark_theme, window, qtbot):
    SHOTS.mkdir(parents=True, exist_ok=True)
    b = window.browser
    window.project.images.set_status(b.ids()[:5], ImageStatus.DONE)
    window.project.images.set_status(b.ids()[7:9], ImageStatus.REVIEW)
    for name, color in (("cat", "#f28e2b"), ("dog", "#4e79a7"), ("bird", "#59a14f")):
        window.project.labels.ensure(name, color)
    window.navigator.open(b.ids()[6])
    loader = b.loader
    loop_until(lambda: all(loader.has(im) for im in b.model.images(*b.grid.visible_rows())))
    qtbot.waitUntil(lambda: window.labels_panel.tree.topLevelItemCount() == 3, timeout=2000)
    run_loop(300)
    pm = window.grab()
    assert pm.size() == window.size()
    assert pm.save(str(SHOTS / "main_window.png"))
    # The error tile (broken file) is on screen when the list is filtered to it.
    qtbot.waitUntil(lambda: b.folder.findData("broken") > 0, timeout=3000)
    b.folder.setCurrentIndex(b.folder.findData("broken"))
    settle(qtbot, b)
    qtbot.wait(200)
    b.grab().save(str(SHOTS / "browser_broken.png"))


def test_welcome_page_without_a_project(dark_theme, make_window, qtbot):
    w = make_window()
    assert w.central.currentWidget() is w.welcome
    assert not w.registry.action("image.next").isEnabled()
    SHOTS.mkdir(parents=True, exist_ok=True)
    w.grab().save(str(SHOTS / "welcome.png"))


def test_lazy_editing_builds_the_canvas_after_the_browser(qtbot, indexed_project):
    w = MainWindow(Settings(), lazy_editing=True)
    qtbot.addWidget(w)
    w.set_project(indexed_project)
    activate(qtbot, w)
    settle(qtbot, w.browser)
    assert not w.editing_ready and w.session is None
    assert not w.registry.has("tool.rect")
    # A wish made before the canvas exists is kept...
    target = w.browser.ids()[3]
    w.navigator.open(target)
    assert w.browser.current_id() == target
    w.setup_editing()
    # ...and honoured once it does.
    assert w.editing_ready and w.session is not None
    assert shown(w) == target
    assert w.registry.has("edit.undo") and w.registry.has("tool.rect")
    edit_menu = [a.text() for a in w.menus["Edit"].actions()]
    assert "&Undo" in edit_menu
    assert w.labels_panel.session is w.session
    w.close()


def test_typing_in_the_filter_box_does_not_trigger_single_key_shortcuts(window, qtbot):
    window.project.labels.ensure("cat", "#f28e2b")
    window.project.labels.ensure("dog", "#4e79a7")
    qtbot.waitUntil(lambda: window.labels_panel.tree.topLevelItemCount() == 2, timeout=3000)
    window.labels_panel.pick(1)
    before_label = window.labels_panel.active_label_id()
    window.navigator.open(window.browser.ids()[0])
    before_image = shown(window)
    press(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)  # focus the filter
    assert window.browser.search.hasFocus()
    QTest.keyClicks(window.browser.search, "da2")
    assert window.browser.search.text() == "da2"
    assert shown(window) == before_image  # "d"/"a" did not step
    assert window.labels_panel.active_label_id() == before_label  # "2" did not pick


def test_theme_switch_is_applied_and_remembered(window, qtbot):
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    from lightable.ui import theme

    window.registry.trigger("view.theme_dark")
    dark_window = QApplication.palette().color(QPalette.ColorRole.Window)
    try:
        window.registry.trigger("view.theme_light")
        light_window = QApplication.palette().color(QPalette.ColorRole.Window)
        assert light_window.lightness() > dark_window.lightness() + 100
        assert Settings().theme() == "light"
        assert window.registry.action("view.theme_light").isChecked()
    finally:
        theme.apply_theme(QApplication.instance(), "dark")


def test_thumbnail_size_is_remembered(window, qtbot):
    window.browser.size_slider.setValue(192)
    assert window.browser.grid.delegate.thumb_size == 192
    assert Settings().thumb_size() == 192


class _FakeWindow:
    def __init__(self, ok: bool = True) -> None:
        self.opened: list[str] = []
        self.demo = 0
        self.ok = ok
        self.welcome = type("W", (), {"set_message": lambda self, t: None})()

    def open_project(self, target: str) -> bool:
        self.opened.append(target)
        return self.ok

    def open_demo(self) -> None:
        self.demo += 1


def test_start_up_chooses_argument_then_last_project_then_demo(indexed_project, tmp_path):
    from lightable.ui.app import open_initial_project

    s = Settings()
    w = _FakeWindow()
    open_initial_project(w, s, "/some/project")
    assert w.opened == ["/some/project"] and w.demo == 0

    s.add_recent_project(str(indexed_project.folder))
    w = _FakeWindow()
    open_initial_project(w, s, None)
    assert w.opened == [str(indexed_project.folder)]

    s.remove_recent_project(str(indexed_project.folder))
    s.add_recent_project(str(tmp_path / "gone"))  # a last project that no longer exists
    w = _FakeWindow()
    open_initial_project(w, s, None)
    assert w.opened == [] and w.demo == 1  # no demo yet: it is built (as a job)


def test_demo_project_is_built_as_a_job_and_opened(make_window, monkeypatch, tmp_path):
    import lightable.jobs.demo as demo
    from lightable.jobs.indexing import index_folders
    from lightable.store.project import Project

    def fake_build(folder, n_images=240, state=None, seed=7):  # a small, fast stand-in
        images = tmp_path / "demo_images"
        for i in range(3):
            make_jpeg(images / f"d_{i}.jpg", seed=i)
        project = Project.create(folder, name="Lightable demo")
        index_folders(project, [images])
        return project

    monkeypatch.setattr(demo, "build_demo", fake_build)
    w = make_window()
    w.open_demo()
    assert w.runner.jobs and w.runner.jobs[-1].title == "Building the demo project"
    loop_until(lambda: w.project is not None, 20_000)
    assert w.project.name == "Lightable demo"
    assert Path(w.project.folder) == Settings().demo_folder()
    loop_until(lambda: w.browser.model.rowCount() == 3)
