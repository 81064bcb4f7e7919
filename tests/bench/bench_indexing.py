"""Benchmark: ``add-images`` on 100,000 JPEGs (1280x960), then a re-scan.

Targets (issue 2): first index < 60 s, re-scan with nothing changed < 10 s,
header probe < 0.3 ms per JPEG. Run with ``make bench`` (or
``pytest -m bench tests/bench/bench_indexing.py -s``). The files are written to
a temporary folder outside the repository (about 8-10 GB: 50 distinct JPEGs
copied) and deleted afterwards. ``LIGHTABLE_BENCH_IMAGES`` sets the count.

The page cache is warm (the files were just written); a cold disk adds its
read latency to the first index only (a re-scan reads no file contents).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.imaging.image_factory import photo_like

N_IMAGES = int(os.environ.get("LIGHTABLE_BENCH_IMAGES", "100000"))
PER_FOLDER = 1000
DISTINCT = 50
LIGHTABLE = Path(sys.executable).parent / "lightable"

# Writing 100k files takes a few minutes; the suite's 300 s default is for tests.
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def dataset() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="lightable-bench-index-", dir="/tmp"))
    try:
        t = time.perf_counter()
        src = root / "_sources"
        src.mkdir()
        sources = []
        for i in range(DISTINCT):
            p = src / f"{i}.jpg"
            Image.fromarray(photo_like(1280, 960, seed=i, noise=1.5)).save(p, quality=85)
            sources.append(p)
        data = root / "data"
        for i in range(N_IMAGES):
            folder = data / f"batch_{i // PER_FOLDER:04d}"
            if i % PER_FOLDER == 0:
                folder.mkdir(parents=True)
            shutil.copyfile(sources[i % DISTINCT], folder / f"img_{i:06d}.jpg")
        size = sum(p.stat().st_size for p in sources) / len(sources)
        print(
            f"\n[bench] wrote {N_IMAGES} JPEGs 1280x960 (mean {size / 1024:.0f} KB) "
            f"in {time.perf_counter() - t:.1f} s under {data}"
        )
        yield data
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _cli(*args: str) -> tuple[float, dict[str, object]]:
    t = time.perf_counter()
    run = subprocess.run([str(LIGHTABLE), *args], capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - t
    return elapsed, json.loads(run.stdout) if run.stdout.strip().startswith("{") else {}


@pytest.mark.bench
def test_probe_speed(dataset: Path) -> None:
    from lightable.imaging.probe import probe_image

    files = sorted((dataset / "batch_0000").iterdir())[:500]
    rounds = []
    for _ in range(5):
        t = time.perf_counter()
        for p in files:
            probe_image(p)
        rounds.append((time.perf_counter() - t) / len(files) * 1000)
    print(
        f"\n[bench] probe_image: median {statistics.median(rounds):.3f} ms per JPEG (target < 0.3)"
    )


@pytest.mark.bench
def test_add_images_100k(dataset: Path, tmp_path: Path) -> None:
    assert LIGHTABLE.exists(), "install the package (make setup) to get the lightable script"
    proj = tmp_path / "proj"
    subprocess.run([str(LIGHTABLE), "init", str(proj)], check=True, capture_output=True)
    first, report = _cli("add-images", str(proj), str(dataset), "--json")
    assert report["added"] == N_IMAGES
    print(
        f"\n[bench] add-images {N_IMAGES} files: {first:.1f} s wall "
        f"(job {report['elapsed']:.1f} s, {N_IMAGES / first:.0f} files/s; target < 60 s)"
    )
    rescans = []
    for _ in range(3):
        wall, r = _cli("add-images", str(proj), str(dataset), "--json")
        assert r["unchanged"] == N_IMAGES and r["added"] == 0
        rescans.append(wall)
    print(
        f"[bench] re-scan, nothing changed: median {statistics.median(rescans):.2f} s wall "
        f"(runs {', '.join(f'{x:.2f}' for x in rescans)}; target < 10 s)"
    )
