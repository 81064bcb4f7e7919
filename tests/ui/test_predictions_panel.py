"""The predictions panel and the label-mapping dialog, driven with real widgets."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox

from lightable.core.geometry import Box
from lightable.core.model import Source
from tests.ui.test_canvas_support import SHOTS, Env, make_env
from tests.ui.test_proposals import PREDS, add_run


@pytest.fixture
def env(project, tmp_path, qtbot) -> Env:
    return make_env(project, tmp_path, qtbot)


def make_panel(env: Env):
    from lightable.ui.panels.predictions import PredictionsPanel

    panel = PredictionsPanel(env.canvas)
    env.qtbot.addWidget(panel)
    panel.set_project(env.project)
    return panel


def test_run_picker_lists_runs_newest_first_and_follows_new_runs(env: Env, qtbot) -> None:
    first = add_run(env, PREDS[:1])
    panel = make_panel(env)
    assert [panel.runs.itemData(i) for i in range(panel.runs.count())] == [None, first]
    assert env.canvas.proposals.run_id is None
    second = add_run(env, PREDS)  # a run made while the panel is open (a job)
    qtbot.waitUntil(lambda: panel.runs.count() == 3, timeout=2000)
    assert [panel.runs.itemData(i) for i in range(3)] == [None, second, first]
    panel.runs.setCurrentIndex(1)
    assert env.canvas.proposals.run_id == second
    assert "3 proposals shown" in panel.counts.text()


def test_threshold_slider_changes_what_is_shown(env: Env) -> None:
    run = add_run(env, PREDS)
    panel = make_panel(env)
    panel.set_run(run)
    panel.show()
    env.qtbot.waitExposed(panel)
    panel.slider.setFocus()
    panel.slider.setValue(50)
    assert [p.score for p in env.canvas.proposals.visible()] == [0.92, 0.71, 0.55]
    # Real key presses on the slider: PageUp moves it by its page step (10 = 0.10).
    QTest.keyClick(panel.slider, Qt.Key.Key_PageUp)
    QTest.keyClick(panel.slider, Qt.Key.Key_PageUp)
    assert panel.slider.value() == 70
    assert panel.threshold_label.text() == "0.70"
    assert [p.score for p in env.canvas.proposals.visible()] == [0.92, 0.71]
    assert "2 proposals shown" in panel.counts.text() and "2 below" in panel.counts.text()
    QTest.keyClick(panel.slider, Qt.Key.Key_Home)
    assert len(env.canvas.proposals.visible()) == 4


def test_accept_all_and_reject_buttons(env: Env) -> None:
    run = add_run(env, PREDS)
    panel = make_panel(env)
    panel.set_run(run)
    assert not panel.reject_button.isEnabled()
    env.click(330, 270)  # select the person proposal on the canvas
    assert panel.reject_button.isEnabled()
    QTest.mouseClick(panel.reject_button, Qt.MouseButton.LeftButton)
    assert [p.score for p in env.canvas.proposals.visible()] == [0.92, 0.55]
    QTest.mouseClick(panel.accept_all, Qt.MouseButton.LeftButton)
    stored = env.stored()
    assert len(stored) == 2 and all(a.source == Source.PREDICTION for a in stored)
    assert "0 proposals shown" in panel.counts.text()
    assert not panel.accept_all.isEnabled()


def test_prelabel_form_emits_the_request(env: Env, qtbot) -> None:
    panel = make_panel(env)
    QTest.mouseClick(panel.prelabel, Qt.MouseButton.LeftButton)
    dlg = panel.prelabel_dialog
    assert dlg is not None and dlg.isVisible()
    assert dlg.model.count() > 5  # torchvision's models by name
    i = dlg.model.findData("fasterrcnn_resnet50_fpn_v2")
    assert i >= 0
    dlg.model.setCurrentIndex(i)
    dlg.device.setCurrentText("cpu")
    dlg.batch_size.setValue(8)
    ok = dlg.buttons.button(QDialogButtonBox.StandardButton.Ok)
    with qtbot.waitSignal(panel.prelabelRequested, timeout=2000) as blocker:
        QTest.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert blocker.args[0] == {
        "model": "fasterrcnn_resnet50_fpn_v2",
        "weights": None,
        "device": "cpu",
        "batch_size": 8,
        "threshold": 0.5,
    }


def test_prelabel_form_takes_a_typed_model_file(env: Env, qtbot, tmp_path) -> None:
    panel = make_panel(env)
    dlg = panel.open_prelabel()
    dlg.model.setEditText(str(tmp_path / "mine.pt2"))
    with qtbot.waitSignal(panel.prelabelRequested, timeout=2000) as blocker:
        dlg.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert blocker.args[0]["model"] == str(tmp_path / "mine.pt2")


def test_importing_the_panel_and_registry_does_not_import_torch() -> None:
    code = (
        "import sys, lightable.ml.registry, lightable.ui.panels.predictions, "
        "lightable.ui.dialogs.label_mapping; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_label_mapping_dialog_saves(env: Env, qtbot) -> None:
    from lightable.core.model import Prediction
    from lightable.ml.mapping import load_mapping
    from lightable.store.predictions import PredictionRepo, ScoreRow

    repo = PredictionRepo(env.project)
    classes = ["Car", "person", "bicycle"]
    run = repo.create_run(
        "m", "fake", "detection", None, {"classes": classes, "spec": {"model": "fake_model"}}, "cpu"
    )
    image_id = env.image_ids[0]
    repo.write_batch(run, [(Prediction(run, image_id, Box(5, 5, 9, 9), 0.9, class_name="Car"), None)],
                     [ScoreRow(image_id)])  # fmt: skip
    panel = make_panel(env)
    panel.set_run(run)
    QTest.mouseClick(panel.mapping, Qt.MouseButton.LeftButton)
    dlg = panel.mapping_dialog
    assert dlg is not None and dlg.isVisible()
    # Matched by name first: Car -> car, person -> person, bicycle -> nothing.
    assert [dlg.label_combo(r).currentText() for r in range(3)] == ["car", "person", "(no label)"]
    dlg.label_combo(2).setCurrentIndex(dlg.label_combo(2).findText("tree"))
    dlg.ignore_box(1).setFocus()
    QTest.keyClick(dlg.ignore_box(1), Qt.Key.Key_Space)
    assert dlg.ignore_box(1).isChecked()
    dlg.threshold_spin(0).setValue(0.8)
    QTest.mouseClick(
        dlg.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton
    )
    m = load_mapping(env.project, "fake_model", classes)
    assert m.rules["Car"].label_id == env.labels["car"] and m.rules["Car"].threshold == 0.8
    assert m.rules["person"].ignore
    assert m.rules["bicycle"].label_id == env.labels["tree"] and not m.rules["bicycle"].ignore


def test_screenshot_canvas_with_proposals_and_panel(env: Env, qtbot, dark_theme) -> None:
    from PySide6.QtGui import QImage, QPainter

    run = add_run(env, PREDS)
    panel = make_panel(env)
    panel.set_run(run)
    panel.resize(300, env.canvas.height())
    panel.show()
    qtbot.waitExposed(panel)
    env.click(160, 140)  # a selected proposal, drawn highlighted
    assert env.canvas.proposals.selected is not None
    env.canvas.repaint()
    a, b = env.canvas.grab().toImage(), panel.grab().toImage()
    out = QImage(a.width() + b.width(), max(a.height(), b.height()), QImage.Format.Format_RGB32)
    out.fill(0x202124)
    p = QPainter(out)
    p.drawImage(0, 0, a)
    p.drawImage(a.width(), 0, b)
    p.end()
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert out.save(str(SHOTS / "proposals.png"))
