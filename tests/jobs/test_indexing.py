"""Indexing folders in place: first run, re-scans, bad files, cancel."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from lightable.core.errors import BadInputError
from lightable.core.model import ImageStatus
from lightable.jobs.base import Cancelled, JobState, Progress
from lightable.jobs.indexing import IndexReport, index_folders
from lightable.store.images import ImageQuery
from lightable.store.project import Change, Project
from tests.imaging import image_factory as f


def _images(project: Project) -> dict[str, object]:
    ids = project.images.ordered_ids()
    return {im.path: im for im in project.images.get_many(ids).values()}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    f.jpeg(d / "a.jpg", 64, 48)
    f.jpeg(d / "sub" / "b.JPG", 40, 80, seed=1)
    f.jpeg(d / "sub" / "rot.jpeg", 80, 20, orientation=6)
    f.png(d / "sub" / "deep" / "c.png", 30, 20)
    f.write(d / "d.webp", f.pattern(20, 10), "WEBP")
    (d / "readme.txt").write_text("not an image, and not an image extension")
    return d


def test_first_index_registers_images_relative_to_root(project: Project, data: Path) -> None:
    changes: list[Change] = []
    project.subscribe(changes.append)
    report = index_folders(project, [data])
    assert (report.added, report.updated, report.unchanged, report.broken) == (5, 0, 0, [])
    imgs = _images(project)
    assert set(imgs) == {"a.jpg", "sub/b.JPG", "sub/rot.jpeg", "sub/deep/c.png", "d.webp"}
    rot = imgs["sub/rot.jpeg"]
    assert (rot.width, rot.height, rot.orientation) == (20, 80, 6)  # type: ignore[attr-defined]
    a = imgs["a.jpg"]
    st = os.stat(data / "a.jpg")
    assert (a.file_size, a.mtime_ns, a.status) == (st.st_size, st.st_mtime_ns, ImageStatus.NEW)  # type: ignore[attr-defined]
    assert project.image_path(a.root_id, a.path) == data / "a.jpg"  # type: ignore[attr-defined]
    assert [c.kind for c in changes] == ["images.added"]
    assert changes[0].payload["added"] == 5


def test_second_run_adds_nothing_and_probes_nothing(
    project: Project, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_folders(project, [data])

    def no_probe(*a: object, **k: object) -> None:
        raise AssertionError("an unchanged file was probed")

    monkeypatch.setattr("lightable.jobs.indexing.probe_image", no_probe)
    report = index_folders(project, [data])
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 5)
    assert project.images.count() == 5


def test_removed_file_is_marked_missing_then_restored(project: Project, data: Path) -> None:
    index_folders(project, [data])
    keep = data.parent / "keep.jpg"
    shutil.copy2(data / "a.jpg", keep)
    (data / "a.jpg").unlink()
    report = index_folders(project, [data])
    assert (report.removed, report.unchanged) == (1, 4)
    assert project.images.count() == 4  # missing images leave the browser
    assert project.images.count(ImageQuery(text="a.jpg")) == 0
    shutil.copy2(keep, data / "a.jpg")  # same size and mtime
    report = index_folders(project, [data])
    assert (report.restored, report.added, report.removed) == (1, 0, 0)
    assert project.images.count() == 5


def test_changed_file_is_updated_and_keeps_its_status(project: Project, data: Path) -> None:
    index_folders(project, [data])
    before = _images(project)["a.jpg"]
    project.images.set_status([before.id], ImageStatus.DONE)  # type: ignore[attr-defined]
    f.jpeg(data / "a.jpg", 100, 30, seed=5)
    st = os.stat(data / "a.jpg")
    os.utime(data / "a.jpg", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    report = index_folders(project, [data])
    assert (report.updated, report.added, report.unchanged) == (1, 0, 4)
    after = _images(project)["a.jpg"]
    assert after.id == before.id  # type: ignore[attr-defined]
    assert (after.width, after.height, after.status) == (100, 30, ImageStatus.DONE)  # type: ignore[attr-defined]


def test_broken_files_are_recorded_and_the_run_finishes(project: Project, data: Path) -> None:
    (data / "empty.jpg").write_bytes(b"")
    (data / "text.jpg").write_text("hello")
    f.truncate(f.jpeg(data / "bad" / "cut.jpg", 300, 200), 0.5)
    f.truncate(f.png(data / "bad" / "cut.png", 300, 200), 0.5)
    f.png_bomb(data / "bad" / "bomb.png")
    report = index_folders(project, [data])
    assert report.added == 10
    reasons = dict(report.broken)
    assert reasons == {
        "empty.jpg": "empty file",
        "text.jpg": "not an image",
        "bad/cut.jpg": "truncated JPEG (no end marker)",
        "bad/cut.png": "truncated PNG (no IEND chunk)",
        "bad/bomb.png": reasons["bad/bomb.png"],
    }
    assert reasons["bad/bomb.png"].startswith("image claims 100000 x 100000 pixels")
    imgs = _images(project)
    bomb = imgs["bad/bomb.png"]
    assert bomb.status == ImageStatus.BROKEN  # type: ignore[attr-defined]
    assert bomb.error == reasons["bad/bomb.png"]  # type: ignore[attr-defined]
    assert project.images.count(ImageQuery(status=ImageStatus.BROKEN)) == 5
    assert project.info()["images"]["broken"] == 5
    # A re-scan does not re-report (or re-probe) them.
    assert index_folders(project, [data]).broken == []


def test_fixed_broken_file_becomes_new(project: Project, data: Path) -> None:
    (data / "x.jpg").write_text("oops")
    index_folders(project, [data])
    f.jpeg(data / "x.jpg", 12, 10)
    st = os.stat(data / "x.jpg")
    os.utime(data / "x.jpg", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    report = index_folders(project, [data])
    assert report.updated == 1 and report.broken == []
    x = _images(project)["x.jpg"]
    assert (x.status, x.error, x.width) == (ImageStatus.NEW, None, 12)  # type: ignore[attr-defined]


def test_hidden_project_and_escaping_links_are_skipped(tmp_path: Path) -> None:
    data = tmp_path / "data"
    f.jpeg(data / "ok.jpg")
    f.jpeg(data / ".hidden.jpg")
    f.jpeg(data / ".cache" / "x.jpg")
    outside = f.jpeg(tmp_path / "outside.jpg")
    os.symlink(outside, data / "link_out.jpg")
    os.symlink(data / "ok.jpg", data / "link_in.jpg")
    os.symlink(tmp_path, data / "loop")  # a folder link: not followed
    project = Project.create(data / "project")  # the project lives inside the data
    f.jpeg(project.cache_dir / "stray.jpg")
    try:
        report = index_folders(project, [data])
        assert set(_images(project)) == {"ok.jpg", "link_in.jpg"}
        assert ("link_out.jpg", "symbolic link leads outside the folder") in report.skipped
    finally:
        project.close()


def test_unreadable_folder_is_skipped_and_not_marked_missing(
    project: Project, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_folders(project, [data])
    real_scandir = os.scandir
    sub = str(data / "sub")

    def scandir(path: str):  # type: ignore[no-untyped-def]
        if str(path) == sub:
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    # chmod 000 would not stop root (tests may run as root in containers).
    monkeypatch.setattr("lightable.jobs.indexing.os.scandir", scandir)
    report = index_folders(project, [data])
    assert report.skipped == [("sub", "folder not readable (Permission denied)")]
    assert report.removed == 0  # we could not look: not evidence they are gone
    assert project.images.count() == 5


def test_missing_folder_is_a_clear_error_and_writes_nothing(
    project: Project, tmp_path: Path
) -> None:
    with pytest.raises(BadInputError, match="no such folder"):
        index_folders(project, [tmp_path / "data"])
    (tmp_path / "file.jpg").write_text("x")
    with pytest.raises(BadInputError, match="not a folder"):
        index_folders(project, [tmp_path / "file.jpg"])
    assert project.roots() == {}


def test_several_folders_and_progress(project: Project, tmp_path: Path) -> None:
    for i in range(3):
        f.jpeg(tmp_path / "one" / f"{i}.jpg", 16, 16, seed=i)
        f.png(tmp_path / "two" / f"{i}.png", 16, 16, seed=i)
    seen: list[Progress] = []
    state = JobState(seen.append, interval=0)
    report = index_folders(project, [tmp_path / "one", tmp_path / "two"], state, workers=2)
    assert report.added == 6
    assert len(project.roots()) == 2
    last = seen[-1]
    assert (last.done, last.total) == (6, 6)


def _many_files(folder: Path, n: int) -> None:
    src = f.jpeg(folder / "src" / "0.jpg", 16, 12)
    for i in range(n):
        shutil.copyfile(src, folder / f"{i:04d}.jpg")
    shutil.rmtree(folder / "src")


def test_cancel_mid_run_keeps_a_consistent_project(project: Project, tmp_path: Path) -> None:
    data = tmp_path / "many"
    f.jpeg(data / "gone.jpg", 16, 12)
    index_folders(project, [data])
    (data / "gone.jpg").unlink()
    _many_files(data, 700)
    state = JobState(interval=0)

    def listener(p: Progress) -> None:
        if p.done >= 128:
            state.cancel()

    state._listener = listener  # type: ignore[attr-defined]
    with pytest.raises(Cancelled):
        index_folders(project, [data], state, workers=2)
    # A cancelled walk must not conclude that a known file is gone.
    assert project.images.count(ImageQuery(text="gone.jpg")) == 1
    written = project.images.count() - 1
    assert 128 <= written < 700
    ids = project.images.ordered_ids()
    rows = project.images.get_many(ids).values()
    assert all(im.width == 16 and im.height == 12 for im in rows)  # complete rows only
    report = index_folders(project, [data])
    assert (report.added, report.unchanged, report.removed) == (700 - written, written, 1)
    assert project.images.count() == 700


def test_report_to_dict_is_json_ready() -> None:
    import json

    r = IndexReport(added=2, broken=[("a.jpg", "empty file")], elapsed=0.12345)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["broken"] == [{"path": "a.jpg", "reason": "empty file"}]
    assert d["elapsed"] == 0.123
    assert "2 added" in r.summary()


def test_subfolder_of_a_root_is_indexed_into_that_root(project: Project, data: Path) -> None:
    index_folders(project, [data])
    f.jpeg(data / "sub" / "new.jpg", 10, 10)
    (data / "a.jpg").unlink()  # outside the subfolder: not looked at, not marked missing
    report = index_folders(project, [data / "sub"])
    assert (report.added, report.removed, report.unchanged) == (1, 0, 3)
    assert len(project.roots()) == 1
    assert "sub/new.jpg" in _images(project)
    # The whole root again: now a.jpg is noticed as gone.
    assert index_folders(project, [data]).removed == 1


def test_parent_of_a_root_leaves_its_files_to_it(project: Project, data: Path) -> None:
    index_folders(project, [data / "sub"])
    f.jpeg(data / "sub" / "later.jpg", 10, 10)
    report = index_folders(project, [data])
    # a.jpg and d.webp join the new root; sub/* stay with theirs (one new file there).
    assert report.added == 3
    assert project.images.count() == 6
    by_root: dict[int, set[str]] = {}
    for im in _images(project).values():
        by_root.setdefault(im.root_id, set()).add(im.path)  # type: ignore[attr-defined]
    assert sorted(map(sorted, by_root.values())) == [
        ["a.jpg", "d.webp"],
        ["b.JPG", "deep/c.png", "later.jpg", "rot.jpeg"],
    ]


def test_folder_and_its_subfolder_in_one_run(project: Project, data: Path) -> None:
    report = index_folders(project, [data / "sub", data, data / "sub" / "deep", data])
    assert report.added == 5
    assert project.images.count() == 5
    assert len(project.roots()) == 2  # "sub" was a root before its parent came along
