"""Tiled pyramids for huge images (Qt-free): levels, tiles, overview, cache, child-process build."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lightable.core.errors import BadInputError
from lightable.imaging import pyramid
from lightable.imaging.pyramid import TILE, Pyramid, build_pyramid, level_sizes, read_meta


def _image(path: Path, w: int, h: int, fmt: str = "PNG", **kw: object) -> np.ndarray:
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(a).save(path, format=fmt, **kw)
    return a


def test_level_sizes_halve_until_one_tile() -> None:
    levels = level_sizes(20_000, 15_000)
    assert (levels[0].width, levels[0].height) == (20_000, 15_000)
    assert (levels[1].width, levels[1].height) == (10_000, 7_500)
    assert max(levels[-1].width, levels[-1].height) <= TILE
    assert levels[0].tiles_x == 40 and levels[0].tiles_y == 30


def test_build_and_read_tiles_exactly(tmp_path: Path) -> None:
    a = _image(tmp_path / "a.png", 1300, 700)
    meta = build_pyramid(tmp_path / "a.png", tmp_path / "out")
    assert meta["levels"][0] == [1300, 700]
    p = Pyramid(tmp_path / "a.png", tmp_path / "cache")
    assert not p.ready  # another folder: nothing built there
    p.folder = tmp_path / "out"
    p._adopt(read_meta(p.folder))
    assert p.ready
    # Level 0 tiles are the pixels, edge tiles cropped.
    assert np.array_equal(p.read_tile(0, 0, 0), a[:TILE, :TILE])
    edge = p.read_tile(0, 2, 1)
    assert edge.shape == (700 - TILE, 1300 - 2 * TILE, 3)
    assert np.array_equal(edge, a[TILE:, 2 * TILE :])
    assert np.array_equal(p.read_level(0), a)
    assert p.read_level(1).shape == (350, 650, 3)
    assert (
        p.level_for_zoom(1.0) == 0
        and p.level_for_zoom(0.3) == 1
        and p.level_for_zoom(0.01) == len(p.levels) - 1
    )
    p.close()


def test_jpeg_overview_first_then_child_process_build(tmp_path: Path) -> None:
    src = tmp_path / "big.jpg"
    y, x = np.mgrid[0:3000, 0:4000]
    a = np.stack([(x // 7) % 256, (y // 5) % 256, ((x + y) // 9) % 256], -1).astype(np.uint8)
    Image.fromarray(a).save(src, quality=90)
    p = Pyramid(src, tmp_path / "cache")
    ov = p.load_overview()
    assert max(ov.shape[:2]) <= pyramid.OVERVIEW_SIDE
    assert (p.width, p.height) == (4000, 3000)
    assert not p.ready
    done = []
    p.start_build(lambda: done.append(True))
    assert p.wait(120), p.error
    assert done == [True]
    t = p.read_tile(0, 3, 2)
    assert (
        np.abs(t.astype(int) - a[2 * TILE : 3 * TILE, 3 * TILE : 4 * TILE]).mean() < 4
    )  # JPEG loss only
    p.close()
    # A second opening finds the finished pyramid at once.
    q = Pyramid(src, tmp_path / "cache")
    assert q.ready
    q.close()


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    src = tmp_path / "rot.jpg"
    a = np.zeros((600, 1000, 3), np.uint8)
    a[:, :500] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(a).save(src, quality=95, exif=exif.tobytes())
    p = Pyramid(src, tmp_path / "cache")
    p.load_overview()
    assert (p.width, p.height) == (600, 1000)
    p.start_build()
    assert p.wait(120), p.error
    full = p.read_level(0)
    assert full.shape == (1000, 600, 3)
    assert full[100, 300, 0] > 200 and full[900, 300, 0] < 60  # red went to the top
    p.close()


def test_broken_source_reports_an_error(tmp_path: Path) -> None:
    src = tmp_path / "broken.png"
    src.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    p = Pyramid(src, tmp_path / "cache")
    with pytest.raises(BadInputError):
        p.load_overview()
    assert not p.ready
    assert read_meta(p.folder) is None  # nothing half-written that looks complete


def test_prune_cache_removes_oldest(tmp_path: Path) -> None:
    import os
    import time

    root = tmp_path / "cache"
    for i in range(3):
        d = root / f"p{i}"
        d.mkdir(parents=True)
        (d / "L0.raw").write_bytes(b"x" * 1000)
        t = time.time() - 100 + i
        os.utime(d, (t, t))
    pyramid.prune_cache(root, keep=root / "p2", limit=2500)
    assert sorted(d.name for d in root.iterdir()) == ["p1", "p2"]
