"""``init``, ``info``, ``stats`` and ``escalations``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lightable.store.project import Project


def add_arguments(name: str, p: argparse.ArgumentParser) -> None:
    p.add_argument("project", help="project folder or database URL")
    if name == "init":
        p.add_argument(
            "--images",
            metavar="FOLDER",
            action="append",
            default=[],
            help="index this folder right away (repeatable)",
        )
        p.add_argument("--name", help="project name (default: the folder name)")
    else:
        p.add_argument("--json", action="store_true", help="machine-readable output")
    if name == "escalations":
        p.add_argument("--status", choices=["open", "answered", "resolved"])


def run(args: argparse.Namespace) -> int:
    if args.command == "init":
        project = Project.create(args.project, name=args.name)
        print(f"created project {project.name!r} at {project.folder or project.url}")
        if args.images:
            from lightable.cli.add_images import index_folders

            return index_folders(project, args.images, as_json=False)
        return 0
    project = Project.open(args.project)
    if args.command == "info":
        return _emit(project.info(), args.json, _print_info)
    if args.command == "stats":
        from lightable.store.stats import project_stats

        return _emit(project_stats(project), args.json, None)
    if args.command == "escalations":
        from lightable.store.escalations import EscalationRepo

        rows = EscalationRepo(project).list(status=args.status)
        return _emit({"escalations": rows}, args.json, None)
    return 1


def _emit(data: dict[str, Any], as_json: bool, pretty: Any) -> int:
    if as_json or pretty is None:
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        pretty(data)
    return 0


def _print_info(d: dict[str, Any]) -> None:
    im, an = d["images"], d["annotations"]
    print(f"project      {d['name']}  ({d['url']})")
    print(f"images       {im['total']}  (broken {im['broken']}, missing {im['missing']})")
    for k, v in im["by_status"].items():
        print(f"  {k:<12} {v}")
    print(f"annotations  {an['total']}")
    for k, v in an["by_kind"].items():
        print(f"  {k:<12} {v}")
    print(f"labels       {d['labels']}")
    print(f"escalations  {d['escalations']['total']}")
