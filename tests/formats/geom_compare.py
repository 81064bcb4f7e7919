"""Comparing datasets after a write -> read round trip (shared by the labelme, CVAT
and Label Studio tests) and hypothesis strategies that build them."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from lightable.core.geometry import Box, Geometry, Keypoints, Mask, Polygon, Tag
from lightable.formats.model import Dataset, DatasetImage, DatasetLabel, DatasetObject
from lightable.imaging import masks as mask_ops

TOL = 1e-6


def assert_geom_close(a: Geometry, b: Geometry, tol: float = TOL, where: str = "") -> None:
    assert type(a) is type(b), f"{where}: {type(a).__name__} became {type(b).__name__}"
    if isinstance(a, Box):
        assert isinstance(b, Box)
        np.testing.assert_allclose(a.bbox(), b.bbox(), atol=tol, rtol=0, err_msg=where)
    elif isinstance(a, Polygon):
        assert isinstance(b, Polygon)
        assert len(a.rings) == len(b.rings), where
        for ra, rb in zip(a.rings, b.rings, strict=True):
            np.testing.assert_allclose(ra, rb, atol=tol, rtol=0, err_msg=where)
    elif isinstance(a, Keypoints):
        assert isinstance(b, Keypoints)
        assert [p[2] for p in a.points] == [p[2] for p in b.points], where
        np.testing.assert_allclose(
            [p[:2] for p in a.points], [p[:2] for p in b.points], atol=tol, rtol=0, err_msg=where
        )
    elif isinstance(a, Mask):
        assert isinstance(b, Mask)
        assert (a.height, a.width) == (b.height, b.width), where
        assert np.array_equal(mask_ops.decode(a), mask_ops.decode(b)), where
    else:
        assert isinstance(a, Tag) and isinstance(b, Tag), where


def values_close(a: Any, b: Any, tol: float = TOL) -> bool:
    """Equal, with floats compared to ``tol`` (recursively through dicts and lists)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(values_close(a[k], b[k], tol) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(values_close(x, y, tol) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool):
            return a == b
        return isinstance(a, int | float) and isinstance(b, int | float) and abs(a - b) <= tol
    return bool(a == b)


def split_tags(objs: list[DatasetObject]) -> tuple[list[DatasetObject], list[str]]:
    shapes = [o for o in objs if not isinstance(o.geometry, Tag)]
    tags = sorted(o.label for o in objs if isinstance(o.geometry, Tag))
    return shapes, tags


def assert_same_images(
    want: Dataset,
    got: Dataset,
    tol: float = TOL,
    attrs: bool = True,
    groups: bool = False,
) -> None:
    """Same images (by path, size), same objects in order (tags compared as a set)."""
    by_path = {im.path: im for im in got.images}
    assert sorted(by_path) == sorted(im.path for im in want.images)
    for w in want.images:
        g = by_path[w.path]
        assert (g.width, g.height) == (w.width, w.height), w.path
        ws, wt = split_tags(w.objects)
        gs, gt = split_tags(g.objects)
        assert wt == gt, w.path
        assert len(ws) == len(gs), f"{w.path}: {len(ws)} objects became {len(gs)}"
        for k, (a, b) in enumerate(zip(ws, gs, strict=True)):
            where = f"{w.path} object {k}"
            assert a.label == b.label, where
            assert_geom_close(a.geometry, b.geometry, tol, where)
            if attrs:
                assert values_close(a.attributes, b.attributes, tol), (
                    f"{where}: {a.attributes} became {b.attributes}"
                )
            if groups:
                assert (a.group is None) == (b.group is None), where


# -- hypothesis strategies --------------------------------------------------------------------

LABELS = ["cat", "dog", "traffic light", "ünïcode"]


def coord(limit: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=0.0, max_value=limit, allow_nan=False, allow_infinity=False)


@st.composite
def boxes(draw: Any, w: int, h: int) -> Box:
    x, y = draw(coord(w)), draw(coord(h))
    return Box(x, y, draw(coord(w - x)), draw(coord(h - y)))


@st.composite
def polygons(draw: Any, w: int, h: int) -> Polygon:
    n = draw(st.integers(3, 8))
    return Polygon.from_points([(draw(coord(w)), draw(coord(h))) for _ in range(n)])


@st.composite
def masks(draw: Any, w: int, h: int) -> Mask:
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    arr = rng.random((h, w)) > draw(st.sampled_from([0.3, 0.7, 0.95]))
    arr[rng.integers(h), rng.integers(w)] = True  # never empty
    return mask_ops.encode(arr)


def image_sizes() -> st.SearchStrategy[tuple[int, int]]:
    return st.tuples(st.integers(4, 60), st.integers(4, 60))


def make_dataset(images: list[DatasetImage]) -> Dataset:
    names: list[str] = []
    for im in images:
        for o in im.objects:
            if o.label not in names:
                names.append(o.label)
    return Dataset(images=images, labels=[DatasetLabel(n) for n in names])
