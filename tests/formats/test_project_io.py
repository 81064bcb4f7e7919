"""Import into a project (one transaction) and export out of it (atomic), format-neutral."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from lightable.core.geometry import Box, Keypoints, Polygon, Tag
from lightable.core.model import Label, Skeleton
from lightable.formats import project_io
from lightable.formats.model import (
    Dataset,
    DatasetImage,
    DatasetLabel,
    DatasetObject,
    ExportOptions,
    Report,
    StrictError,
)
from lightable.formats.project_io import (
    collect_dataset,
    export_dataset,
    import_dataset,
    plan_export,
)
from tests.formats.conftest import counts, tiny_jpeg


def _ds(root: Path, n: int = 3, label: str = "cat", **kw) -> Dataset:  # type: ignore[no-untyped-def]
    images = []
    for i in range(n):
        tiny_jpeg(root / f"img{i}.jpg", 64, 48)
        images.append(
            DatasetImage(
                f"img{i}.jpg",
                64,
                48,
                split="train" if i % 2 == 0 else "val",
                objects=[
                    DatasetObject(label, Box(i, i, 10, 10)),
                    DatasetObject("dog", Polygon.from_points([(0, 0), (5, 0), (5, 5)])),
                ],
            )
        )
    return Dataset(
        images=images,
        labels=[DatasetLabel(label, "#112233", 7)],
        format="test",
        root=str(root),
        **kw,
    )


def test_import_creates_rows_and_keeps_source_ids(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    s = import_dataset(project, _ds(tmp_path / "data"))
    assert (s.images_added, s.annotations, s.labels_created) == (3, 6, 2)
    cat = project.labels.by_name("cat")
    assert cat.color == "#112233" and cat.attributes["source_ids"] == {"test": 7}
    assert project.labels.by_name("dog") is not None  # used by objects, not declared: created
    im = project.images.get(1)
    assert (im.path, im.width, im.height, im.split, im.file_size > 0) == (
        "img0.jpg",
        64,
        48,
        "train",
        True,
    )
    anns = project.annotations.for_image(1)
    assert {a.geometry.kind for a in anns} == {"box", "polygon"}
    assert all(a.source == "import" for a in anns)
    assert project.roots() == {1: (tmp_path / "data").resolve()}


def test_labels_merged_by_name_and_images_matched(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project.labels.add(Label("cat", "#ff0000"))
    import_dataset(project, _ds(tmp_path / "data"))
    assert project.labels.by_name("cat").color == "#ff0000"  # the project's colour wins
    assert project.labels.by_name("cat").attributes["source_ids"] == {"test": 7}  # id added
    # The same images again: matched, not duplicated; annotations added to them.
    ds = _ds(tmp_path / "data", label="cat")
    ds.images[0].split = "test"
    s = import_dataset(project, ds)
    assert (s.images_added, s.images_matched, s.labels_created) == (0, 3, 0)
    assert counts(project)["images"] == 3 and counts(project)["annotations"] == 12
    assert project.images.get(1).split == "test"


def test_images_under_an_existing_root_are_matched(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ds = _ds(tmp_path / "data" / "images")
    project.add_root(tmp_path / "data" / "images")
    # The annotation file sits one level up and names images/imgN.jpg.
    for im in ds.images:
        im.path = f"images/{im.path}"
    ds.root = str(tmp_path / "data")
    s = import_dataset(project, ds)
    assert counts(project)["roots"] == 1
    assert project.images.get(1).path == "img0.jpg" and s.images_added == 3


def test_missing_files_become_broken_rows_with_annotations(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ds = _ds(tmp_path / "data")
    (tmp_path / "data" / "img1.jpg").unlink()
    s = import_dataset(project, ds)
    assert s.images_missing == 1 and s.annotations == 6
    im = project.images.by_path(1, "img1.jpg")
    assert (im.status, im.error, im.width, im.height) == ("broken", "file not found", 64, 48)
    assert len(project.annotations.for_image(im.id)) == 2


def test_embedded_image_written_into_project(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    Image.new("RGB", (20, 10)).save(buf, "PNG")
    ds = Dataset(
        images=[
            DatasetImage(
                "pics/e.png", 20, 10, embedded=buf.getvalue(), objects=[DatasetObject("x", Tag())]
            )
        ],
        format="labelme",
        root=str(tmp_path / "json"),
    )
    (tmp_path / "json").mkdir()
    dry = import_dataset(project, ds, dry_run=True)
    assert dry.images_written == 1 and not list((project.folder / "imported").rglob("*.png"))
    s = import_dataset(project, ds)
    assert s.images_written == 1
    (written,) = list((project.folder / "imported").rglob("e.png"))
    assert written.read_bytes() == buf.getvalue()
    im = project.images.get(1)
    assert (im.status, im.width, im.height) == ("new", 20, 10)
    assert project.image_path(im.root_id, im.path) == written


def test_interrupted_import_leaves_project_as_it_was(project, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import_dataset(project, _ds(tmp_path / "first", n=1))
    before = counts(project)
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "PNG")
    ds = _ds(tmp_path / "data", n=40)
    ds.images.append(DatasetImage("emb/e.png", 4, 4, embedded=buf.getvalue()))
    calls = []

    def boom(conn, table, columns, rows):  # type: ignore[no-untyped-def]
        calls.append(len(rows))
        if len(calls) == 2:
            raise KeyboardInterrupt  # a cancel or a crash in the middle of the annotations
        project_io.insert_tuples(conn, table, columns, rows)

    monkeypatch.setattr(project_io, "BATCH", 25)
    monkeypatch.setattr(project_io, "_insert_tuples", boom)
    with pytest.raises(KeyboardInterrupt):
        import_dataset(project, ds)
    assert counts(project) == before
    assert len(calls) == 2 and calls[0] == 25  # the first batch had been written, then undone
    assert not list((project.folder / "imported").rglob("e.png"))  # embedded file removed too
    assert project.labels.by_name("dog") is not None  # from the first import only
    assert len(project.labels.all()) == 2


def test_strict_writes_nothing(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ds = _ds(tmp_path / "data")
    report = Report()
    report.error("x.json", "something was wrong", "id 3")
    with pytest.raises(StrictError, match="something was wrong"):
        import_dataset(project, ds, strict=True, report=report)
    assert counts(project)["images"] == 0
    ds.images[0].path = "../outside.jpg"  # found during the import itself
    with pytest.raises(StrictError, match="escapes the import root"):
        import_dataset(project, ds, strict=True)
    assert counts(project) == {**counts(project), "images": 0, "labels": 0}


def test_dry_run_counts_exactly_and_writes_nothing(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dry = import_dataset(project, _ds(tmp_path / "data"), dry_run=True)
    assert counts(project)["images"] == 0 and counts(project)["labels"] == 0
    real = import_dataset(project, _ds(tmp_path / "data"))
    keys = ("images_added", "images_matched", "annotations", "labels_created", "skipped")
    assert {k: getattr(dry, k) for k in keys} == {k: getattr(real, k) for k in keys}


def test_skeleton_kept_and_keypoints_label_kind(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sk = Skeleton(["a", "b"], [(0, 1)])
    ds = Dataset(
        images=[
            DatasetImage(
                "k.jpg", 10, 10, objects=[DatasetObject("p", Keypoints(((1, 1, 2), (2, 2, 1))))]
            )
        ],
        labels=[DatasetLabel("p", skeleton=sk)],
        format="test",
        root=str(tmp_path),
    )
    import_dataset(project, ds)
    lb = project.labels.by_name("p")
    assert lb.skeleton == sk and lb.kind == "keypoints"


def test_collect_filters(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import_dataset(project, _ds(tmp_path / "data", n=4))
    ds = collect_dataset(project, ExportOptions(splits=["val"], labels=["cat"]))
    assert [im.path for im in ds.images] == ["img1.jpg", "img3.jpg"]
    assert all(o.label == "cat" for im in ds.images for o in im.objects)
    assert [lb.name for lb in ds.labels] == ["cat"]
    ds = collect_dataset(project, ExportOptions(image_ids=[4, 2]))
    assert [im.path for im in ds.images] == ["img3.jpg", "img1.jpg"]
    from lightable.store.images import ImageQuery

    ds = collect_dataset(project, ExportOptions(query=ImageQuery(text="img2")))
    assert [im.path for im in ds.images] == ["img2.jpg"]
    from lightable.core.errors import LightableError

    with pytest.raises(LightableError, match="no label called 'bird'"):
        collect_dataset(project, ExportOptions(labels=["bird"]))


def test_collect_predictions_with_threshold(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import_dataset(project, _ds(tmp_path / "data", n=2))
    preds = Dataset(
        images=[
            DatasetImage(
                "img0.jpg",
                objects=[DatasetObject("cat", Box(0, 0, 5, 5), score=s) for s in (0.2, 0.6, 0.9)],
            )
        ],
        predictions=True,
        format="test",
        root=str(tmp_path / "data"),
    )
    s = import_dataset(project, preds)
    assert s.predictions == 3 and s.images_matched == 1
    ds = collect_dataset(project, ExportOptions(run_id=s.run_id, threshold=0.5))
    assert ds.predictions
    assert sorted(o.score for im in ds.images for o in im.objects) == [0.6, 0.9]


def test_export_is_atomic(project, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import_dataset(project, _ds(tmp_path / "data"))
    out = tmp_path / "out"
    import dataclasses

    def broken(ds, folder, report, options):  # type: ignore[no-untyped-def]
        (folder / "annotations").mkdir()
        (folder / "annotations" / "half.json").write_text("{")
        raise OSError("disk full")

    spec = project_io.registry.get("coco")
    monkeypatch.setitem(
        project_io.registry._specs, "coco", dataclasses.replace(spec, writer=broken)
    )
    with pytest.raises(OSError, match="disk full"):
        export_dataset(project, "coco", out)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # temp folder gone


def test_export_refuses_non_empty_out(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from lightable.core.errors import LightableError

    import_dataset(project, _ds(tmp_path / "data"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(LightableError, match="not empty"):
        export_dataset(project, "coco", out)
    assert (out / "keep.txt").read_text() == "mine"
    export_dataset(project, "coco", out, ExportOptions(overwrite=True))
    assert not (out / "keep.txt").exists() and (out / "annotations").is_dir()


def test_plan_export_before_writing(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from lightable.imaging import masks

    arr = np.zeros((48, 64), np.uint8)
    arr[5:20, 5:30] = 1
    ds = _ds(tmp_path / "data", n=1)
    ds.images[0].objects += [DatasetObject("cat", masks.encode(arr)), DatasetObject("cat", Tag())]
    import_dataset(project, ds)
    report = plan_export(project, "yolo")
    text = "\n".join(str(i) for i in report.issues)
    assert "1 masks will be traced to polygons" in text
    assert "1 image-level tags cannot be held" in text
    assert "mixes boxes and polygons" in text
    assert report.stats == {"images": 1, "objects": 4, "labels": 2}
    report = plan_export(project, "yolo", ExportOptions(extra={"mask_mode": "box"}))
    assert any("masks will be written as their bounding boxes" in i.problem for i in report.issues)
    report = plan_export(project, "voc")
    assert any(
        "1 image-level tags cannot be held by Pascal VOC" in i.problem for i in report.issues
    )
