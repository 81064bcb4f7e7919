"""Canvas speed: a 6000 x 4000 image with 10,000 polygons of 20 vertices, and a
20,000 x 20,000 image. Run with `make bench` (or pytest -m bench tests/bench/bench_canvas.py -s).

Paints are forced with widget.repaint() on the offscreen raster platform and
timed around the call; percentiles over many frames are printed.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from lightable.core.geometry import Polygon
from lightable.core.model import Annotation, Image, Label

pytestmark = pytest.mark.bench

W, H = 6000, 4000
N_SHAPES = 10_000
VERTS = 20


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs) * 1000.0, q))


def _report(name: str, xs: list[float]) -> None:
    print(
        f"  {name:<38} p50 {_pct(xs, 50):7.2f} ms   p95 {_pct(xs, 95):7.2f} ms   max {_pct(xs, 100):7.2f} ms   (n={len(xs)})"
    )


def _polygons(rng: np.random.Generator, n: int) -> list[Polygon]:
    cx = rng.uniform(60, W - 60, n)
    cy = rng.uniform(60, H - 60, n)
    r = rng.uniform(12, 55, n)
    ang = np.linspace(0, 2 * np.pi, VERTS, endpoint=False)
    out = []
    for i in range(n):
        rr = r[i] * rng.uniform(0.7, 1.0, VERTS)
        xs = cx[i] + rr * np.cos(ang)
        ys = cy[i] + rr * np.sin(ang)
        out.append(Polygon((tuple(np.round(np.column_stack([xs, ys]).ravel(), 2).tolist()),)))
    return out


@pytest.fixture(scope="module")
def big_project(tmp_path_factory: pytest.TempPathFactory):
    from lightable.store.project import Project

    tmp = tmp_path_factory.mktemp("bench_canvas")
    project = Project.create(tmp / "proj")
    folder = tmp / "images"
    folder.mkdir()
    y, x = np.mgrid[0:H:4, 0:W:4].astype(np.float32)
    small = np.stack([60 + 120 * x / W, 70 + 90 * y / H, 90 + 60 * np.sin((x + y) / 300.0)], -1)
    img = PILImage.fromarray(np.clip(small, 0, 255).astype(np.uint8)).resize((W, H))
    img.save(folder / "big.jpg", quality=90)
    root = project.add_root(folder)
    project.images.insert_many([Image("big.jpg", root, W, H)])
    image_id = project.images.by_path(root, "big.jpg").id
    labels = [
        project.labels.add(Label(f"class{i}", c)).id
        for i, c in enumerate(["#e15759", "#4e79a7", "#59a14f", "#edc948", "#b07aa1"])
    ]
    rng = np.random.default_rng(0)
    polys = _polygons(rng, N_SHAPES)
    anns = [Annotation(image_id, labels[i % len(labels)], p, z=i) for i, p in enumerate(polys)]
    t = time.perf_counter()
    project.annotations.insert_many(anns)
    print(f"\n  inserted {N_SHAPES} polygons in {time.perf_counter() - t:.2f} s")
    yield project, image_id, anns
    project.close()


def _canvas(qtbot, project):
    from lightable.store.edits import EditSession
    from lightable.ui.canvas import CanvasWidget

    canvas = CanvasWidget()
    qtbot.addWidget(canvas)
    canvas.resize(1600, 1000)
    canvas.set_project(project, EditSession(project))
    canvas.show()
    qtbot.waitExposed(canvas)
    return canvas


def test_bench_canvas_10k_polygons(big_project, qtbot) -> None:
    project, image_id, anns = big_project
    canvas = _canvas(qtbot, project)
    print(
        f"\n== canvas: {W}x{H} image, {N_SHAPES} polygons x {VERTS} vertices, widget 1600x1000 =="
    )

    # Where the load time goes: the edit model's document (store rows -> Annotation objects)
    # and the canvas's own arrays (ShapeModel.load).
    from lightable.store.edits import EditSession
    from lightable.ui.canvas.shapes import ShapeModel

    t = time.perf_counter()
    doc = EditSession(project).open_document(image_id)
    t_open = time.perf_counter() - t
    t = time.perf_counter()
    ShapeModel().load(doc.annotations())
    print(
        f"  EditSession.open_document: {t_open * 1000:.0f} ms;  canvas ShapeModel.load: {(time.perf_counter() - t) * 1000:.0f} ms"
    )
    # Load: document (10k rows) + overlay arrays + decode, until the first full paint.
    t0 = time.perf_counter()
    canvas.show_image(image_id)
    t_doc = time.perf_counter() - t0
    qtbot.waitUntil(lambda: not canvas.is_loading(), timeout=20000)
    canvas.repaint()
    while not _complete(canvas):
        canvas.repaint()
    t_all = time.perf_counter() - t0
    print(
        f"  load image + shapes (document {t_doc * 1000:.0f} ms) until first full paint: {t_all * 1000:.0f} ms"
    )

    Path("/tmp/shots").mkdir(exist_ok=True)
    canvas.grab().save("/tmp/shots/canvas_bench_10k_fit.png")
    # Static repaints at fit.
    times = _repaints(canvas, 60)
    _report("repaint at fit (cached)", times)

    # Cold repaint after a zoom change at fit scale (all tiles re-rendered).
    cold = []
    for k in range(6):
        canvas.set_zoom(canvas.zoom() * (1.01 if k % 2 == 0 else 1 / 1.01))
        t = time.perf_counter()
        canvas.repaint()
        while not _complete(canvas):
            canvas.repaint()
        cold.append(time.perf_counter() - t)
    _report("full re-render after zoom (fit)", cold)

    # 400 %: repaint static and while panning.
    canvas.set_zoom(4.0, QPointF(800, 500))
    canvas.repaint()
    while not _complete(canvas):
        canvas.repaint()
    _report("repaint at 400% (cached)", _repaints(canvas, 60))
    canvas.grab().save("/tmp/shots/canvas_bench_10k_400.png")
    pan = []
    for k in range(60):
        canvas.pan_by(7 if (k // 20) % 2 == 0 else -7, 3)
        t = time.perf_counter()
        canvas.repaint()
        pan.append(time.perf_counter() - t)
    _report("pan step at 400% (repaint)", pan)

    # Back to fit: click-select.
    canvas.zoom_fit()
    canvas.repaint()
    while not _complete(canvas):
        canvas.repaint()
    canvas.set_tool("select")
    rng = np.random.default_rng(1)
    picks = rng.choice(len(anns), 40, replace=False)
    clicks = []
    hits = 0
    doc = canvas.document()
    for i in picks:
        a = anns[int(i)]
        x, y, w, h = a.geometry.bbox()
        p = canvas.image_to_view(QPointF(x + w / 2, y + h / 2))
        t = time.perf_counter()
        QTest.mouseClick(
            canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p.toPoint()
        )
        canvas.repaint()
        clicks.append(time.perf_counter() - t)
        hits += bool(doc.selected())
    _report("click-select + repaint (fit)", clicks)
    print(f"  ({hits}/{len(picks)} clicks selected something)")

    # Vertex drag at 400 %: one move event + repaint per step.
    a = anns[int(picks[0])]
    doc.select([a.id])
    vx, vy = a.geometry.rings[0][0], a.geometry.rings[0][1]
    canvas.set_zoom(4.0)
    canvas.center_on(QPointF(vx, vy))
    canvas.repaint()
    while not _complete(canvas):
        canvas.repaint()
    start = canvas.image_to_view(QPointF(vx, vy)).toPoint()
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    steps = []
    for k in range(1, 61):
        pt = start + QPointF(k * 0.8, math.sin(k / 5.0) * 6).toPoint()
        t = time.perf_counter()
        QTest.mouseMove(canvas, pt)
        canvas.repaint()
        steps.append(time.perf_counter() - t)
    t = time.perf_counter()
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pt)
    canvas.repaint()
    commit = time.perf_counter() - t
    _report("vertex drag step at 400%", steps)
    print(f"  vertex drag commit (one DB transaction + repaint): {commit * 1000:.1f} ms")
    assert len(doc.history) >= 1

    # Same at fit (tiles there hold ~700 shapes each).
    canvas.zoom_fit()
    canvas.repaint()
    while not _complete(canvas):
        canvas.repaint()
    start = canvas.image_to_view(QPointF(vx, vy)).toPoint()
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    steps = []
    for k in range(1, 31):
        pt = start + QPointF(k * 0.5, 0).toPoint()
        t = time.perf_counter()
        QTest.mouseMove(canvas, pt)
        canvas.repaint()
        steps.append(time.perf_counter() - t)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pt)
    _report("vertex drag step at fit", steps)

    # Undo of that step.
    t = time.perf_counter()
    doc.undo()
    canvas.repaint()
    print(f"  undo + repaint: {(time.perf_counter() - t) * 1000:.1f} ms")


def _complete(canvas) -> bool:
    return canvas.last_paint_complete


def _repaints(canvas, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        canvas.repaint()
        out.append(time.perf_counter() - t)
    return out


def test_bench_canvas_huge_image(tmp_path, qtbot) -> None:
    import psutil

    from lightable.store.edits import EditSession
    from lightable.store.project import Project

    side = int(os.environ.get("LIGHTABLE_BENCH_HUGE", "20000"))
    folder = tmp_path / "images"
    folder.mkdir()
    path = folder / "huge.jpg"
    t = time.perf_counter()
    _write_huge_jpeg(path, side)
    print(
        f"\n== huge image {side}x{side} JPEG ({path.stat().st_size / 1e6:.0f} MB, written in {time.perf_counter() - t:.1f} s) =="
    )
    project = Project.create(tmp_path / "proj")
    root = project.add_root(folder)
    project.images.insert_many([Image("huge.jpg", root, side, side)])
    image_id = project.images.by_path(root, "huge.jpg").id
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    from lightable.ui.canvas import CanvasWidget

    canvas = CanvasWidget()
    qtbot.addWidget(canvas)
    canvas.resize(1600, 1000)
    canvas.set_project(project, EditSession(project))
    canvas.show()
    qtbot.waitExposed(canvas)
    peak = [rss0]

    def sample() -> None:
        peak[0] = max(peak[0], proc.memory_info().rss)

    t0 = time.perf_counter()
    canvas.show_image(image_id)
    qtbot.waitUntil(
        lambda: canvas.image_source() is not None or canvas.error() is not None, timeout=60000
    )
    canvas.repaint()
    first = time.perf_counter() - t0
    sample()
    print(f"  first view: {first:.2f} s   (error: {canvas.error()})")
    # Pan around at 100 % while the full-resolution pyramid is built in the background,
    # then across the image once its tiles exist (tiles are read as they come into view).
    canvas.zoom_100()
    src = canvas.image_source()
    building = []
    deadline = time.perf_counter() + 120
    k = 0
    while time.perf_counter() < deadline and not getattr(src, "full_ready", True):
        canvas.center_on(
            QPointF(side / 2 + 3000 * math.cos(k / 40), side / 2 + 3000 * math.sin(k / 40))
        )
        t = time.perf_counter()
        canvas.repaint()
        building.append(time.perf_counter() - t)
        qtbot.wait(10)
        sample()
        k += 1
    t_full = time.perf_counter() - t0
    if building:
        _report("pan step at 100% while building", building)
    pans = []
    for k in range(600):
        canvas.center_on(
            QPointF(side / 2 + 8000 * math.cos(k / 60), side / 2 + 8000 * math.sin(k / 60))
        )
        t = time.perf_counter()
        canvas.repaint()
        pans.append(time.perf_counter() - t)
        qtbot.wait(3)
        sample()
    _report("pan step at 100% (repaint)", pans)
    print(f"  full resolution ready after {t_full:.1f} s: {getattr(src, 'full_ready', None)}")
    canvas.grab().save("/tmp/shots/canvas_bench_huge_100.png")
    print(
        f"  RSS: before {rss0 / 2**20:.0f} MB, peak {peak[0] / 2**20:.0f} MB, now {proc.memory_info().rss / 2**20:.0f} MB"
    )
    project.close()


_HUGE_SCRIPT = """
import sys, numpy as np
from PIL import Image
Image.MAX_IMAGE_PIXELS = None
side = int(sys.argv[2])
y, x = np.mgrid[0:side // 16, 0:side // 16].astype(np.float32)
small = np.stack([128 + 90 * np.sin(x / 17.0), 128 + 90 * np.cos(y / 23.0), 128 + 70 * np.sin((x + y) / 41.0)], -1)
im = np.asarray(Image.fromarray(np.clip(small, 0, 255).astype(np.uint8)).resize((side, side), Image.Resampling.BILINEAR)).copy()
noise = np.random.default_rng(0).integers(0, 24, (1024, 1024, 3), dtype=np.uint8)
for y0 in range(0, side, 1024):
    for x0 in range(0, side, 1024):
        blk = im[y0:y0 + 1024, x0:x0 + 1024]
        blk += noise[: blk.shape[0], : blk.shape[1]]
Image.fromarray(im).save(sys.argv[1], quality=88)
"""


def _write_huge_jpeg(path: Path, side: int) -> None:
    """A photo-like side x side JPEG, made in a child process (keeps this process's RSS honest)."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", _HUGE_SCRIPT, str(path), str(side)], check=True)
