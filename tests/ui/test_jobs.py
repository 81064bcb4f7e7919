"""Jobs off the UI thread: progress through queued signals, cancel, errors, the Jobs panel."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import Qt, QThread
from PySide6.QtTest import QTest

from lightable.core.errors import BadInputError
from lightable.jobs.base import JobState
from lightable.ui.jobs import ChangeRelay, JobRunner, JobStatus
from lightable.ui.panels.jobs import JobsPanel, JobStatusWidget, describe, format_duration


def counting_job(n: int, delay: float, state: JobState, gate: threading.Event | None = None) -> int:
    state.set_total(n)
    for _ in range(n):
        if gate is not None:
            gate.wait(5)
        state.check()
        time.sleep(delay)
        state.advance()
    return n


def failing_job(state: JobState) -> None:
    state.set_total(3)
    state.advance()
    raise BadInputError("/data/x.json", "not JSON", "line 3")


def crashing_job(state: JobState) -> None:
    raise RuntimeError("boom")


@pytest.fixture
def runner(qtbot):
    r = JobRunner()
    yield r
    r.shutdown(5000)


def test_result_and_progress_arrive_on_the_ui_thread(qtbot, runner):
    job = runner.start("count", counting_job, 20, 0.01)
    threads = []
    job.progressed.connect(lambda _p: threads.append(QThread.currentThread()))
    with qtbot.waitSignal(job.succeeded, timeout=5000) as sig:
        pass
    assert sig.args == [20]
    assert job.status == JobStatus.DONE
    assert job.progress.done == 20 and job.progress.total == 20
    assert threads and all(t is QThread.currentThread() for t in threads)
    # Coalesced: far fewer deliveries than advance() calls would make.
    assert len(threads) < 20


def test_cancel_stops_the_job(qtbot, runner):
    gate = threading.Event()
    job = runner.start("slow", counting_job, 1000, 0.001, gate=gate)
    qtbot.waitUntil(lambda: job.status == JobStatus.RUNNING, timeout=3000)
    job.cancel()
    gate.set()
    with qtbot.waitSignal(job.ended, timeout=5000):
        pass
    assert job.status == JobStatus.CANCELLED
    assert job.progress.done < 1000


def test_known_error_is_a_clear_message(qtbot, runner):
    job = runner.start("bad file", failing_job)
    with qtbot.waitSignal(job.failed, timeout=5000) as sig:
        pass
    assert "x.json" in sig.args[0] and "not JSON" in sig.args[0]
    assert job.details is None  # an expected error needs no traceback
    assert describe(job).startswith("Failed: ")


def test_unexpected_error_keeps_the_traceback(qtbot, runner):
    job = runner.start("crash", crashing_job)
    with qtbot.waitSignal(job.failed, timeout=5000) as sig:
        pass
    assert sig.args == ["RuntimeError: boom"]
    assert "Traceback" in job.details


def test_jobs_panel_shows_progress_and_cancel_button_works(qtbot, runner):
    panel = JobsPanel(runner)
    qtbot.addWidget(panel)
    panel.resize(500, 300)
    panel.show()
    assert panel.empty.isVisible()
    gate = threading.Event()
    job = runner.start("Indexing photos", counting_job, 500, 0.002, gate=gate)
    row = panel.row(job)
    assert row.title.text() == "Indexing photos"
    assert not panel.empty.isVisible()
    gate.set()
    qtbot.waitUntil(lambda: job.progress.done > 20, timeout=5000)
    qtbot.waitUntil(lambda: row.bar.value() > 0, timeout=3000)
    assert " / 500" in row.detail.text() and "/s" in row.detail.text()
    assert row.cancel_button.isVisible()
    QTest.mouseClick(row.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: job.status == JobStatus.CANCELLED, timeout=5000)
    qtbot.waitUntil(lambda: not row.cancel_button.isVisible(), timeout=2000)
    assert row.detail.text().startswith("Cancelled after")
    QTest.mouseClick(panel.clear_button, Qt.MouseButton.LeftButton)
    assert not panel.rows and panel.empty.isVisible()


def test_failed_job_row_shows_error(qtbot, runner):
    panel = JobsPanel(runner)
    qtbot.addWidget(panel)
    job = runner.start("Import", failing_job)
    qtbot.waitUntil(lambda: job.status == JobStatus.FAILED, timeout=5000)
    row = panel.row(job)
    assert "not JSON" in row.detail.text()
    assert row.detail.objectName() == "error"


def test_status_bar_widget_follows_the_running_job(qtbot, runner):
    from PySide6.QtWidgets import QWidget

    bar = QWidget()  # stands for the status bar
    qtbot.addWidget(bar)
    w = JobStatusWidget(runner, bar)
    bar.show()
    assert w.job is None and not w.isVisible()
    gate = threading.Event()
    job = runner.start("Thumbnails", counting_job, 300, 0.002, gate=gate)
    assert w.isVisible() and w.label.text() == "Thumbnails"
    gate.set()
    qtbot.waitUntil(lambda: "%" in w.eta.text(), timeout=5000)
    QTest.mouseClick(w.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: job.status == JobStatus.CANCELLED, timeout=5000)
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=2000)


def test_change_relay_delivers_worker_notifications_on_ui_thread(qtbot, project):
    from lightable.store.project import Change

    relay = ChangeRelay(project)
    got = []
    relay.changed.connect(lambda c: got.append((c.kind, QThread.currentThread())))
    t = threading.Thread(target=lambda: project.notify(Change("images.added")))
    t.start()
    t.join()
    qtbot.waitUntil(lambda: bool(got), timeout=2000)
    assert got == [("images.added", QThread.currentThread())]
    relay.close()


def test_format_duration():
    assert format_duration(None) == "—"
    assert format_duration(5.4) == "5s"
    assert format_duration(75) == "1:15"
    assert format_duration(3725) == "1:02:05"


def test_screenshot_of_jobs_panel(qtbot, runner, dark_theme):
    from pathlib import Path

    from tests.ui.conftest import loop_until

    panel = JobsPanel(runner)
    qtbot.addWidget(panel)
    panel.resize(520, 260)
    panel.show()
    done = runner.start("Building thumbnails", counting_job, 40, 0.001)
    bad = runner.start("Import annotations.json", failing_job)
    gate = threading.Event()
    running = runner.start("Adding /data/street", counting_job, 5000, 0.002, gate=gate)
    gate.set()
    loop_until(lambda: not done.is_active() and not bad.is_active() and running.progress.done > 100)
    loop_until(lambda: panel.row(running).bar.value() > 0)
    out = Path("/tmp/shots")
    out.mkdir(exist_ok=True)
    assert panel.grab().save(str(out / "jobs_panel.png"))
    running.cancel()
    loop_until(lambda: not running.is_active())
