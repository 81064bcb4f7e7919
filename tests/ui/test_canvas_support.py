"""Helpers for the canvas tests (no tests here): a project with images, labels and a
real EditSession, a shown CanvasWidget with the real action registry, and
mouse/key helpers that go through QTest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from lightable.core.model import Image, Label, Skeleton

SHOTS = Path("/tmp/shots")


@dataclass
class Env:
    project: Any
    session: Any
    canvas: Any
    registry: Any
    image_ids: list[int]
    labels: dict[str, int]
    qtbot: Any

    @property
    def doc(self) -> Any:
        return self.canvas.document()

    def stored(self, image_id: int | None = None) -> list[Any]:
        return self.project.annotations.for_image(image_id or self.image_ids[0])

    def vp(self, x: float, y: float) -> QPoint:
        """Widget point of image point (x, y)."""
        p = self.canvas.image_to_view(QPointF(x, y))
        return QPoint(round(p.x()), round(p.y()))

    def press(
        self,
        x: float,
        y: float,
        mod: Any = Qt.KeyboardModifier.NoModifier,
        button: Any = Qt.MouseButton.LeftButton,
    ) -> None:
        QTest.mousePress(self.canvas, button, mod, self.vp(x, y))

    def move(self, x: float, y: float, mod: Any = Qt.KeyboardModifier.NoModifier) -> None:
        QTest.mouseMove(self.canvas, self.vp(x, y))

    def release(
        self,
        x: float,
        y: float,
        mod: Any = Qt.KeyboardModifier.NoModifier,
        button: Any = Qt.MouseButton.LeftButton,
    ) -> None:
        QTest.mouseRelease(self.canvas, button, mod, self.vp(x, y))

    def click(self, x: float, y: float, mod: Any = Qt.KeyboardModifier.NoModifier) -> None:
        QTest.mouseClick(self.canvas, Qt.MouseButton.LeftButton, mod, self.vp(x, y))

    def drag(
        self,
        path: list[tuple[float, float]],
        mod: Any = Qt.KeyboardModifier.NoModifier,
        button: Any = Qt.MouseButton.LeftButton,
    ) -> None:
        self.press(*path[0], mod=mod, button=button)
        for x, y in path[1:]:
            self.move(x, y, mod)
        self.release(*path[-1], mod=mod, button=button)

    def key(self, key: Any, mod: Any = Qt.KeyboardModifier.NoModifier) -> None:
        QTest.keyClick(self.canvas, key, mod)

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"canvas_{name}.png"
        self.canvas.repaint()
        self.canvas.grab().save(str(path))
        return path


def gradient(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth photo-like RGB image (so screenshots show the image under the shapes)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 60 + 120 * (x / width) + 20 * np.sin(y / 23.0 + seed)
    g = 70 + 90 * (y / height) + 20 * np.cos(x / 31.0)
    b = 90 + 60 * np.sin((x + y) / 57.0 + seed)
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)


def make_env(project: Any, tmp_path: Path, qtbot: Any, size: tuple[int, int] = (640, 480), n_images: int = 2,
             widget: tuple[int, int] = (800, 600)) -> Env:  # fmt: skip
    from lightable.store.edits import EditSession
    from lightable.ui.actions import ActionRegistry
    from lightable.ui.canvas import CanvasWidget

    folder = tmp_path / "images"
    folder.mkdir(exist_ok=True)
    root = project.add_root(folder)
    w, h = size
    for i in range(n_images):
        PILImage.fromarray(gradient(w, h, i)).save(folder / f"img{i}.png")
    project.images.insert_many([Image(f"img{i}.png", root, w, h) for i in range(n_images)])
    ids = [project.images.by_path(root, f"img{i}.png").id for i in range(n_images)]
    labels = {
        "car": project.labels.add(Label("car", "#e15759", position=0)).id,
        "person": project.labels.add(
            Label(
                "person",
                "#59a14f",
                position=1,
                skeleton=Skeleton(
                    ["head", "left_hand", "right_hand", "feet"], [(0, 1), (0, 2), (0, 3)]
                ),
            )
        ).id,
        "tree": project.labels.add(Label("tree", "#edc948", position=2)).id,
    }
    session = EditSession(project)
    canvas = CanvasWidget()
    qtbot.addWidget(canvas)
    canvas.resize(*widget)
    registry = ActionRegistry(canvas)
    canvas.set_project(project, session)
    canvas.register_actions(registry)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.show_image(ids[0])
    qtbot.waitUntil(lambda: not canvas.is_loading(), timeout=5000)
    canvas.setFocus()
    return Env(project, session, canvas, registry, ids, labels, qtbot)
