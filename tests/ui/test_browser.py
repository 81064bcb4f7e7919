"""The data-set browser, driven with real key and mouse events offscreen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from lightable.core.model import ImageStatus
from lightable.store.images import ImageQuery, SortKey
from lightable.ui.browser import BrowserWidget
from tests.ui.conftest import loop_until, settle


@pytest.fixture
def browser(qtbot, indexed_project):
    w = BrowserWidget()
    qtbot.addWidget(w)
    w.resize(460, 640)
    w.set_project(indexed_project)
    w.show()
    qtbot.waitExposed(w)
    settle(qtbot, w)
    qtbot.waitUntil(lambda: w.folder.count() > 1, timeout=5000)  # folder list, from a thread
    yield w
    w.set_project(None)


def paths(browser: BrowserWidget) -> list[str]:
    imgs = browser.project.images.get_many(browser.ids())
    return [imgs[i].path for i in browser.ids()]


def key(widget, k, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(widget, k, modifier)


def test_shows_every_image_in_name_order(browser, qtbot, indexed_project):
    assert browser.model.rowCount() == 51  # 50 good + 1 truncated
    assert paths(browser) == sorted(paths(browser))
    assert browser.count.text() == "51 images"


def test_arrow_keys_move_by_tile_and_by_line(browser, qtbot):
    grid = browser.grid
    grid.setFocus()
    browser.select_row(0)
    cols = grid.columns()
    assert cols >= 2
    key(grid, Qt.Key.Key_Right)
    assert browser.current_row() == 1
    key(grid, Qt.Key.Key_Down)
    assert browser.current_row() == 1 + cols
    key(grid, Qt.Key.Key_Left)
    assert browser.current_row() == cols
    key(grid, Qt.Key.Key_Up)
    assert browser.current_row() == 0
    key(grid, Qt.Key.Key_Up)  # already on the first line: stays
    assert browser.current_row() == 0


def test_home_end_and_page_keys(browser, qtbot):
    grid = browser.grid
    grid.setFocus()
    browser.select_row(0)
    key(grid, Qt.Key.Key_End)
    assert browser.current_row() == 50
    # The last tile is scrolled into view.
    first, last = grid.visible_rows()
    assert first <= 50 <= last
    key(grid, Qt.Key.Key_Home)
    assert browser.current_row() == 0
    assert grid.verticalScrollBar().value() == 0
    page = grid.rows_per_page() * grid.columns()
    key(grid, Qt.Key.Key_PageDown)
    assert browser.current_row() == page
    key(grid, Qt.Key.Key_PageUp)
    assert browser.current_row() == 0


def test_filter_by_text_is_debounced_and_narrows(browser, qtbot):
    QTest.keyClicks(browser.search, "dogs/")
    assert browser.model.rowCount() == 51  # not yet: debounced
    qtbot.waitUntil(lambda: browser.model.rowCount() == 17, timeout=2000)
    assert all(p.startswith("dogs/") for p in paths(browser))
    browser.search.clear()
    qtbot.waitUntil(lambda: browser.model.rowCount() == 51, timeout=2000)


def test_filter_by_folder_includes_subfolders(browser, qtbot):
    texts = [browser.folder.itemText(i).strip() for i in range(browser.folder.count())]
    assert texts[0] == "All folders"
    assert any(t.startswith("birds") for t in texts)
    assert any(t.startswith("small") for t in texts)  # indented child of birds
    browser.folder.setCurrentIndex(browser.folder.findData("birds"))
    settle(qtbot, browser)
    assert browser.model.rowCount() == 16
    assert all(p.startswith("birds/small/") for p in paths(browser))
    browser.folder.setCurrentIndex(browser.folder.findData("broken"))
    settle(qtbot, browser)
    assert paths(browser) == ["broken/truncated.jpg"]


def test_filter_by_status(browser, qtbot, indexed_project):
    ids = browser.ids()
    indexed_project.images.set_status(ids[:3], ImageStatus.DONE)
    browser.status.setCurrentIndex(browser.status.findData(ImageStatus.DONE))
    settle(qtbot, browser)
    assert sorted(browser.ids()) == sorted(ids[:3])
    browser.status.setCurrentIndex(browser.status.findData(ImageStatus.BROKEN))
    settle(qtbot, browser)
    assert paths(browser) == ["broken/truncated.jpg"]
    browser.status.setCurrentIndex(0)
    settle(qtbot, browser)
    assert browser.model.rowCount() == 51


def test_filter_by_label(browser, qtbot, indexed_project):
    from lightable.core.geometry import Box
    from lightable.core.model import Annotation

    cat = indexed_project.labels.ensure("cat", "#f28e2b")
    dog = indexed_project.labels.ensure("dog", "#4e79a7")
    qtbot.waitUntil(lambda: browser.label.count() == 3, timeout=3000)  # follows the taxonomy
    ids = browser.ids()
    for i in ids[:4]:
        indexed_project.annotations.add(
            Annotation(image_id=i, label_id=cat.id, geometry=Box(1, 1, 4, 4))
        )
    indexed_project.annotations.add(
        Annotation(image_id=ids[9], label_id=dog.id, geometry=Box(1, 1, 4, 4))
    )
    browser.label.setCurrentIndex(browser.label.findData(cat.id))
    settle(qtbot, browser)
    assert browser.ids() == ids[:4]
    browser.label.setCurrentIndex(browser.label.findData(dog.id))
    settle(qtbot, browser)
    assert browser.ids() == [ids[9]]


def test_sort_orders(browser, qtbot, indexed_project):
    imgs = indexed_project.images.get_many(browser.ids())
    browser.sort.setCurrentIndex(browser.sort.findData(SortKey.SIZE))
    settle(qtbot, browser)
    sizes = [imgs[i].file_size for i in browser.ids()]
    assert sizes == sorted(sizes)
    QTest.mouseClick(browser.order, Qt.MouseButton.LeftButton)  # descending
    settle(qtbot, browser)
    assert browser.query().descending
    sizes = [imgs[i].file_size for i in browser.ids()]
    assert sizes == sorted(sizes, reverse=True)
    browser.sort.setCurrentIndex(browser.sort.findData(SortKey.FOLDER))
    settle(qtbot, browser)
    folders = [imgs[i].path.rpartition("/")[0] for i in browser.ids()]
    assert folders == sorted(folders, reverse=True)
    browser.sort.setCurrentIndex(browser.sort.findData(SortKey.DATE))
    settle(qtbot, browser)
    dates = [imgs[i].mtime_ns for i in browser.ids()]
    assert dates == sorted(dates, reverse=True)
    indexed_project.images.set_status(browser.ids()[-2:], ImageStatus.REVIEW)
    browser.sort.setCurrentIndex(browser.sort.findData(SortKey.STATUS))
    settle(qtbot, browser)
    QTest.mouseClick(browser.order, Qt.MouseButton.LeftButton)  # back to ascending
    settle(qtbot, browser)
    statuses = [indexed_project.images.get(i).status for i in browser.ids()]
    assert statuses == sorted(statuses, key=str)


def test_set_query_updates_controls(browser, qtbot):
    browser.set_query(ImageQuery(text="cats", sort=SortKey.SIZE, descending=True))
    settle(qtbot, browser)
    assert browser.search.text() == "cats"
    assert browser.sort.currentData() == SortKey.SIZE
    assert browser.order.isChecked()
    assert browser.model.rowCount() == 17


def test_enter_and_double_click_activate(browser, qtbot):
    grid = browser.grid
    grid.setFocus()
    browser.select_row(3)
    with qtbot.waitSignal(browser.imageActivated) as sig:
        key(grid, Qt.Key.Key_Return)
    assert sig.args == [browser.ids()[3]]
    rect = grid.visualRect(browser.model.index(1))
    # A real double-click: the first press selects, the second is the double-click.
    QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert browser.current_row() == 1
    with qtbot.waitSignal(browser.imageActivated) as sig:
        QTest.mouseDClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert sig.args == [browser.ids()[1]]


def test_multi_select_with_shift_and_ctrl(browser, qtbot):
    grid = browser.grid
    vp = grid.viewport()
    center = lambda r: grid.visualRect(browser.model.index(r)).center()  # noqa: E731
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, pos=center(1))
    assert browser.selected_ids() == [browser.ids()[1]]
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, center(4))
    assert browser.selected_ids() == browser.ids()[1:5]  # a range in reading order
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, center(6))
    assert sorted(browser.selected_ids()) == sorted([*browser.ids()[1:5], browser.ids()[6]])
    assert "5 selected" in browser.count.text()
    # Shift+End from the keyboard extends to the last image.
    browser.select_row(2)
    key(grid, Qt.Key.Key_End, Qt.KeyboardModifier.ShiftModifier)
    assert browser.selected_ids() == browser.ids()[2:]


def test_thumbnails_load_for_visible_tiles(browser, qtbot):
    loader = browser.loader
    first, last = browser.grid.visible_rows()
    visible = browser.model.images(first, last)
    loop_until(lambda: all(loader.has(im) for im in visible))
    good = [im for im in visible if im.status != ImageStatus.BROKEN]
    assert good and all(loader.tile(im) is not None for im in good)
    assert loader.memory_bytes() > 0


def test_broken_image_shows_error_tile_with_reason(browser, qtbot):
    browser.folder.setCurrentIndex(browser.folder.findData("broken"))
    settle(qtbot, browser)
    assert browser.model.rowCount() == 1
    im = browser.model.image_at(0)
    assert im.status == ImageStatus.BROKEN and im.error
    tip = browser.model.data(browser.model.index(0), Qt.ItemDataRole.ToolTipRole)
    assert "truncated.jpg" in tip and im.error in tip
    # The tile is drawn with the reason; painting it must not raise.
    pm = browser.grid.viewport().grab()
    assert not pm.isNull()
    # Error tiles are drawn in the theme's error colour somewhere in the first cell.
    from lightable.ui import theme

    img = pm.toImage()
    rect = browser.grid.visualRect(browser.model.index(0))
    err = theme.color("error")
    found = any(
        img.pixelColor(x, y).red() > 180 and abs(img.pixelColor(x, y).red() - err.red()) < 40
        for x in range(rect.left(), rect.right(), 2)
        for y in range(rect.top(), rect.bottom(), 2)
    )
    assert found


def test_scrolled_away_requests_are_dropped(qtbot, indexed_project):
    from lightable.ui.browser.thumbs import ThumbnailLoader

    loader = ThumbnailLoader(indexed_project, size=64, workers=1)
    try:
        images = list(
            indexed_project.images.get_many(indexed_project.images.ordered_ids()).values()
        )
        with loader._lock:  # (re-entrant) the worker cannot take anything in between
            loader.want(images[:40])
            loader.want(images[40:42])  # the user scrolled: the first wish list is replaced
        loop_until(lambda: loader.pending() == 0)
        assert all(loader.has(im) for im in images[40:42])
        assert not any(loader.has(im) for im in images[:40])
        assert loader.requests == 2
    finally:
        loader.close()


def test_status_change_repaints_badge_without_requery(browser, qtbot, indexed_project):
    ids = browser.ids()
    reset_count = []
    browser.model.modelReset.connect(lambda: reset_count.append(1))
    indexed_project.images.set_status([ids[0]], ImageStatus.DONE)
    qtbot.waitUntil(lambda: browser.model.image_at(0).status == ImageStatus.DONE, timeout=2000)
    assert not reset_count  # rows refreshed in place, order kept


def test_new_images_appear_after_indexing(browser, qtbot, indexed_project, tmp_path):
    from lightable.jobs.indexing import index_folders
    from tests.ui.conftest import make_jpeg

    folder = tmp_path / "more"
    for i in range(4):
        make_jpeg(folder / f"extra_{i}.jpg", seed=100 + i)

    index_folders(indexed_project, [folder])
    qtbot.waitUntil(lambda: browser.model.rowCount() == 55, timeout=3000)


def test_row_click_sets_current(browser, qtbot):
    grid = browser.grid
    rect = grid.visualRect(browser.model.index(2))
    QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert browser.current_row() == 2
    # A click between tiles far below the last one selects nothing new.
    assert not grid.indexAt(QPoint(5, 100000)).isValid()


def test_only_the_latest_query_is_installed(browser, qtbot):
    browser.set_query(ImageQuery(text="cats"))
    browser.set_query(ImageQuery(text="dogs"))  # typed on before the first one returned
    assert browser.model.loading and browser.count.text() == "Loading…"
    settle(qtbot, browser)
    qtbot.wait(100)  # a late "cats" result must not replace "dogs"
    assert browser.query().text == "dogs"
    assert all(p.startswith("dogs/") for p in paths(browser))
