"""YOLO write -> read keeps boxes, polygons and pose keypoints within 1e-6 px."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lightable.core.geometry import Box, Keypoints, Polygon
from lightable.core.model import Skeleton
from lightable.formats import registry
from lightable.formats.model import (
    Dataset,
    DatasetImage,
    DatasetLabel,
    DatasetObject,
    ExportOptions,
    MediaMode,
    Report,
)
from tests.formats.conftest import assert_geom_close, read, tiny_jpeg

SIZES = [(97, 61), (640, 480), (33, 1000)]


@st.composite
def box_in(draw, w: int, h: int) -> Box:  # type: ignore[no-untyped-def]
    x = draw(st.floats(0, w))
    y = draw(st.floats(0, h))
    return Box(x, y, draw(st.floats(0, w - x)), draw(st.floats(0, h - y)))


@st.composite
def polygon_in(draw, w: int, h: int) -> Polygon:  # type: ignore[no-untyped-def]
    pts = draw(st.lists(st.tuples(st.floats(0, w), st.floats(0, h)), min_size=3, max_size=9))
    return Polygon.from_points(pts)


@st.composite
def keypoints_in(draw, w: int, h: int, k: int) -> Keypoints:  # type: ignore[no-untyped-def]
    pts = []
    for _ in range(k):
        v = draw(st.sampled_from([0, 1, 2]))
        pts.append((draw(st.floats(0, w)), draw(st.floats(0, h)), v) if v else (0.0, 0.0, 0))
    return Keypoints(tuple(pts))


@st.composite
def datasets(draw, root: Path) -> Dataset:  # type: ignore[no-untyped-def]
    pose = draw(st.booleans())
    names = ["cat", "dog", "person"]
    labels = [DatasetLabel(n) for n in names]
    images = []
    for i in range(draw(st.integers(1, 3))):
        w, h = draw(st.sampled_from(SIZES))
        objs: list[DatasetObject] = []
        for j in range(draw(st.integers(0, 4))):
            label = draw(st.sampled_from(names))
            if pose:
                g = f"g{j}"
                objs.append(DatasetObject(label, draw(box_in(w, h)), group=g))
                objs.append(DatasetObject(label, draw(keypoints_in(w, h, 4)), group=g))
            else:
                objs.append(DatasetObject(label, draw(st.one_of(box_in(w, h), polygon_in(w, h)))))
        path = f"sub/img{i}.jpg"
        tiny_jpeg(root / path, w, h)
        images.append(
            DatasetImage(path, w, h, split=draw(st.sampled_from(["train", "val"])), objects=objs)
        )
    if pose:
        for lb in labels:
            lb.skeleton = Skeleton(["1", "2", "3", "4"], [])
    return Dataset(images=images, labels=labels, format="yolo", root=str(root))


def roundtrip(ds: Dataset, out: Path) -> Dataset:
    spec = registry.get("yolo")
    assert spec.writer is not None
    spec.writer(ds, out, Report(), ExportOptions(media=MediaMode.COPY))
    back, rep = read(
        out, "yolo", task="pose" if any(lb.skeleton for lb in ds.labels) else "segment"
    )
    assert not rep.errors, rep.errors
    return back


def assert_same(a: Dataset, b: Dataset, tol: float = 1e-6) -> None:
    # Written under images/<split>/ (file names are unique in these data sets).
    ims = {im.path.rsplit("/", 1)[-1]: im for im in b.images}
    used = {lb.name for lb in a.labels}
    assert {lb.name for lb in b.labels} == used
    for im in a.images:
        other = ims[im.path.rsplit("/", 1)[-1]]
        assert other.path.startswith(f"images/{im.split}/") and "/images/" not in other.path[7:]
        assert (other.width, other.height, other.split) == (im.width, im.height, im.split)
        assert len(other.objects) == len(im.objects)
        for oa, ob in zip(im.objects, other.objects, strict=True):
            assert oa.label == ob.label
            assert_geom_close(oa.geometry, ob.geometry, tol=tol, where=im.path)
            assert (oa.group is None) == (ob.group is None)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_roundtrip_property(data) -> None:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as d:
        root = Path(d) / "src"
        ds = data.draw(datasets(root))
        assert_same(ds, roundtrip(ds, Path(d) / "out"))


def test_roundtrip_fixtures(fx: Path, tmp_path: Path) -> None:
    cases = [
        ("yolo/label-studio-sdk-yolo_import", {}),
        ("yolo/x-anylabeling-yolo_segmentation", {}),
        ("yolo/cvat-datumaro-yolov8_pose", {}),
        ("yolo/dagshub-yolo/pose_3dim.yaml", {"labels": "labels_pose_3dim"}),
    ]
    for n, (rel, opts) in enumerate(cases):
        first, _ = read(fx / rel, "yolo", **opts)
        for im in first.images:
            im.split = im.split or "train"
        second = roundtrip(first, tmp_path / str(n))
        assert_same(first, second)
        # A second generation is identical as text: nothing drifts.
        again = roundtrip(second, tmp_path / f"{n}b")
        assert sorted(p.read_text() for p in (tmp_path / str(n)).rglob("*.txt")) == sorted(
            p.read_text() for p in (tmp_path / f"{n}b").rglob("*.txt")
        )
        assert again.object_count() == first.object_count()
