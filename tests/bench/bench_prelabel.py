"""Benchmark: pre-label throughput versus a bare torchvision loop, and memory over a run.

Same model instance (random weights: nothing to download), same images, same
device, same batch size, in one process. The headline ratio comes from
interleaved passes: the two alternate every 4 batches over the same images
(Lightable resuming one run), so that load from other processes on a shared
machine hits both alike. Whole runs in ABBA order (reference, Lightable,
Lightable, reference, ...) are reported too, with RSS sampled during them. Lightable's run includes everything the bare loop skips: the database (a model run, one transaction per batch, an
``image_scores`` row per image), postprocessing into predictions, and progress.
Target: >= 0.9x the bare loop. RSS is sampled during the Lightable runs; it
must stay flat (nothing accumulates per image).

    make bench                                    # CPU, 160 small images
    python tests/bench/bench_prelabel.py --device cuda --images 2000
    python tests/bench/bench_prelabel.py --loader processes --workers 2

Prints GPU utilisation (nvidia-smi, sampled twice a second) when available.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "app") not in sys.path:  # standalone: python tests/bench/bench_prelabel.py
    sys.path.insert(0, str(ROOT / "app"))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bench.reference_torchvision_loop import run_reference  # noqa: E402


class Sampler:
    """Samples this process's RSS (and GPU utilisation when nvidia-smi exists)."""

    def __init__(self, interval: float = 0.2) -> None:
        import psutil

        self.proc = psutil.Process()
        self.interval = interval
        self.rss: list[tuple[float, int]] = []
        self.gpu: list[float] = []
        self._stop = threading.Event()
        self._smi = shutil.which("nvidia-smi")
        self._t = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Sampler:
        self._t0 = time.perf_counter()
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()

    def _loop(self) -> None:
        last_gpu = 0.0
        while not self._stop.wait(self.interval):
            self.rss.append((time.perf_counter() - self._t0, self.proc.memory_info().rss))
            if self._smi and time.perf_counter() - last_gpu >= 0.5:
                last_gpu = time.perf_counter()
                try:
                    out = subprocess.run(
                        [self._smi, "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                        capture_output=True, text=True, timeout=2,
                    )  # fmt: skip
                    self.gpu.append(float(out.stdout.split()[0]))
                except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
                    pass

    def rss_growth_mb(self) -> tuple[float, float, float]:
        """(RSS at 20% of the run, at the end, growth between them) in MB."""
        if len(self.rss) < 5:
            return (0.0, 0.0, 0.0)
        a = self.rss[len(self.rss) // 5][1] / 2**20
        b = statistics.median(r for _, r in self.rss[-3:]) / 2**20
        return (round(a, 1), round(b, 1), round(b - a, 1))


def make_images(folder: Path, n: int, size: tuple[int, int], distinct: int = 40) -> list[Path]:
    """``n`` JPEGs (``distinct`` different ones, copied) with a few shapes on noise."""
    import numpy as np
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    src = []
    for i in range(min(distinct, n)):
        a = (rng.random((size[1], size[0], 3)) * 80 + 60).astype(np.uint8)
        im = Image.fromarray(a)
        d = ImageDraw.Draw(im)
        for _ in range(4):
            x, y = rng.integers(0, size[0] - 40), rng.integers(0, size[1] - 40)
            d.rectangle([x, y, x + rng.integers(20, 80), y + rng.integers(20, 80)],
                        fill=tuple(int(v) for v in rng.integers(0, 255, 3)))  # fmt: skip
        p = folder / f"src_{i}.jpg"
        im.save(p, quality=90)
        src.append(p)
    out = []
    for i in range(n):
        p = folder / f"{i:05d}.jpg"
        if not p.exists():
            shutil.copyfile(src[i % len(src)], p)
        out.append(p)
    for p in src:
        p.unlink()
    return out


def run_interleaved(
    model: Any,
    model_name: str,
    paths: list[Path],
    project_dir: Path,
    size: tuple[int, int],
    batch_size: int,
    loader: str,
    workers: int | None,
    chunk_batches: int = 4,
) -> dict[str, float]:
    """Reference and Lightable alternate every ``chunk_batches`` batches over the same
    images (Lightable resuming one run), so both see the same load from other
    processes; returns each side's images/s over its own summed time."""
    from lightable.core.model import Image as ImageRow
    from lightable.jobs.prelabel import prelabel
    from lightable.store.project import Project

    detection = model.task.detection_like
    t_ref = t_ours = 0.0
    run_id = None
    chunk = chunk_batches * batch_size
    with Project.create(project_dir) as project:
        rid = project.add_root(paths[0].parent)
        project.images.insert_many(
            [ImageRow(path=p.name, root_id=rid, width=size[0], height=size[1]) for p in paths]
        )
        ids = project.images.ordered_ids()
        for k in range(0, len(paths), chunk):
            t0 = time.perf_counter()
            run_reference(model.module, paths[k : k + chunk], batch_size, model.device, detection)
            t1 = time.perf_counter()
            summary = prelabel(project, model_name, ids[k : k + chunk], batch_size=batch_size,
                               threshold=0.0, resume_run_id=run_id, model=model, loader=loader,
                               workers=workers, score=False)  # fmt: skip
            t2 = time.perf_counter()
            run_id = summary.run_id
            t_ref += t1 - t0
            t_ours += t2 - t1
    return {
        "reference_images_per_s": round(len(paths) / t_ref, 3),
        "lightable_images_per_s": round(len(paths) / t_ours, 3),
        "ratio": round(t_ref / t_ours, 3),
    }


def run_bench(
    images: int = 300,
    device: str = "cpu",
    model_name: str = "ssdlite320_mobilenet_v3_large",
    batch_size: int = 8,
    size: tuple[int, int] = (320, 240),
    loader: str = "threads",
    workers: int | None = None,
    rounds: int = 2,
    folder: Path | None = None,
    threads: int | None = None,
    interleaved_passes: int = 2,
) -> dict[str, Any]:
    import torch

    if threads:
        torch.set_num_threads(threads)
    from lightable.core.model import Image as ImageRow
    from lightable.jobs.prelabel import prelabel
    from lightable.ml.devices import choose_device, describe_device
    from lightable.ml.registry import ModelSpec, load_model
    from lightable.ml.tasks import Task
    from lightable.store.project import Project

    tmp = Path(tempfile.mkdtemp(prefix="lightable-bench-prelabel-"))
    try:
        paths = make_images(folder or tmp / "img", images, size)
        dev = choose_device(device)
        torch.manual_seed(0)
        # Detections per image as a pretrained model would give at a usual threshold.
        from lightable.ml.torchvision_models import torchvision_task

        opts: dict[str, Any] = {}
        if torchvision_task(model_name) == Task.DETECTION:
            opts = (
                {"detections_per_img": 20}
                if "ssd" in model_name
                else {"box_detections_per_img": 20}
            )
        model = load_model(ModelSpec(model_name, "random", opts), dev)
        detection = model.task.detection_like
        # Warm-up: first calls allocate and pick kernels.
        run_reference(model.module, paths[: 2 * batch_size], batch_size, dev, detection)
        ref, ours, samplers = [], [], []

        def reference() -> None:
            ref.append(run_reference(model.module, paths, batch_size, dev, detection))

        for r in range(rounds):
            # ABBA order (ref, ours, ours, ref, ...): a load trend from other
            # processes hits both sides alike.
            if r % 2 == 0:
                reference()
            with Project.create(tmp / f"proj{r}") as project:
                rid = project.add_root(paths[0].parent)
                project.images.insert_many(
                    [
                        ImageRow(path=p.name, root_id=rid, width=size[0], height=size[1])
                        for p in paths
                    ]
                )
                with Sampler() as s:
                    summary = prelabel(project, model_name, batch_size=batch_size, threshold=0.0,
                                       model=model, loader=loader, workers=workers, score=False)  # fmt: skip
                samplers.append(s)
                ours.append(summary)
            if r % 2 == 1:
                reference()
        inter = [
            run_interleaved(
                model, model_name, paths, tmp / f"inter{k}", size, batch_size, loader, workers
            )
            for k in range(interleaved_passes)
        ]
        best_ref = max(x["images_per_s"] for x in ref)
        best = max(ours, key=lambda s: s.images_per_s)
        s = samplers[ours.index(best)]
        rss20, rss_end, growth = s.rss_growth_mb()
        result = {
            "device": str(describe_device(dev)),
            "model": model_name,
            "images": images,
            "image_size": f"{size[0]}x{size[1]}",
            "batch_size": batch_size,
            "loader": loader,
            "workers": workers,
            "torch_threads": torch.get_num_threads(),
            "reference_images_per_s": [x["images_per_s"] for x in ref],
            "lightable_images_per_s": [o.images_per_s for o in ours],
            "ratio_best": round(best.images_per_s / best_ref, 3),
            "interleaved": inter,
            "ratio_interleaved": (
                round(statistics.median(x["ratio"] for x in inter), 3) if inter else None
            ),
            "ratio_mean": round(
                statistics.mean(o.images_per_s for o in ours)
                / statistics.mean(x["images_per_s"] for x in ref),
                3,
            ),
            "predictions_per_run": best.predictions,
            "timings": best.timings,
            "rss_mb_at_20pct": rss20,
            "rss_mb_at_end": rss_end,
            "rss_growth_mb": growth,
        }
        if s.gpu:
            result["gpu_util_mean_pct"] = round(statistics.mean(s.gpu), 1)
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.bench
@pytest.mark.timeout(1800)
def test_prelabel_vs_bare_torchvision_cpu() -> None:
    r = run_bench(images=160, device="cpu", rounds=1)
    print("\n[bench] prelabel vs bare torchvision loop:", json.dumps(r, indent=2))


@pytest.mark.bench
@pytest.mark.timeout(1800)
def test_prelabel_memory_flat_long_run() -> None:
    """More images at a tiny size: RSS must not grow with the number of images."""
    r = run_bench(images=1500, device="cpu", model_name="resnet18", size=(96, 72), rounds=1,
                  batch_size=16, interleaved_passes=0)  # fmt: skip
    print("\n[bench] long run memory:", json.dumps({k: r[k] for k in (
        "images", "lightable_images_per_s", "rss_mb_at_20pct", "rss_mb_at_end", "rss_growth_mb")}))  # fmt: skip
    assert r["rss_growth_mb"] < 50


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--model", default="ssdlite320_mobilenet_v3_large")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--size", default="320x240", help="WxH of the generated JPEGs")
    ap.add_argument("--loader", default="threads", choices=["threads", "processes"])
    ap.add_argument("--workers", type=int)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    ap.add_argument("--interleaved", type=int, default=2, help="interleaved passes")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    os.environ.setdefault("LIGHTABLE_OFFLINE", "1")
    r = run_bench(args.images, args.device, args.model, args.batch_size, (w, h), args.loader,
                  args.workers, args.rounds, threads=args.threads,
                  interleaved_passes=args.interleaved)  # fmt: skip
    print(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
