"""Mask strokes on a 6000 x 4000 mask: history keeps only the changed rectangle."""

from __future__ import annotations

import numpy as np

from lightable.core import commands as C
from lightable.core.model import Annotation, Image, Label
from lightable.imaging import masks
from lightable.store.edits import EditSession
from lightable.store.project import Project

H, W = 4000, 6000


def disc(r: int) -> np.ndarray:
    yy, xx = np.ogrid[: 2 * r, : 2 * r]
    return ((yy - r + 0.5) ** 2 + (xx - r + 0.5) ** 2 < r * r).astype(np.uint8)


def test_stroke_on_huge_mask_stores_a_small_delta(project: Project) -> None:
    root = project.add_root(project.folder)
    project.images.insert_many([Image("big.png", root, W, H)])
    (img,) = project.images.ordered_ids()
    cat = project.labels.add(Label("cat")).id
    base = np.zeros((H, W), np.uint8)
    base[1000:3000, 2000:5000] = 1
    session = EditSession(project)
    doc = session.open_document(img)
    (mid,) = doc.do(C.AddAnnotation(Annotation(img, cat, masks.encode(base)))).added
    start = project.annotations.get(mid).geometry

    # A brush stroke: a 120 px wide line of discs from (900, 800) to (2100, 1100).
    x0, y0, x1, y1 = 840, 740, 2160, 1160
    before = base[y0:y1, x0:x1].copy()
    after = before.copy()
    for t in np.linspace(0, 1, 40):
        cx, cy = int(900 + 1200 * t) - x0, int(800 + 300 * t) - y0
        after[cy - 60 : cy + 60, cx - 60 : cx + 60] |= disc(60)
    cmd = C.PaintMask(mid, x0, y0, before, after, label="Brush")
    full_copy = H * W  # what a snapshot of the mask would cost as uint8
    assert cmd.nbytes < 16_000, cmd.nbytes
    assert cmd.nbytes < full_copy / 1000
    doc.do(cmd)
    expect = base.copy()
    expect[y0:y1, x0:x1] = after
    assert np.array_equal(masks.decode(project.annotations.get(mid).geometry), expect)
    # Undo entry and redo entry are both deltas too.
    step = doc.history.steps()[-1]
    assert step.undo.nbytes < 16_000 and step.redo.nbytes < 16_000
    assert doc.history.nbytes < 40_000 + len(start.counts) * 2

    doc.undo()
    assert project.annotations.get(mid).geometry.counts == start.counts
    assert np.array_equal(doc.mask_array(mid), base)
    doc.redo()
    assert np.array_equal(masks.decode(project.annotations.get(mid).geometry), expect)
    assert doc.annotation(mid).geometry.bbox() == (840.0, 740.0, 4160.0, 2260.0)
