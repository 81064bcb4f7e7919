"""``import`` and ``export``: annotation formats in and out of a project.

Both print the report (first 20 issues and how many more) on stderr, a summary on
stdout (``--json``: the summary as JSON). A file that cannot be read at all, or
``--strict`` meeting its first error, ends with one line and exit status 2, and
nothing written.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lightable.formats.model import MediaMode, Report, StrictError

REPORT_LINES = 20


def add_arguments(name: str, p: argparse.ArgumentParser) -> None:
    p.add_argument("project", help="project folder or database URL")
    if name == "import":
        p.add_argument("path", help="annotation file or folder")
        p.add_argument(
            "--format",
            "-f",
            default="auto",
            help="coco, yolo, voc, labelme, cvat, label_studio, ... or auto (default)",
        )
        p.add_argument(
            "--strict", action="store_true", help="stop at the first error with nothing written"
        )
        p.add_argument(
            "--dry-run",
            action="store_true",
            help="preview: count what would be added, write nothing",
        )
        p.add_argument(
            "--gt",
            "--categories",
            dest="gt",
            metavar="FILE",
            help="COCO results: the ground-truth COCO file naming images and categories",
        )
        p.add_argument("--run-name", help="name of the model run for imported predictions")
    else:
        p.add_argument("out", help="output folder (must not exist or be empty)")
        p.add_argument("--format", "-f", required=True, help="coco, yolo, voc, labelme, cvat, ...")
        p.add_argument(
            "--split",
            action="append",
            dest="splits",
            metavar="S",
            help="only images of this split (repeatable; '' = images without one)",
        )
        p.add_argument(
            "--label",
            action="append",
            dest="labels",
            metavar="L",
            help="only this label (repeatable)",
        )
        p.add_argument(
            "--run",
            type=int,
            dest="run_id",
            metavar="RUN_ID",
            help="export this model run's predictions instead of the annotations",
        )
        p.add_argument(
            "--threshold", type=float, default=0.0, help="with --run: minimum score (default 0)"
        )
        p.add_argument(
            "--media",
            choices=[m.value for m in MediaMode],
            default="none",
            help="copy or link the image files too (default: annotations only)",
        )
        p.add_argument("--no-empty", action="store_true", help="leave out images with no objects")
        p.add_argument(
            "--single-file",
            action="store_true",
            help="one annotation file instead of one per split (COCO)",
        )
        p.add_argument("--overwrite", action="store_true", help="replace a non-empty OUT")
    p.add_argument(
        "--option",
        "-o",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="format-specific option (repeatable), e.g. labels=labels_pose for YOLO",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")  # fmt: skip


def _options(pairs: list[str]) -> dict[str, Any]:
    from lightable.core.errors import LightableError

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise LightableError(f"--option {pair!r}: expected KEY=VALUE")
        out[key.strip()] = _typed(raw.strip())
    return out


def _typed(raw: str) -> Any:
    if raw.lower() in ("true", "yes"):
        return True
    if raw.lower() in ("false", "no"):
        return False
    for conv in (int, float):
        try:
            return conv(raw)
        except ValueError:
            pass
    return raw


def _print_report(report: Report) -> None:
    for line in report.summary_lines(REPORT_LINES):
        print(line, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from lightable.store.project import Project

    project = Project.open(args.project)
    try:
        if args.command == "import":
            return _import(project, args)
        return _export(project, args)
    finally:
        project.close()


def _import(project: Any, args: argparse.Namespace) -> int:
    from lightable.formats.project_io import import_dataset, read_dataset

    options = _options(args.option)
    if args.gt:
        options["gt"] = args.gt
    report = Report(strict=args.strict)
    try:
        ds = read_dataset(args.path, args.format, report, options)
        summary = import_dataset(
            project,
            ds,
            strict=args.strict,
            report=report,
            dry_run=args.dry_run,
            run_name=args.run_name,
        )
    except StrictError as exc:
        report.issues = [i for i in report.issues if i is not exc.issue]
        if report.errors or report.warnings:
            _print_report(report)
        print(
            f"lightable import: {exc.issue} (--strict: stopped at the first error, "
            "nothing was written)",
            file=sys.stderr,
        )
        return 2
    _print_report(report)
    if args.json:
        json.dump(summary.to_dict(), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print("\n".join(summary.lines()))
    return 0


def _export(project: Any, args: argparse.Namespace) -> int:
    from lightable.formats.project_io import ExportOptions, export_dataset

    splits = None if args.splits is None else list(args.splits)
    options = ExportOptions(
        labels=args.labels,
        splits=splits,
        run_id=args.run_id,
        threshold=args.threshold,
        include_empty=not args.no_empty,
        media=MediaMode(args.media),
        split_files=not args.single_file,
        overwrite=args.overwrite,
        extra=_options(args.option),
    )
    report = export_dataset(project, args.format, args.out, options)
    _print_report(report)
    out = {"format": args.format, "out": args.out, **report.stats, "report": report.to_dict()}
    if args.json:
        json.dump(out, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        st = report.stats
        print(
            f"exported {st.get('images', 0)} images, {st.get('objects', 0)} objects, "
            f"{st.get('labels', 0)} labels as {args.format} to {args.out}"
        )
    return 0
