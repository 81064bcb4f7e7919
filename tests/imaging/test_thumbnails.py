"""Thumbnail making and the SQLite thumbnail cache."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from PIL import Image

from lightable.core.errors import BadInputError
from lightable.imaging.thumbnails import ThumbnailCache, make_thumbnail, thumbnail_or_error
from tests.imaging import image_factory as f


def test_thumbnail_is_a_jpeg_with_longest_side_size(tmp_path: Path) -> None:
    data = make_thumbnail(f.jpeg(tmp_path / "a.jpg", 1280, 960), 256)
    im = Image.open(io.BytesIO(data))
    assert (im.format, im.size) == ("JPEG", (256, 192))


def test_thumbnail_of_rotated_and_png(tmp_path: Path) -> None:
    rot = make_thumbnail(f.jpeg(tmp_path / "r.jpg", 640, 320, orientation=6), 128)
    assert Image.open(io.BytesIO(rot)).size == (64, 128)
    png = make_thumbnail(f.png(tmp_path / "p.png", 300, 600), 100)
    assert Image.open(io.BytesIO(png)).size == (50, 100)


def test_thumbnail_of_broken_file(tmp_path: Path) -> None:
    p = f.truncate(f.jpeg(tmp_path / "cut.jpg", 300, 200), 0.4)
    with pytest.raises(BadInputError):
        make_thumbnail(p)
    t = thumbnail_or_error(p)
    assert t.data is None and t.error == "truncated image data"


def test_cache_roundtrip_and_mtime_invalidation(tmp_path: Path) -> None:
    with ThumbnailCache(tmp_path / "cache" / "thumbnails.db") as cache:
        assert cache.get(1, 100) is None
        cache.put(1, 100, b"jpeg-1")
        assert cache.get(1, 100) == b"jpeg-1"
        assert cache.get(1, 101) is None  # the file changed: stale
        cache.put(1, 101, b"jpeg-2")
        assert cache.get(1, 101) == b"jpeg-2"
        assert cache.get(1, 100) is None
        assert cache.count() == 1


def test_cache_many_and_error_markers(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path / "t.db")
    cache.put_many([(i, 10 * i, f"d{i}".encode()) for i in range(1, 2001)])
    cache.put_error(5000, 7, "truncated JPEG (no end marker)")
    wanted = {i: 10 * i for i in range(1, 2001)} | {5000: 7, 6000: 1}
    wanted[3] = 999  # stale
    got = cache.get_many(wanted)
    assert len(got) == 1999 and got[1] == b"d1" and 3 not in got
    assert 5000 not in got  # an error marker is not a thumbnail...
    entries = cache.lookup_many(wanted)
    assert entries[5000].error == "truncated JPEG (no end marker)"  # ...but it is known
    assert cache.missing(wanted) == [3, 6000]
    cache.close()
    # Persistent: a new cache on the same file sees the data.
    with ThumbnailCache(tmp_path / "t.db") as again:
        assert again.get(2000, 20000) == b"d2000"


def test_cache_is_usable_from_threads(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path / "t.db")
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(50):
                cache.put(k * 1000 + i, 1, b"x")
                assert cache.get(k * 1000 + i, 1) == b"x"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert cache.count() == 200
    cache.close()
