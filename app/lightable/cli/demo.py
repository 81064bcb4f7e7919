"""``lightable demo DIR [--no-gui]``: build the offline demo project."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lightable.core.errors import ProjectError
from lightable.store.project import PROJECT_DB


def add_arguments(name: str, p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="folder to create the demo project in")
    p.add_argument("--no-gui", action="store_true", help="build it and exit")
    p.add_argument("--images", type=int, default=240, help="number of images (default 240)")


def run(args: argparse.Namespace) -> int:
    from lightable.jobs.demo import build_demo

    folder = Path(args.dir)
    if (folder / PROJECT_DB).exists():
        print(f"demo project already exists in {folder}", file=sys.stderr)
    else:
        if folder.exists() and any(folder.iterdir()):
            raise ProjectError(f"{folder}: folder is not empty; choose a new folder for the demo")
        project = build_demo(folder, n_images=max(1, args.images))
        info = project.info()
        project.close()
        print(
            f"built demo project in {folder}: {info['images']['total']} images, "
            f"{info['annotations']['total']} annotations, {info['labels']} labels"
        )
    if args.no_gui:
        return 0
    from lightable.cli import _gui

    return _gui([str(folder)])
