"""Import/export benchmarks at the scale of COCO train2017 and a 100k-file YOLO set.

Run with ``make bench`` (or ``pytest -m bench tests/bench/bench_formats.py -s``).
``LIGHTABLE_BENCH_SCALE=0.1`` runs a tenth of the size (quicker to iterate on).
Generated data is cached under ``$LIGHTABLE_BENCH_DIR`` (default: the system temp
folder) so repeated runs do not pay for generating it again.

Targets (issue 4): COCO import < 60 s with RSS < 3 GB, COCO export < 30 s,
YOLO import of 100,000 label files < 60 s. Numbers are printed, not asserted.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

SCALE = float(os.environ.get("LIGHTABLE_BENCH_SCALE", "1"))
CACHE = Path(os.environ.get("LIGHTABLE_BENCH_DIR", tempfile.gettempdir())) / "lightable-bench"
N_IMAGES = int(118_000 * SCALE)
N_ANNS = int(860_000 * SCALE)
N_YOLO = int(100_000 * SCALE)
N_CATS = 80

# A tiny valid JPEG (8x8), written for every image so that import probes real files.
_JPEG: bytes | None = None


def _jpeg() -> bytes:
    global _JPEG
    if _JPEG is None:
        import io

        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (640, 480), (90, 120, 150)).save(buf, "JPEG", quality=10)
        _JPEG = buf.getvalue()
    return _JPEG


class Clock:
    """Wall and CPU seconds of a block: on a shared machine the CPU time is the steadier figure."""

    def __enter__(self) -> Clock:
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.w0
        self.cpu = time.process_time() - self.c0

    def __str__(self) -> str:
        return f"{self.wall:.1f} s (CPU {self.cpu:.1f} s)"


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count() or 0} cores"


class PeakRSS:
    """Samples the process's resident memory every 50 ms; ``peak`` in bytes."""

    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> PeakRSS:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def make_coco(folder: Path, n_images: int, n_anns: int, with_files: bool = True) -> Path:
    """A COCO instances file shaped like train2017: ~7.3 polygons per image, ~25 points each."""
    ann_file = folder / "annotations" / "instances_train2017.json"
    if ann_file.is_file():
        return ann_file
    rng = np.random.default_rng(0)
    (folder / "annotations").mkdir(parents=True, exist_ok=True)
    img_dir = folder / "train2017"
    img_dir.mkdir(exist_ok=True)
    if with_files:
        data = _jpeg()
        for i in range(1, n_images + 1):
            (img_dir / f"{i:012d}.jpg").write_bytes(data)
    tmp = ann_file.with_suffix(".part")
    with open(tmp, "w") as fh:
        cats = [
            {"id": c + 1, "name": f"class_{c + 1}", "supercategory": "thing"} for c in range(N_CATS)
        ]
        fh.write('{"info": {"description": "generated"}, "licenses": [], "categories": ')
        fh.write(json.dumps(cats))
        images = [
            {"id": i, "file_name": f"{i:012d}.jpg", "width": 640, "height": 480}
            for i in range(1, n_images + 1)
        ]
        fh.write(', "images": ' + json.dumps(images) + ', "annotations": [')
        chunk = 20_000
        aid = 1
        for start in range(0, n_anns, chunk):
            n = min(chunk, n_anns - start)
            npts = rng.integers(8, 40, n)
            cx = rng.uniform(60, 580, n)
            cy = rng.uniform(60, 420, n)
            r = rng.uniform(5, 55, n)
            img = rng.integers(1, n_images + 1, n)
            cat = rng.integers(1, N_CATS + 1, n)
            parts = []
            for k in range(n):
                t = np.linspace(0, 2 * np.pi, int(npts[k]), endpoint=False)
                xs = np.round(cx[k] + r[k] * np.cos(t), 2)
                ys = np.round(cy[k] + r[k] * np.sin(t), 2)
                ring = np.empty(xs.size * 2)
                ring[0::2], ring[1::2] = xs, ys
                x0, y0 = float(xs.min()), float(ys.min())
                bw, bh = float(xs.max()) - x0, float(ys.max()) - y0
                parts.append(
                    {
                        "id": aid,
                        "image_id": int(img[k]),
                        "category_id": int(cat[k]),
                        "segmentation": [ring.tolist()],
                        "area": round(bw * bh * 0.78, 2),
                        "bbox": [x0, y0, round(bw, 2), round(bh, 2)],
                        "iscrowd": 0,
                    }
                )
                aid += 1
            s = json.dumps(parts)[1:-1]
            fh.write(s if start == 0 else ", " + s)
        fh.write("]}")
    os.replace(tmp, ann_file)
    return ann_file


def make_yolo(folder: Path, n: int) -> Path:
    if (folder / "data.yaml").is_file():
        return folder
    rng = np.random.default_rng(1)
    data = _jpeg()
    for split, count in (("train", n * 9 // 10), ("val", n - n * 9 // 10)):
        idir, ldir = folder / "images" / split, folder / "labels" / split
        idir.mkdir(parents=True, exist_ok=True)
        ldir.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            (idir / f"{i:07d}.jpg").write_bytes(data)
            k = int(rng.integers(1, 12))
            v = rng.uniform(0.1, 0.4, (k, 4))
            rows = "".join(
                f"{int(rng.integers(0, 80))} {a:.6f} {b:.6f} {c:.6f} {d:.6f}\n" for a, b, c, d in v
            )
            (ldir / f"{i:07d}.txt").write_text(rows)
    names = "\n".join(f"  {i}: class_{i}" for i in range(80))
    (folder / "data.yaml").write_text(
        f"path: .\ntrain: images/train\nval: images/val\nnames:\n{names}\n"
    )
    return folder


@pytest.mark.bench
def test_bench_coco_import_export(tmp_path: Path) -> None:
    from lightable.formats.coco import read
    from lightable.formats.model import Report
    from lightable.formats.project_io import ExportOptions, export_dataset, import_dataset
    from lightable.store.project import Project

    src = CACHE / f"coco-{N_IMAGES}-{N_ANNS}"
    t = time.perf_counter()
    ann = make_coco(src, N_IMAGES, N_ANNS)
    gen = time.perf_counter() - t
    size = ann.stat().st_size
    project = Project.create(tmp_path / "proj")
    report = Report()
    with PeakRSS() as rss, Clock() as total:
        with Clock() as t_read:
            ds = read(ann, report)
        with Clock() as t_write:
            summary = import_dataset(project, ds, report=report)
        del ds
    print(
        f"\nCOCO import: {N_IMAGES} images, {N_ANNS} polygons, {size / 1e6:.0f} MB "
        f"(generated in {gen:.0f} s; {_load()})\n"
        f"  read {t_read} + write {t_write} = {total} (target < 60 s); "
        f"peak RSS {rss.peak / 2**30:.2f} GiB (target < 3 GiB)"
    )
    assert summary.annotations == N_ANNS and summary.images_added == N_IMAGES
    out = tmp_path / "export"
    with PeakRSS() as rss, Clock() as t_exp:
        export_dataset(project, "coco", out, ExportOptions())
    out_file = next((out / "annotations").glob("*.json"))
    print(
        f"COCO export: {t_exp} (target < 30 s), {out_file.stat().st_size / 1e6:.0f} MB, "
        f"peak RSS {rss.peak / 2**30:.2f} GiB; {_load()}"
    )
    project.close()
    shutil.rmtree(out, ignore_errors=True)


@pytest.mark.bench
def test_bench_yolo_import(tmp_path: Path) -> None:
    from lightable.formats.model import Report
    from lightable.formats.project_io import import_dataset
    from lightable.formats.yolo import read
    from lightable.store.project import Project

    src = CACHE / f"yolo-{N_YOLO}"
    t = time.perf_counter()
    make_yolo(src, N_YOLO)
    gen = time.perf_counter() - t
    project = Project.create(tmp_path / "proj")
    report = Report()
    with PeakRSS() as rss, Clock() as total:
        with Clock() as t_read:
            ds = read(src, report)
        with Clock() as t_write:
            summary = import_dataset(project, ds, report=report)
    print(
        f"\nYOLO import: {N_YOLO} label files, {summary.annotations} boxes "
        f"(generated in {gen:.0f} s; {_load()})\n"
        f"  read {t_read} + write {t_write} = {total} (target < 60 s); "
        f"peak RSS {rss.peak / 2**30:.2f} GiB"
    )
    assert summary.images_added == N_YOLO
    project.close()
