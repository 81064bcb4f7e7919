"""Benchmark: thumbnail generation for 1280x960 JPEGs (target >= 150 images/s on 2 cores).

500 photo-like JPEGs (~270 KB each, 50 distinct ones copied) are indexed into a
fresh project; ``build_thumbnails`` then fills an empty cache. Median of 3 runs.
A second benchmark records why the job uses threads rather than processes.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from tests.imaging.image_factory import photo_like

N_FILES = 500
DISTINCT = 50


@pytest.fixture(scope="module")
def files() -> Iterator[list[Path]]:
    root = Path(tempfile.mkdtemp(prefix="lightable-bench-thumbs-", dir="/tmp"))
    try:
        src = []
        for i in range(DISTINCT):
            p = root / f"src_{i}.jpg"
            Image.fromarray(photo_like(1280, 960, seed=i, noise=6)).save(p, quality=90)
            src.append(p)
        data = root / "data"
        data.mkdir()
        out = []
        for i in range(N_FILES):
            p = data / f"{i:04d}.jpg"
            shutil.copyfile(src[i % DISTINCT], p)
            out.append(p)
        mean = sum(p.stat().st_size for p in src) / len(src) / 1024
        print(f"\n[bench] {N_FILES} JPEGs 1280x960, mean {mean:.0f} KB")
        yield out
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.bench
def test_build_thumbnails_throughput(files: list[Path], tmp_path: Path) -> None:
    from lightable.imaging.thumbnails import ThumbnailCache
    from lightable.jobs.indexing import index_folders
    from lightable.jobs.thumbnails import build_thumbnails, default_workers
    from lightable.store.project import Project

    with Project.create(tmp_path / "proj") as project:
        index_folders(project, [files[0].parent])
        rates = []
        for run in range(3):
            db = tmp_path / f"thumbs{run}.db"
            with ThumbnailCache(db) as cache:
                t = time.perf_counter()
                n = build_thumbnails(project, None, cache=cache)
                rates.append(n / (time.perf_counter() - t))
            assert n == N_FILES
    print(
        f"\n[bench] build_thumbnails ({default_workers()} threads, {os.cpu_count()} cores): "
        f"median {statistics.median(rates):.0f} images/s "
        f"(runs {', '.join(f'{r:.0f}' for r in rates)}; target >= 150)"
    )


@pytest.mark.bench
def test_threads_versus_processes(files: list[Path]) -> None:
    from lightable.imaging.thumbnails import make_thumbnail

    def rate(pool_cls: type, workers: int) -> float:
        with pool_cls(workers) as pool:
            list(pool.map(make_thumbnail, files[:8]))  # warm up (process start-up)
            t = time.perf_counter()
            list(pool.map(make_thumbnail, files, chunksize=8))
            return len(files) / (time.perf_counter() - t)

    t = time.perf_counter()
    for p in files[:100]:
        make_thumbnail(p)
    serial = 100 / (time.perf_counter() - t)
    threads = rate(ThreadPoolExecutor, 2)
    procs = rate(ProcessPoolExecutor, 2)
    print(
        f"\n[bench] make_thumbnail: 1 thread {serial:.0f}/s, 2 threads {threads:.0f}/s, "
        f"2 processes {procs:.0f}/s"
    )
