# ruff: noqa: F811  (the imported fixtures are parameters below)
"""The window's wiring of the dashboard, inbox, import/export, tool options and score queues."""

from __future__ import annotations

from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox
from sqlalchemy import insert

from lightable.core.geometry import Box
from lightable.core.model import Annotation, ImageStatus
from lightable.store import schema
from lightable.store.escalations import EscalationRepo
from lightable.store.images import ImageQuery, SortKey
from lightable.store.predictions import PredictionRepo
from tests.conftest import FIXTURES
from tests.ui.conftest import loop_until, run_loop, settle
from tests.ui.test_dashboard_inbox import _click_bar
from tests.ui.test_main_window import errors, make_window  # noqa: F401  (fixtures)

COCO = FIXTURES / "coco_instances" / "datumaro-coco_instances"


@pytest.fixture
def labeled(indexed_project):
    """Three images with a cat, one with a dog."""
    p = indexed_project
    ids = p.images.ordered_ids(ImageQuery())
    cat, dog = p.labels.ensure("cat"), p.labels.ensure("dog")
    anns = [
        Annotation(image_id=ids[i], label_id=cat.id, geometry=Box(2, 3, 10, 12)) for i in (1, 5, 9)
    ]
    anns.append(Annotation(image_id=ids[7], label_id=dog.id, geometry=Box(0, 0, 20, 20)))
    p.annotations.insert_many(anns)
    return p, ids, cat, dog


def open_image(w, image_id: int) -> None:
    w.navigator.open(image_id)
    loop_until(lambda: (d := w.canvas.document()) is not None and d.image_id == image_id)


def test_dashboard_bar_filters_the_browser_to_its_images(make_window, labeled, qtbot):
    p, ids, cat, _dog = labeled
    w = make_window(p)
    w.docks["dashboard"].show()
    w.docks["dashboard"].raise_()
    w.dashboard.refresh()
    chart = w.dashboard.images_chart
    qtbot.waitUntil(lambda: chart.isVisible() and bool(chart.bars()), timeout=3000)
    chart.resize(300, 160)
    index = [b.label for b in chart.bars()].index("cat")
    _click_bar(qtbot, chart, index)
    assert w.browser.query().label_id == cat.id
    settle(qtbot, w.browser)
    assert sorted(w.browser.ids()) == sorted(ids[i] for i in (1, 5, 9))
    assert w.browser.label.currentText() == "cat"  # the filter shows in its control
    # Changing another control keeps the label filter (it is the control's now).
    w.browser.status.setCurrentIndex(w.browser.status.findData(ImageStatus.NEW))
    settle(qtbot, w.browser)
    assert w.browser.query().label_id == cat.id and len(w.browser.ids()) == 3


def test_query_parts_without_a_control_show_as_a_removable_chip(
    make_window, indexed_project, qtbot
):
    w = make_window(indexed_project)
    some = tuple(w.browser.ids()[:4])
    w.show_images(ImageQuery(image_ids=some))
    settle(qtbot, w.browser)
    assert sorted(w.browser.ids()) == sorted(some)
    assert w.browser.chip.isVisible() and "4 chosen images" in w.browser.chip.text()
    QTest.keyClicks(w.browser.search, "img_00")  # another filter on top keeps the chip's
    QTest.keyClick(w.browser.search, Qt.Key.Key_Return)
    settle(qtbot, w.browser)
    assert w.browser.query().image_ids == some
    QTest.mouseClick(w.browser.chip, Qt.MouseButton.LeftButton)
    settle(qtbot, w.browser)
    assert not w.browser.chip.isVisible()
    assert w.browser.query().image_ids is None and len(w.browser.ids()) == 10  # img_000..009


def test_flag_selected_object_reaches_the_store_inbox_and_guidance(make_window, labeled, qtbot):
    p, ids, cat, _dog = labeled
    w = make_window(p)
    open_image(w, ids[5])
    doc = w.canvas.document()
    (ann,) = doc.annotations()
    doc.select([ann.id])
    w.canvas.setFocus()
    QTest.keyClick(
        w, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    dialog = w.flag_dialog
    assert dialog.isVisible()
    assert dialog.label.currentData() == cat.id  # the selected object's label
    QTest.keyClicks(dialog.question, "Is this a cat or a lynx?")
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    QTest.mouseClick(ok, Qt.MouseButton.LeftButton)
    (row,) = EscalationRepo(p).list()
    assert row["image_id"] == ids[5] and row["annotation_id"] == ann.id
    assert row["question"] == "Is this a cat or a lynx?" and row["label_id"] == cat.id
    assert tuple(row["region"]) == (2, 3, 10, 12)
    assert row["created_by"] == w.inbox.user().id

    # The inbox lists it; "Open image" brings the image back from elsewhere.
    open_image(w, ids[0])
    assert w.inbox.list.topLevelItemCount() == 1
    w.inbox.list.topLevelItem(0).setSelected(True)
    QTest.mouseClick(w.inbox.open_button, Qt.MouseButton.LeftButton)
    loop_until(lambda: w.canvas.image_id() == ids[5])

    # A resolved answer is guidance above the canvas on any image with a cat.
    assert w.guidance.isHidden()
    EscalationRepo(p).resolve(row["id"], answer="A lynx has ear tufts; this is a cat.")
    open_image(w, ids[1])
    assert w.guidance.isVisible() and "ear tufts" in w.guidance.text()
    open_image(w, ids[7])  # only a dog here
    assert w.guidance.isHidden()


def test_flag_without_an_image_says_so(make_window, indexed_project, qtbot):
    w = make_window(indexed_project)
    w.navigator.canvas.show_image(None)
    assert w.flag_for_lead() is None
    assert "Open an image" in w.statusBar().currentMessage()


def test_tool_options_bar_follows_the_tool_and_keeps_widgets(make_window, indexed_project, qtbot):
    w = make_window(indexed_project)
    with_options, seen = [], {}
    for id in [i for i in w.registry.ids() if i.startswith("tool.")]:
        name = id.split(".", 1)[1]
        if name not in w.canvas.tools():
            continue
        w.canvas.set_tool(name)
        widget = w.canvas.tool_options_widget()
        assert w.options_bar.isVisible() == (widget is not None), name
        if widget is not None:
            with_options.append(name)
            seen[name] = widget
            bar = w.options_bar
            qtbot.waitUntil(lambda x=widget, b=bar: x.isVisibleTo(b), timeout=2000)
            assert widget.parent() is bar
            visible = [x for x in seen.values() if shiboken6.isValid(x) and x.isVisibleTo(bar)]
            assert visible == [widget]  # the previous tool's options are hidden
    assert with_options, "some tool should have options"
    assert all(shiboken6.isValid(x) for x in seen.values())  # hidden, never deleted
    w.canvas.set_tool(with_options[0])
    qtbot.waitUntil(lambda: seen[with_options[0]].isVisibleTo(w.options_bar), timeout=2000)


def test_canvas_messages_reach_the_status_bar(make_window, indexed_project):
    w = make_window(indexed_project)
    w.canvas.message.emit("Select a label first")
    assert w.statusBar().currentMessage() == "Select a label first"


@pytest.fixture
def scored(indexed_project):
    p = indexed_project
    ids = p.images.ordered_ids(ImageQuery())
    runs = PredictionRepo(p)
    run = runs.create_run("detector v1", "yolo", "detect", None, {}, None)
    # Uncertainty rises towards the end of the name order; mistakenness the other way.
    rows = [{"run_id": run, "image_id": i, "uncertainty": k / 100, "mistakenness": 1 - k / 100,
             "details": {}} for k, i in enumerate(ids[:20])]  # fmt: skip
    with p.engine.begin() as conn:
        conn.execute(insert(schema.image_scores), rows)
    return p, ids, run


def test_sort_by_score_shows_the_run_picker_and_orders_the_queue(make_window, scored, qtbot):
    p, ids, run = scored
    w = make_window(p)
    b = w.browser
    assert not b.run.isVisible()
    b.sort.setFocus()
    b.sort.setCurrentIndex(b.sort.findData(SortKey.UNCERTAINTY))
    settle(qtbot, b)
    assert b.run.isVisible() and b.run.currentData() == run
    assert b.query().score_run == run
    assert b.ids()[:3] == [ids[19], ids[18], ids[17]]  # most uncertain first
    b.sort.setCurrentIndex(b.sort.findData(SortKey.MISTAKENNESS))
    settle(qtbot, b)
    assert b.ids()[:2] == [ids[0], ids[1]]
    b.sort.setCurrentIndex(b.sort.findData(SortKey.NAME))
    settle(qtbot, b)
    total = len(b.ids())
    assert not b.run.isVisible() and b.query().score_run is None
    # Only images nobody labeled: label one and it drops out.
    p.annotations.insert_many([Annotation(image_id=ids[3], label_id=p.labels.ensure("x").id,
                                          geometry=Box(0, 0, 4, 4))])  # fmt: skip
    QTest.mouseClick(b.unlabeled, Qt.MouseButton.LeftButton)
    settle(qtbot, b)
    assert b.query().unlabeled is True and ids[3] not in b.ids() and len(b.ids()) == total - 1


def test_next_in_queue_walks_the_score_order(make_window, scored, qtbot):
    p, ids, _run = scored
    w = make_window(p)
    open_image(w, ids[0])
    w.canvas.setFocus()
    keys = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    QTest.keyClick(w, Qt.Key.Key_D, keys)  # not sorted by a score: sorts, opens the top
    settle(qtbot, w.browser)
    loop_until(lambda: w.canvas.image_id() == ids[19])
    assert w.browser.query().sort == SortKey.UNCERTAINTY
    assert w.browser.current_id() == ids[19]
    QTest.keyClick(w, Qt.Key.Key_D, keys)
    loop_until(lambda: w.canvas.image_id() == ids[18])
    p.images.set_status([ids[17]], ImageStatus.DONE)  # done images leave the queue
    QTest.keyClick(w, Qt.Key.Key_D, keys)
    # The next unfinished one below ids[17] (the truncated file is broken: skipped too).
    images = p.images.get_many(ids[:17])
    expected = next(i for i in reversed(ids[:17]) if images[i].status == ImageStatus.NEW)
    assert ids[16] != expected or images[ids[16]].status == ImageStatus.NEW
    loop_until(lambda: w.canvas.image_id() == expected)


def test_import_and_export_through_the_dialogs(make_window, project, qtbot, tmp_path):
    w = make_window(project)
    w.registry.trigger("file.import")
    d = w.import_dialog
    assert d.isVisible()
    assert d.format.findData("coco") > 0 and d.format.currentData() == "auto"
    d.path.setText(str(COCO))
    QTest.mouseClick(d.preview_button, Qt.MouseButton.LeftButton)
    text = d.preview.toPlainText()
    assert "would import coco" in text and "annotations  3" in text
    assert project.images.count(ImageQuery()) == 0  # a dry run writes nothing
    QTest.mouseClick(d.run_button, Qt.MouseButton.LeftButton)
    loop_until(lambda: d.job is not None and not d.job.is_active(), timeout_ms=15000)
    assert project.images.count(ImageQuery()) == 2
    assert project.annotations.count() == 3
    assert len(project.labels.all()) == 3
    assert "imported coco" in d.preview.toPlainText()
    loop_until(lambda: len(w.browser.ids()) == 2)

    w.registry.trigger("file.export")
    e = w.export_dialog
    e.format.setCurrentIndex(e.format.findData("yolo"))
    QTest.mouseClick(e.preview_button, Qt.MouseButton.LeftButton)
    assert "Export as" in e.preview.toPlainText()
    e.format.setCurrentIndex(e.format.findData("coco"))
    out = tmp_path / "export"
    e.out.setText(str(out))
    QTest.mouseClick(e.run_button, Qt.MouseButton.LeftButton)
    loop_until(lambda: e.job is not None and not e.job.is_active(), timeout_ms=15000)
    files = list(out.rglob("*.json"))
    assert files, e.preview.toPlainText()
    assert "Exported to" in e.preview.toPlainText()


def test_import_of_a_bad_path_is_reported_in_the_dialog(make_window, project, tmp_path):
    w = make_window(project)
    w.ask_import()
    d = w.import_dialog
    d.path.setText(str(tmp_path / "nope.json"))
    QTest.mouseClick(d.preview_button, Qt.MouseButton.LeftButton)
    assert d.preview.toPlainText().startswith("Cannot preview:")
    assert project.images.count(ImageQuery()) == 0


def test_screenshot_on_the_demo_project(dark_theme, make_window, qtbot, tmp_path):
    from lightable.jobs.demo import build_demo

    project = build_demo(tmp_path / "demo")
    w = make_window(project, resize=False)
    w.resize(1600, 1000)
    w.docks["dashboard"].raise_()
    w.docks["inbox"].raise_()
    settle(qtbot, w.browser)
    loop_until(lambda: w.canvas.image_id() is not None)
    w.inbox.status.setCurrentIndex(w.inbox.status.findData(None))  # every escalation
    w.inbox.list.topLevelItem(0).setSelected(True)
    QTest.mouseClick(w.inbox.open_button, Qt.MouseButton.LeftButton)
    w.canvas.set_tool("brush")  # a tool with options, to show that bar
    run_loop(1200)  # thumbnails and the image's pixels
    assert w.dashboard.labels_chart.bars() and w.inbox.list.topLevelItemCount() >= 0
    out = Path("/tmp/shots")
    out.mkdir(parents=True, exist_ok=True)
    assert w.grab().save(str(out / "final_main_window.png"))


def test_prelabel_request_from_the_predictions_panel_runs_as_a_job(
    make_window, indexed_project, qtbot, tmp_path
):
    """The panel's Pre-label request runs the real job on the browser's images, and the
    new run shows its proposals in the canvas."""
    import json

    import torch
    from torch import Tensor

    class Det(torch.nn.Module):
        def forward(self, images: list[Tensor]) -> list[dict[str, Tensor]]:
            return [
                {
                    "boxes": torch.tensor([[2.0, 2.0, 20.0, 20.0]]),
                    "scores": torch.tensor([0.9]),
                    "labels": torch.tensor([0]),
                }
                for _ in images
            ]

    model = tmp_path / "det.pt"
    torch.jit.script(Det()).save(str(model))
    model.with_suffix(".json").write_text(
        json.dumps(
            {
                "task": "detection",
                "classes": ["cat"],
                "input": {"mean": [0, 0, 0], "std": [1, 1, 1], "size": None},
            }
        )
    )
    p = indexed_project
    p.labels.ensure("cat")
    w = make_window(p)
    settle(qtbot, w.browser)
    n = len(w.browser.ids())
    params = {
        "model": str(model),
        "weights": None,
        "device": "cpu",
        "batch_size": 4,
        "threshold": 0.5,
    }
    w.predictions_panel.prelabelRequested.emit(params)
    repo = PredictionRepo(p)
    loop_until(lambda: any(r.status == "done" for r in repo.runs()), timeout_ms=60000)
    run = repo.runs()[0]
    assert run.images_done == n  # every image of the view was processed
    assert repo.count() == n - 1  # one box per readable image; the truncated file fails
