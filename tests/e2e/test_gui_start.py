"""Starting the real app in a subprocess: ``lightable PROJECT`` paints thumbnails and quits.

``LIGHTABLE_EXIT_AFTER_FIRST_THUMBNAILS`` makes the app print when the browser
first paints tiles with thumbnails, then quit; the settings live in a
temporary XDG config folder, so the second start ("no argument: the last
project") is tested too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def make_project(folder: Path, n: int = 24) -> Path:
    from PIL import Image

    from lightable.jobs.indexing import index_folders
    from lightable.jobs.thumbnails import build_thumbnails
    from lightable.store.project import Project

    images = folder / "images"
    images.mkdir(parents=True)
    for i in range(n):
        Image.new("RGB", (160, 120), (i * 10 % 255, 80, 160)).save(images / f"im_{i:02d}.jpg")
    project = Project.create(folder / "proj")
    index_folders(project, [images])
    build_thumbnails(project)
    project.close()
    return folder / "proj"


def start(
    args: list[str], home: Path, flag: str = "LIGHTABLE_EXIT_AFTER_FIRST_THUMBNAILS"
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        {flag: "1"},
        QT_QPA_PLATFORM="offscreen",
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        HOME=str(home),
    )
    return subprocess.run(
        [sys.executable, "-m", "lightable", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def first_paint(out: str) -> dict[str, str]:
    line = next((ln for ln in out.splitlines() if ln.startswith("FIRST_THUMBNAILS ")), None)
    assert line is not None, out
    return dict(part.split("=", 1) for part in line.split()[2:])


def test_app_opens_a_project_and_paints_thumbnails(tmp_path):
    proj = make_project(tmp_path)
    res = start([str(proj)], tmp_path)
    assert res.returncode == 0, res.stderr
    info = first_paint(res.stdout)
    assert int(info["tiles"]) >= 1
    assert info["torch"] == "0"  # start-up never imports torch

    # No argument: the last project opens again.
    again = start([], tmp_path)
    assert again.returncode == 0, again.stderr
    assert int(first_paint(again.stdout)["tiles"]) >= 1

    # The canvas and the editing panels are built right after the first paint.
    ready = start([str(proj)], tmp_path, flag="LIGHTABLE_EXIT_WHEN_READY")
    assert ready.returncode == 0, ready.stderr
    assert any(ln.startswith("READY ") for ln in ready.stdout.splitlines()), ready.stdout


def test_a_missing_project_is_reported_not_crashed(tmp_path):
    env = dict(os.environ)
    env.update(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "c"), HOME=str(tmp_path))
    code = (
        "import sys; from lightable.ui import app\n"
        "from PySide6.QtCore import QTimer\n"
        "from PySide6.QtWidgets import QApplication, QMessageBox\n"
        "QMessageBox.warning = staticmethod(lambda *a, **k: print('WARNING', a[2]))\n"
        "qa = QApplication(sys.argv[:1])\n"
        "QTimer.singleShot(500, qa.quit)\n"
        f"sys.exit(app.run_app({str(tmp_path / 'nope')!r}))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    assert "WARNING" in res.stdout and "not a Lightable project" in res.stdout
