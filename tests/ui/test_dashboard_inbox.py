from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from lightable.core.geometry import Box
from lightable.core.model import Annotation, Image, Role
from lightable.store.escalations import EscalationRepo
from lightable.store.images import ImageQuery
from lightable.store.users import UserRepo
from lightable.ui.dashboard import DashboardPanel
from lightable.ui.inbox import GuidanceBar, InboxPanel


def _seed(project):
    root = project.add_root(project.folder / "imgs")
    project.images.insert_many([Image(path=f"im{i}.jpg", root_id=root) for i in range(5)])
    ids = project.images.ordered_ids()
    cat, dog = project.labels.ensure("cat"), project.labels.ensure("dog")
    anns = [
        Annotation(image_id=ids[i], label_id=cat.id, geometry=Box(0, 0, 5, 5)) for i in range(3)
    ]
    anns.append(Annotation(image_id=ids[4], label_id=dog.id, geometry=Box(0, 0, 50, 50)))
    project.annotations.insert_many(anns)
    return ids, cat, dog


def _click_bar(qtbot, chart, index: int) -> None:
    n = len(chart.bars())
    vb = chart.getPlotItem().vb
    bar = chart.bars()[index]
    scene_pt = vb.mapViewToScene(QPointF(bar.value / 2, n - 1 - index))
    view_pt = chart.mapFromScene(scene_pt)
    QTest.mouseClick(
        chart.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(int(view_pt.x()), int(view_pt.y()))
    )


def test_dashboard_bars_click_through_to_images(qtbot, project) -> None:
    ids, _cat, dog = _seed(project)
    panel = DashboardPanel()
    qtbot.addWidget(panel)
    panel.resize(500, 900)
    panel.set_project(project)
    panel.show()
    qtbot.waitExposed(panel)
    bars = panel.labels_chart.bars()
    assert [(b.label, b.value) for b in bars] == [("cat", 3), ("dog", 1)]
    with qtbot.waitSignal(panel.imagesRequested, timeout=2000) as sig:
        _click_bar(qtbot, panel.labels_chart, 1)
    q = sig.args[0]
    assert isinstance(q, ImageQuery) and q.label_id == dog.id
    assert project.images.ordered_ids(q) == [ids[4]]


def test_inbox_reply_resolve_and_guidance(qtbot, project) -> None:
    ids, cat, _ = _seed(project)
    users = UserRepo(project)
    ann = users.ensure("ann")
    users.ensure("boss", Role.LEAD)
    repo = EscalationRepo(project)
    eid = repo.create(ids[0], "Is a kitten a cat?", created_by=ann.id, label_id=cat.id)
    panel = InboxPanel()
    qtbot.addWidget(panel)
    panel.resize(600, 600)
    panel.set_project(project, user_name="boss")
    panel.show()
    qtbot.waitExposed(panel)
    item = panel.list.topLevelItem(0)
    rect = panel.list.visualItemRect(item)
    QTest.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.selected_id() == eid
    panel.reply_edit.setFocus()
    QTest.keyClicks(panel.reply_edit, "Yes, kittens are cats.")
    QTest.mouseClick(panel.reply_button, Qt.MouseButton.LeftButton)
    assert repo.list()[0]["status"] == "answered"
    with qtbot.waitSignal(panel.imageRequested, timeout=1000) as sig:
        QTest.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
    assert sig.args == [ids[0]]
    QTest.mouseClick(panel.resolve_button, Qt.MouseButton.LeftButton)
    assert repo.list()[0]["status"] == "resolved"
    bar = GuidanceBar()
    qtbot.addWidget(bar)
    bar.show_for(project, ids[3], [cat.id])
    assert not bar.isHidden() and "kittens are cats" in bar.text()


def test_dashboard_of_an_empty_project_hides_empty_charts(qtbot, project) -> None:
    panel = DashboardPanel()
    qtbot.addWidget(panel)
    panel.set_project(project)
    panel.show()
    assert panel.labels_chart.isHidden() and panel.labels_chart.bars() == []
    _seed(project)
    panel.refresh()
    assert not panel.labels_chart.isHidden()
