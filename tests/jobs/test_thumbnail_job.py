"""build_thumbnails / ensure_thumbnails: fill the cache, skip what is fresh, redo stale."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from lightable.imaging.thumbnails import ThumbnailCache
from lightable.jobs.base import Cancelled, JobState, Progress
from lightable.jobs.indexing import index_folders
from lightable.jobs.thumbnails import build_thumbnails, ensure_thumbnails
from lightable.store.project import Change, Project
from tests.imaging import image_factory as f


@pytest.fixture
def indexed(project: Project, tmp_path: Path) -> Path:
    d = tmp_path / "data"
    for i in range(6):
        f.jpeg(d / f"{i}.jpg", 320, 240, seed=i)
    f.truncate(f.jpeg(d / "broken.jpg", 100, 80), 0.5)
    index_folders(project, [d])
    return d


def _ids(project: Project) -> dict[str, int]:
    ims = project.images.get_many(project.images.ordered_ids())
    return {im.path: i for i, im in ims.items()}


def test_build_fills_cache_with_thumbnails_and_error_markers(
    project: Project, indexed: Path
) -> None:
    ready: list[Change] = []
    project.subscribe(lambda c: ready.append(c) if c.kind == "thumbnails.ready" else None)
    assert build_thumbnails(project, None, workers=2) == 7
    ids = _ids(project)
    with ThumbnailCache.for_project(project) as cache:
        assert cache.path == project.cache_dir / "thumbnails.db"
        ims = project.images.get_many(list(ids.values()))
        entries = cache.lookup_many({i: im.mtime_ns for i, im in ims.items()})
        assert len(entries) == 7
        good = entries[ids["0.jpg"]]
        assert Image.open(io.BytesIO(good.data or b"")).size == (256, 192)
        bad = entries[ids["broken.jpg"]]
        assert bad.data is None and bad.error == "truncated JPEG (no end marker)"
    assert sorted(i for c in ready for i in c.image_ids) == sorted(ids.values())
    # Nothing left to do on a second run.
    assert build_thumbnails(project, None) == 0


def test_changed_file_gets_a_new_thumbnail(project: Project, indexed: Path) -> None:
    build_thumbnails(project, None)
    p = indexed / "0.jpg"
    f.jpeg(p, 100, 400, seed=9)
    st = os.stat(p)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    assert index_folders(project, [indexed]).updated == 1
    image_id = _ids(project)["0.jpg"]
    assert build_thumbnails(project, None) == 1
    im = project.images.get(image_id)
    assert im is not None
    with ThumbnailCache.for_project(project) as cache:
        data = cache.get(image_id, im.mtime_ns)
    assert data is not None
    assert Image.open(io.BytesIO(data)).size == (64, 256)


def test_only_requested_ids(project: Project, indexed: Path) -> None:
    ids = _ids(project)
    assert build_thumbnails(project, [ids["1.jpg"], ids["2.jpg"]]) == 2


def test_progress_and_cancel(project: Project, tmp_path: Path) -> None:
    d = tmp_path / "many"
    for i in range(40):
        f.jpeg(d / f"{i:02d}.jpg", 64, 48, seed=i)
    index_folders(project, [d])
    state = JobState(interval=0)
    seen: list[Progress] = []

    def listener(p: Progress) -> None:
        seen.append(p)
        if p.done >= 1:
            state.cancel()

    state._listener = listener  # type: ignore[attr-defined]
    with pytest.raises(Cancelled):
        build_thumbnails(project, None, state, workers=1)
    assert 40 in {p.total for p in seen}
    with ThumbnailCache.for_project(project) as cache:
        done_before = cache.count()
    assert 1 <= done_before < 40  # what was made before the cancel is kept
    assert build_thumbnails(project, None) == 40 - done_before


def test_ensure_thumbnails_makes_only_missing(project: Project, indexed: Path) -> None:
    ids = _ids(project)
    images = list(project.images.get_many([ids["3.jpg"], ids["broken.jpg"]]).values())
    with ThumbnailCache.for_project(project) as cache:
        got = ensure_thumbnails(project, cache, images)
        assert got[ids["3.jpg"]].data is not None
        assert got[ids["broken.jpg"]].error == "truncated JPEG (no end marker)"
        assert cache.count() == 2


def test_vanished_file_is_not_remembered_as_broken(project: Project, indexed: Path) -> None:
    (indexed / "5.jpg").unlink()  # gone before the next index run noticed
    image_id = _ids(project)["5.jpg"]
    with ThumbnailCache.for_project(project) as cache:
        im = project.images.get(image_id)
        assert im is not None
        got = ensure_thumbnails(project, cache, [im])
        assert got[image_id].error == "file not found"
        assert cache.lookup(image_id, im.mtime_ns) is None  # retried once it is back
