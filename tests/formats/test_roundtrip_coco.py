"""COCO write -> read keeps everything COCO holds (property-based and on fixtures)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lightable.core.geometry import Box, Keypoints, Mask, Polygon
from lightable.core.model import Skeleton
from lightable.formats import registry
from lightable.formats.model import (
    Dataset,
    DatasetImage,
    DatasetLabel,
    DatasetObject,
    ExportOptions,
    Report,
)
from lightable.imaging import masks
from tests.formats.conftest import assert_geom_close, read

W, H = 97, 61
coord_x = st.floats(0, W, allow_nan=False, allow_infinity=False)
coord_y = st.floats(0, H, allow_nan=False, allow_infinity=False)


@st.composite
def boxes(draw) -> Box:  # type: ignore[no-untyped-def]
    x, y = draw(coord_x), draw(coord_y)
    return Box(x, y, draw(st.floats(0, W - x)), draw(st.floats(0, H - y)))


@st.composite
def polygons(draw) -> Polygon:  # type: ignore[no-untyped-def]
    rings = draw(
        st.lists(
            st.lists(st.tuples(coord_x, coord_y), min_size=3, max_size=8), min_size=1, max_size=2
        )
    )
    return Polygon(tuple(tuple(c for p in r for c in p) for r in rings))


@st.composite
def keypoints(draw, n: int = 3) -> Keypoints:  # type: ignore[no-untyped-def]
    pts = []
    for _ in range(n):
        v = draw(st.sampled_from([0, 1, 2]))
        pts.append((draw(coord_x), draw(coord_y), v) if v else (0.0, 0.0, 0))
    return Keypoints(tuple(pts))


@st.composite
def mask_geoms(draw) -> Mask:  # type: ignore[no-untyped-def]
    a = np.zeros((H, W), np.uint8)
    x, y = draw(st.integers(0, W - 2)), draw(st.integers(0, H - 2))
    a[y : y + draw(st.integers(1, 20)), x : x + draw(st.integers(1, 20))] = 1
    return masks.encode(a)


attrs = st.dictionaries(
    st.sampled_from(["occluded", "color", "n"]),
    st.one_of(st.booleans(), st.text(max_size=5), st.integers(-5, 5)),
    max_size=2,
)


@st.composite
def datasets(draw) -> Dataset:  # type: ignore[no-untyped-def]
    labels = [
        DatasetLabel("cat", source_id=3),
        DatasetLabel("person", source_id=1, skeleton=Skeleton(["a", "b", "c"], [(0, 1), (1, 2)])),
    ]
    images = []
    for i in range(draw(st.integers(1, 3))):
        objs: list[DatasetObject] = []
        for g in draw(st.lists(st.one_of(boxes(), polygons(), mask_geoms()), max_size=4)):
            objs.append(
                DatasetObject(
                    "cat", g, draw(attrs), iscrowd=isinstance(g, Mask) and draw(st.booleans())
                )
            )
        for k in range(draw(st.integers(0, 2))):
            # A person: its shape and its keypoints share a group (one COCO annotation).
            shape = draw(st.one_of(boxes(), polygons()))
            group = f"p{k}"
            objs.append(DatasetObject("person", shape, group=group))
            objs.append(DatasetObject("person", draw(keypoints()), group=group))
        images.append(
            DatasetImage(
                f"dir/img{i}.jpg", W, H, split=draw(st.sampled_from(["train", "val"])), objects=objs
            )
        )
    return Dataset(images=images, labels=labels, format="coco", root="/nonexistent")


def roundtrip(ds: Dataset, tmp: Path) -> Dataset:
    spec = registry.get("coco")
    report = Report()
    assert spec.writer is not None
    spec.writer(ds, tmp, report, ExportOptions())
    back, rep = read(tmp, "coco")
    assert not rep.errors, rep.errors
    return back


def assert_same(a: Dataset, b: Dataset) -> None:
    assert {lb.name: (lb.source_id, lb.skeleton) for lb in a.labels} == {
        lb.name: (lb.source_id, lb.skeleton) for lb in b.labels
    }
    ims = {im.path: im for im in b.images}
    assert set(ims) == {im.path for im in a.images}
    for im in a.images:
        other = ims[im.path]
        assert (other.width, other.height, other.split) == (im.width, im.height, im.split)
        assert len(other.objects) == len(im.objects), im.path
        for oa, ob in zip(im.objects, other.objects, strict=True):
            where = f"{im.path} {oa.label}"
            assert oa.label == ob.label, where
            assert_geom_close(oa.geometry, ob.geometry, tol=1e-9, where=where)
            assert (oa.iscrowd, oa.attributes) == (ob.iscrowd, ob.attributes), where
            assert (oa.group is None) == (ob.group is None), where


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_roundtrip_property(ds: Dataset) -> None:
    with tempfile.TemporaryDirectory() as d:
        assert_same(ds, roundtrip(ds, Path(d)))


def test_roundtrip_fixtures(fx: Path, tmp_path: Path) -> None:
    for n, rel in enumerate(
        [
            "coco_instances/datumaro-coco_instances",
            "coco_instances/labelme-instance_segmentation-coco/annotations.json",
            "coco_keypoints/mmpose-coco/test_coco.json",
            "coco_keypoints/cvat-datumaro-coco_person_keypoints",
        ]
    ):
        first, _ = read(fx / rel, "coco")
        for im in first.images:
            im.split = im.split or "default"  # written as instances_default.json
        second = roundtrip(first, tmp_path / str(n))
        # Paths: the reader located images under the fixture; the export names them the same.
        assert_same(first, second)
