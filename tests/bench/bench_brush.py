"""Raster tool speed on a 6000 x 4000 image: brush segments, the wand, committing a stroke.

Run with ``make bench`` or ``pytest -m bench tests/bench/bench_brush.py -s``.
Target (issue 3): under 8 ms per brush stroke segment. Numbers are printed, not asserted.

- segment: one mouse move during a stroke, through the real Qt event path
  (QTest.mouseMove -> canvas -> BrushTool.move): stamping the capsule into the
  mask, saving undo blocks, recolouring the overlay tiles of the dirty rectangle.
- frame: a forced repaint of the canvas during the stroke (the live mask drawn).
- commit: releasing the mouse: the changed rectangle, one PaintMask, the store's
  re-encode and transaction.
- wand: flood fill of a large and a small region, and a whole wand click
  (fill + command + store).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from lightable.core.commands import AddAnnotation, PaintMask
from lightable.core.model import Annotation, Image, Label
from lightable.imaging import maskops, masks
from lightable.store.edits import EditSession

pytestmark = pytest.mark.bench

W, H = 6000, 4000
LEFT = Qt.MouseButton.LeftButton
NO = Qt.KeyboardModifier.NoModifier


def _ms(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs) * 1000.0, q))


def _report(name: str, xs: list[float]) -> None:
    print(
        f"  {name:<44} p50 {_ms(xs, 50):7.2f} ms   p95 {_ms(xs, 95):7.2f} ms"
        f"   max {_ms(xs, 100):7.2f} ms   (n={len(xs)})"
    )


def _scene() -> np.ndarray:
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[:, : W // 2] = (200, 40, 40)
    rgb[:, W // 2 :] = (40, 60, 190)
    rgb[1000:1400, 4000:4600] = (60, 190, 70)
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 6, (H, W // 8, 3), dtype=np.uint8)
    rgb[:, : W // 8] += noise  # a textured strip
    return rgb


@pytest.fixture
def big(project, qtbot):
    from lightable.ui.canvas.widget import CanvasWidget

    root = project.add_root(project.folder)
    project.images.insert_many([Image(path="big.png", root_id=root, width=W, height=H)])
    image_id = project.images.ordered_ids()[0]
    label = project.labels.add(Label(name="thing", color="#59a14f")).id
    session = EditSession(project)
    doc = session.open_document(image_id)
    # An existing large object: strokes extend it (the realistic, expensive case).
    m = np.zeros((H, W), np.uint8, order="F")
    m[500:3500, 800:5200] = 1
    ev = doc.do(AddAnnotation(Annotation(image_id, label, masks.encode(m))))
    ann_id = next(iter(ev.added))
    canvas = CanvasWidget()
    qtbot.addWidget(canvas)
    canvas.resize(1600, 1000)
    canvas.show_document(doc, _scene())
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.set_active_label(label)
    return canvas, doc, ann_id


def _stroke_times(
    canvas, n: int, size: float, start: QPointF, step: QPointF
) -> tuple[list[float], float]:
    """Time each mouse move of one stroke; returns (segment times, release time)."""
    tool = canvas.tool()
    tool.set_size(size)

    def vp(p: QPointF):
        return canvas.image_to_view(p).toPoint()

    QTest.mousePress(canvas, LEFT, NO, vp(start))
    times = []
    p = QPointF(start)
    for k in range(n):
        p = QPointF(start.x() + step.x() * k, start.y() + step.y() * (k % 40))
        t = time.perf_counter()
        QTest.mouseMove(canvas, vp(p))
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    QTest.mouseRelease(canvas, LEFT, NO, vp(p))
    return times, time.perf_counter() - t


def test_bench_brush_segments_and_commit(big) -> None:
    canvas, doc, ann_id = big
    doc.select([ann_id])
    canvas.set_tool("brush")
    print(
        f"\nBrush on a {W} x {H} mask (existing object of 3000 x 4400 px), canvas zoom {canvas.zoom():.3f}"
    )
    # Warm-up stroke: loads the mask into the live array once (cached for the next strokes).
    t = time.perf_counter()
    _stroke_times(canvas, 3, 40, QPointF(1000, 3800), QPointF(4, 0))
    print(
        f"  first stroke on the object (loads the live mask)   {1000 * (time.perf_counter() - t):7.1f} ms"
    )

    for size, n in ((40, 400), (200, 200)):
        segs, commit = _stroke_times(canvas, n, size, QPointF(600, 300), QPointF(12, 9))
        _report(f"segment, {size} px brush (mouse move)", segs)
        print(f"  commit of that stroke (release, PaintMask, store)  {1000 * commit:7.1f} ms")

    # Frames during a stroke: forced repaints with the live mask on screen.
    canvas.tool().set_size(60)
    vp = canvas.image_to_view
    QTest.mousePress(canvas, LEFT, NO, vp(QPointF(2000, 2000)).toPoint())
    frames = []
    for k in range(60):
        QTest.mouseMove(canvas, vp(QPointF(2000 + 10 * k, 2000 + 3 * k)).toPoint())
        t = time.perf_counter()
        canvas.repaint()
        frames.append(time.perf_counter() - t)
    QTest.mouseRelease(canvas, LEFT, NO, vp(QPointF(2590, 2177)).toPoint())
    _report("frame during a stroke (repaint, fit zoom)", frames)

    undo = []
    for _ in range(5):
        t = time.perf_counter()
        doc.undo()
        undo.append(time.perf_counter() - t)
    _report("undo of a stroke", undo)
    assert len(doc.history) >= 4


def test_bench_stamp_and_paintmask_apply(big) -> None:
    """The pieces without Qt: one capsule stamp, and PaintMask applied to the store."""
    _canvas, doc, ann_id = big
    m = np.zeros((H, W), np.uint8)
    stamps = []
    for k in range(500):
        t = time.perf_counter()
        maskops.stamp_capsule(m, 100 + 8 * k, 2000, 108 + 8 * k, 2004, 20)
        stamps.append(time.perf_counter() - t)
    print()
    _report("capsule stamp, r = 20 (numpy rows)", stamps)
    applies = []
    for k in range(10):
        before = np.ascontiguousarray(
            doc.mask_array(ann_id)[100:400, 100 + k * 300 : 700 + k * 300]
        )
        after = np.ones_like(before)
        t = time.perf_counter()
        doc.do(PaintMask(ann_id, 100 + k * 300, 100, before, after))
        applies.append(time.perf_counter() - t)
    _report("PaintMask 600 x 300 applied (encode + DB)", applies)


def test_bench_wand(big) -> None:
    canvas, doc, _ann = big
    rgb = canvas.image_array()
    assert rgb is not None
    fills = {"large (half the image)": (2000, 2000), "small (600 x 400)": (4300, 1200)}
    print()
    for name, (x, y) in fills.items():
        ts = []
        for _ in range(5):
            t = time.perf_counter()
            region = maskops.flood_fill(rgb, x, y, 32)
            ts.append(time.perf_counter() - t)
        assert region is not None
        _report(f"flood fill, {name}", ts)
    canvas.set_tool("wand")
    clicks = []
    for k in range(4):
        doc.clear_selection()
        pos = canvas.image_to_view(QPointF(4300 + k, 1200)).toPoint()
        t = time.perf_counter()
        QTest.mouseClick(canvas, LEFT, NO, pos)
        clicks.append(time.perf_counter() - t)
    _report("wand click, small region -> new mask", clicks)
    clicks = []
    for k in range(3):
        doc.clear_selection()
        pos = canvas.image_to_view(QPointF(4000 + 50 * k, 3000)).toPoint()
        t = time.perf_counter()
        QTest.mouseClick(canvas, LEFT, NO, pos)
        clicks.append(time.perf_counter() - t)
    _report("wand click, half the image -> new mask", clicks)
