"""``prelabel`` (and ``score``): the model in the loop from the command line.

``lightable prelabel PROJECT --model M [--weights FILE] [--device D]
[--batch-size N] [--threshold T] [--limit N] [--resume RUN] --json`` prints
``{run_id, images, predictions, images_per_s, device, ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from lightable.core.errors import LightableError


def add_arguments(name: str, p: argparse.ArgumentParser) -> None:
    p.add_argument("project", help="project folder or database URL")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    if name == "score":
        p.add_argument(
            "--run", type=int, required=True, metavar="RUN_ID", help="model run to score"
        )
        return
    p.add_argument("--model", metavar="M",
                   help="torchvision model name (e.g. fasterrcnn_resnet50_fpn_v2) or a "
                        "TorchScript/.pt2 file with its .json sidecar; 'list' lists the names")  # fmt: skip
    p.add_argument("--weights", metavar="FILE",
                   help="state-dict file (default: torch hub cache, else download); "
                        "'random' for random initialisation")  # fmt: skip
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                   help="where to run (default: CUDA, then MPS, then CPU)")  # fmt: skip
    p.add_argument("--batch-size", type=int, default=4, metavar="N")
    p.add_argument("--threshold", type=float, metavar="T",
                   help="minimum score to store (default: 0.3 for detectors, top-k for classifiers)")  # fmt: skip
    p.add_argument("--limit", type=int, metavar="N", help="at most N images")
    p.add_argument("--resume", type=int, metavar="RUN_ID", help="continue an interrupted run")
    p.add_argument("--workers", type=int, metavar="N", help="decode threads (default: cores - 1)")
    p.add_argument("--unmatched", choices=["keep", "ignore", "create"],
                   help="model classes without a project label: keep the class name, "
                        "ignore them, or create labels")  # fmt: skip
    p.add_argument("--no-score", action="store_true", help="skip the mistakenness scores")


def run(args: argparse.Namespace) -> int:
    if args.command == "score":
        return _score(args)
    if args.model == "list":
        from lightable.ml.registry import list_models

        models = list_models()
        if args.json:
            _dump({"models": models})
        else:
            for name, task in models.items():
                print(f"{name:<45} {task}")
        return 0
    if not args.model and args.resume is None:
        raise LightableError("--model is required (or --resume RUN_ID)")
    from lightable.jobs.base import JobState, Progress
    from lightable.jobs.prelabel import prelabel
    from lightable.ml.registry import ModelSpec
    from lightable.store.project import Project

    project = Project.open(args.project)
    show = sys.stderr.isatty()
    last = [0.0]

    def progress(p: Progress) -> None:
        if not show or time.monotonic() - last[0] < 0.5:
            return
        last[0] = time.monotonic()
        eta = f" ETA {p.eta:.0f}s" if p.eta is not None else ""
        total = p.total if p.total is not None else "?"
        print(f"\r{p.done}/{total} images  {p.rate:.1f} img/s{eta}  {p.message[:60]}",
              end="", file=sys.stderr, flush=True)  # fmt: skip

    spec = ModelSpec(args.model, args.weights) if args.model else None
    state = JobState(progress)
    try:
        summary = prelabel(
            project,
            spec,
            None,
            state,
            device=args.device,
            batch_size=args.batch_size,
            threshold=args.threshold,
            resume_run_id=args.resume,
            workers=args.workers,
            unmatched=args.unmatched,
            limit=args.limit,
            score=not args.no_score,
        )
    except KeyboardInterrupt:
        state.cancel()
        raise
    finally:
        if show:
            print(file=sys.stderr)
        project.close()
    d = summary.to_dict()
    if args.json:
        _dump(d)
    else:
        print(
            f"run {d['run_id']}: {d['images']} images, {d['predictions']} predictions, "
            f"{d['failed']} unreadable, {d['images_per_s']:.1f} images/s on {d['device']} "
            f"({d['status']})"
        )
    return 0


def _score(args: argparse.Namespace) -> int:
    from lightable.jobs.scoring import score_run
    from lightable.store.project import Project

    project = Project.open(args.project)
    try:
        summary = score_run(project, args.run)
    finally:
        project.close()
    d = summary.to_dict()
    if args.json:
        _dump(d)
    else:
        print(
            f"run {d['run_id']}: {d['images']} images, {d['scored']} with labels scored; {d['verdicts']}"
        )
    return 0


def _dump(d: dict[str, Any]) -> None:
    json.dump(d, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
