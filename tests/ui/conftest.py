"""Fixtures for window tests: isolated settings, small generated image sets.

Importing ``lightable.ui`` first applies its PySide6/Python 3.11 fix (pinned
``None``/``True``/``False``) before any widget is made (see ``lightable/ui/__init__.py``).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import lightable.ui  # noqa: F401  (the singleton fix, before any Qt call)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own QSettings folder, demo folder and test-mode standard paths."""
    from PySide6.QtCore import QSettings, QStandardPaths

    folder = tmp_path_factory.mktemp("settings")
    monkeypatch.setenv("LIGHTABLE_DEMO_DIR", str(folder / "demo"))
    QStandardPaths.setTestModeEnabled(True)
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    yield folder


def make_jpeg(path: Path, size: tuple[int, int] = (96, 72), seed: int = 0) -> None:
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", size, tuple(rng.randrange(40, 200) for _ in range(3)))
    d = ImageDraw.Draw(im)
    for _ in range(3):
        x0, y0 = rng.randrange(size[0] // 2), rng.randrange(size[1] // 2)
        d.rectangle(
            (x0, y0, x0 + rng.randrange(8, size[0] // 2), y0 + rng.randrange(8, size[1] // 2)),
            fill=tuple(rng.randrange(256) for _ in range(3)),
        )
    im.save(path, quality=80)


def make_image_tree(
    root: Path, n: int = 50, folders: tuple[str, ...] = ("cats", "dogs", "birds/small")
) -> list[Path]:
    """``n`` small JPEGs spread over ``folders`` under ``root``, plus one truncated JPEG."""
    paths = []
    for i in range(n):
        p = root / folders[i % len(folders)] / f"img_{i:03d}.jpg"
        make_jpeg(p, seed=i)
        paths.append(p)
    good = paths[0].read_bytes()
    broken = root / "broken" / "truncated.jpg"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_bytes(good[: len(good) // 3])
    return paths


@pytest.fixture
def image_tree(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    make_image_tree(root)
    return root


@pytest.fixture
def indexed_project(project, image_tree: Path):
    """The ``project`` fixture with ``image_tree`` indexed (50 images + 1 truncated)."""
    from lightable.jobs.indexing import index_folders

    index_folders(project, [image_tree])
    return project


def activate(qtbot, widget) -> None:
    """Show ``widget`` and wait until it is the active window (shortcuts need that)."""
    from PySide6.QtWidgets import QApplication

    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget, timeout=3000)


def settle(qtbot, browser) -> None:
    """Wait until the browser has installed the ids of its latest query (read on a thread)."""
    qtbot.waitUntil(lambda: not browser.model.loading, timeout=5000)


def run_loop(ms: int) -> None:
    """Run the Qt event loop for ``ms`` milliseconds, letting worker threads run.

    ``qtbot.wait``/``waitUntil`` use ``QTest.qWait``, which in PySide6 6.12 keeps
    the GIL: Python worker threads (thumbnails, queries, jobs) barely move while
    a test waits with it. ``QEventLoop.exec`` releases the GIL like the app does.
    """
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def loop_until(condition, timeout_ms: int = 5000, step_ms: int = 10) -> None:
    """``run_loop`` in small steps until ``condition()`` holds; AssertionError on timeout."""
    import time

    end = time.monotonic() + timeout_ms / 1000
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {timeout_ms} ms")
        run_loop(step_ms)


@pytest.fixture
def dark_theme(qapp):
    """The app's dark theme for a screenshot; the previous look is restored afterwards."""
    from PySide6.QtGui import QPalette

    from lightable.ui import icons, theme

    style, palette, sheet = qapp.style().name(), QPalette(qapp.palette()), qapp.styleSheet()
    theme.apply_theme(qapp, "dark")
    icons.clear_cache()
    yield
    qapp.setStyleSheet(sheet)
    qapp.setStyle(style)
    qapp.setPalette(palette)
    icons.clear_cache()
