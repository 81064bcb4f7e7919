"""Fixtures for window tests: isolated settings, small generated image sets.

Importing ``lightable.ui`` first applies its PySide6/Python 3.11 ``None`` fix
before any widget is made (see ``lightable/ui/__init__.py``).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import lightable.ui  # noqa: F401  (the None fix, before any Qt call)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory):
    """Every test gets its own QSettings folder and test-mode standard paths."""
    from PySide6.QtCore import QSettings, QStandardPaths

    folder = tmp_path_factory.mktemp("settings")
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
