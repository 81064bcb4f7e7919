"""``add-images PROJECT FOLDER...`` and ``thumbnails PROJECT``.

Both run the same job functions as the window, with a progress bar on stderr
(only on a terminal). Output: one summary line, or the report with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from lightable.store.project import Project

_MAX_LISTED = 20  # broken files listed on stderr before "... and N more"


def add_arguments(name: str, p: argparse.ArgumentParser) -> None:
    p.add_argument("project", help="project folder or database URL")
    if name == "add-images":
        p.add_argument("folders", nargs="+", metavar="FOLDER", help="folder(s) to index in place")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument("--workers", type=_positive_int, metavar="N", help="threads (default: auto)")


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def run(args: argparse.Namespace) -> int:
    project = Project.open(args.project)
    try:
        if args.command == "add-images":
            return index_folders(project, args.folders, as_json=args.json, workers=args.workers)
        return build_thumbnails(project, as_json=args.json, workers=args.workers)
    finally:
        project.close()


def index_folders(
    project: Project, folders: Sequence[str], as_json: bool, workers: int | None = None
) -> int:
    """Index ``folders`` into ``project`` and print the outcome (also used by ``init``)."""
    from lightable.jobs.cli_progress import ProgressBar
    from lightable.jobs.indexing import index_folders as run_index

    with ProgressBar("indexing") as bar:
        report = run_index(project, folders, bar.state(), workers=workers)
    if as_json:
        _print_json(report.to_dict())
        return 0
    print(f"indexed {_plural(len(folders), 'folder')}: {report.summary()}")
    _list_problems("broken", report.broken)
    _list_problems("skipped", report.skipped)
    return 0


def build_thumbnails(project: Project, as_json: bool, workers: int | None = None) -> int:
    from lightable.imaging.thumbnails import ThumbnailCache
    from lightable.jobs.cli_progress import ProgressBar
    from lightable.jobs.thumbnails import build_thumbnails as run_thumbs

    start = time.monotonic()
    with ThumbnailCache.for_project(project) as cache, ProgressBar("thumbnails") as bar:
        written = run_thumbs(project, None, bar.state(), workers=workers, cache=cache)
        cached = cache.count()
    elapsed = time.monotonic() - start
    if as_json:
        _print_json(
            {
                "written": written,
                "cached": cached,
                "elapsed": round(elapsed, 3),
                "cache": str(cache.path),
            }
        )
    else:
        rate = f" ({written / elapsed:.0f}/s)" if written and elapsed > 0 else ""
        print(
            f"{_plural(written, 'thumbnail')} made in {elapsed:.1f} s{rate}; "
            f"{cached} in the cache ({cache.path})"
        )
    return 0


def _list_problems(what: str, items: list[tuple[str, str]]) -> None:
    for path, reason in items[:_MAX_LISTED]:
        print(f"  {what}: {path}: {reason}", file=sys.stderr)
    if len(items) > _MAX_LISTED:
        print(f"  ... and {len(items) - _MAX_LISTED} more {what}", file=sys.stderr)


def _print_json(data: dict[str, Any]) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
