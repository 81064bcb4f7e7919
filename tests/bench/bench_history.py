"""Undo/redo time against history length, mask strokes on a 6000 x 4000 mask, document load.

Run: .venv/bin/python -m pytest -q -m bench tests/bench/bench_history.py -s
Targets (issue 3): undo or redo of any step < 16 ms whatever the history length.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lightable.core import commands as C
from lightable.core.document import ImageDocument
from lightable.core.geometry import Box, Polygon
from lightable.core.model import Annotation, Image, Label
from lightable.imaging import masks
from lightable.store.edits import EditSession
from lightable.store.project import Project

pytestmark = pytest.mark.bench


def ms(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def summary(xs: list[float]) -> str:
    xs = sorted(xs)
    return f"median {statistics.median(xs):6.2f} ms  p95 {xs[int(0.95 * (len(xs) - 1))]:6.2f} ms  max {xs[-1]:6.2f} ms"


def new_project(tmp_path: Path, name: str, w: int = 640, h: int = 480) -> tuple[Project, int, int]:
    p = Project.create(tmp_path / name)
    root = p.add_root(tmp_path)
    p.images.insert_many([Image("a.jpg", root, w, h)])
    return p, p.images.ordered_ids()[0], p.labels.add(Label("cat")).id  # type: ignore[return-value]


def test_undo_redo_vs_history_length(tmp_path: Path) -> None:
    print()
    for n_steps in (10, 1_000, 10_000):
        p, img, cat = new_project(tmp_path, f"h{n_steps}")
        p.annotations.insert_many([Annotation(img, cat, Box(i, i, 10, 10)) for i in range(50)])
        doc = EditSession(p).open_document(img)
        ids = doc.ids()
        t0 = time.perf_counter()
        for k in range(n_steps):
            i = ids[k % len(ids)]
            cmd: C.Command = (
                C.MoveAnnotations([i], 1, 0, at=10.0 * k)
                if k % 3
                else C.SetAttributes(i, {"k": k}, at=10.0 * k)
            )
            doc.do(cmd)
        build = (time.perf_counter() - t0) / n_steps * 1000
        assert len(doc.history) == n_steps

        def undo_redo(doc: ImageDocument = doc) -> None:
            doc.undo()
            doc.redo()

        top = ms(undo_redo, 60)
        doc.goto(n_steps // 2)
        mid = ms(undo_redo, 60)
        print(
            f"history {n_steps:>6} steps: do {build:5.2f} ms/step | undo+redo at top: {summary(top)}"
            f" | in the middle: {summary(mid)} | history {doc.history.nbytes / 1e6:.2f} MB"
        )
        p.close()


def test_paint_mask_on_6000x4000(tmp_path: Path) -> None:
    w, h = 6000, 4000
    p, img, cat = new_project(tmp_path, "mask", w, h)
    base = np.zeros((h, w), np.uint8)
    base[1000:3000, 1000:5000] = 1
    session = EditSession(p)
    doc = session.open_document(img)
    (mid,) = doc.do(C.AddAnnotation(Annotation(img, cat, masks.encode(base)))).added
    rng = np.random.default_rng(0)
    yy, xx = np.ogrid[:120, :120]
    disc = ((yy - 60) ** 2 + (xx - 60) ** 2 < 3600).astype(np.uint8)

    def stroke() -> None:
        x0, y0 = int(rng.integers(0, w - 120)), int(rng.integers(0, h - 120))
        doc.do(C.PaintMask(mid, x0, y0, None, disc))

    session2 = EditSession(p)
    doc2 = session2.open_document(img)
    t = time.perf_counter()
    doc2.do(C.PaintMask(mid, 10, 10, None, disc))  # cold: decodes the mask first
    cold = (time.perf_counter() - t) * 1000
    warm = ms(stroke, 30)
    undo = ms(lambda: doc.undo(), 20)
    redo = ms(lambda: doc.redo(), 20)
    fbase = np.asfortranarray(base)
    enc = ms(lambda: masks.encode(fbase), 10)
    dec = ms(lambda: masks.decode(doc.annotation(mid).geometry), 5)
    steps = doc.history.steps()[-30:]
    per_step = statistics.median(s.undo.nbytes + s.redo.nbytes for s in steps)
    print(
        f"\nPaintMask 120x120 disc on 6000x4000 mask: commit {summary(warm)}; cold first stroke {cold:.1f} ms"
        f"\n  undo {summary(undo)}; redo {summary(redo)}"
        f"\n  history per stroke (undo+redo deltas): {per_step:.0f} bytes (a mask copy: {w * h / 1e6:.0f} MB)"
        f"\n  pycocotools encode (Fortran array) {statistics.median(enc):.1f} ms, decode {statistics.median(dec):.1f} ms"
    )
    p.close()


def test_open_document_with_10k_polygons(tmp_path: Path) -> None:
    p, img, cat = new_project(tmp_path, "load", 6000, 4000)
    rng = np.random.default_rng(1)
    anns = []
    for _ in range(10_000):
        cx, cy = rng.uniform(100, 5900), rng.uniform(100, 3900)
        a = np.linspace(0, 2 * np.pi, 20, endpoint=False)
        pts = [(float(cx + 30 * np.cos(t)), float(cy + 30 * np.sin(t))) for t in a]
        anns.append(Annotation(img, cat, Polygon.from_points(pts)))
    p.annotations.insert_many(anns)
    session = EditSession(p)
    load = ms(lambda: session.open_document(img), 3)
    doc = session.open_document(img)
    move = ms(lambda: doc.do(C.MoveAnnotations([doc.ids()[0]], 1, 0)), 20)
    bb = ms(lambda: doc.bboxes(), 20)
    print(
        f"\nopen_document with 10,000 polygons x 20 vertices: {summary(load)}"
        f"\n  one command (move 1 polygon) among them: {summary(move)}; bboxes(): {summary(bb)}"
    )
    clock = iter(range(10**6))
    for n in (10, 100, 1000):
        ids = doc.ids()[:n]
        # Distinct timestamps far apart: every move is its own step (no nudge merging).
        do = ms(lambda ids=ids: doc.do(C.MoveAnnotations(ids, 1, 0, at=10.0 * next(clock))), 5)
        undo, redo = [], []
        for _ in range(5):
            undo += ms(lambda: doc.undo(), 1)
            redo += ms(lambda: doc.redo(), 1)
        print(
            f"  move {n:>4} polygons as one step: do {statistics.median(do):6.1f} ms, "
            f"undo {statistics.median(undo):6.1f} ms, redo {statistics.median(redo):6.1f} ms"
        )
    p.close()
