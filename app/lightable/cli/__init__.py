"""Command line. ``lightable --help`` imports neither Qt nor torch.

Each subcommand lives in its own module and is imported only when it runs.
The contract (names, flags, ``--json`` output) is in DESIGN.md and the README.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from lightable import __version__
from lightable.core.errors import LightableError

# name -> (module, help). Each module has ``add_arguments(parser)`` and ``run(args) -> int``.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("lightable.cli.project_cmds", "create a project (SQLite by default)"),
    "add-images": ("lightable.cli.add_images", "index images in place"),
    "info": ("lightable.cli.project_cmds", "counts: images, annotations by kind, labels"),
    "stats": ("lightable.cli.project_cmds", "label distribution and the dashboard numbers"),
    "demo": ("lightable.cli.demo", "build the offline demo project in DIR"),
    "import": ("lightable.cli.io_cmds", "import annotations (coco, yolo, voc, labelme, cvat, ...)"),
    "export": ("lightable.cli.io_cmds", "export annotations"),
    "prelabel": ("lightable.cli.ml_cmds", "pre-label images with a model"),
    "score": ("lightable.cli.ml_cmds", "data-engine scores of a model run (model versus labels)"),
    "escalations": ("lightable.cli.project_cmds", "list escalations"),
    "thumbnails": ("lightable.cli.add_images", "build the thumbnail cache"),
}


def _load(module: str) -> object:
    import importlib

    return importlib.import_module(module)


def build_parser(with_commands: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lightable",
        description="Lightable: a desktop annotation IDE for computer-vision data sets. "
        "With no command, opens the window on PROJECT (or the last project, or the demo).",
    )
    parser.add_argument("--version", action="version", version=f"lightable {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_, description=help_)
        if with_commands is not None and name in with_commands:
            mod = _load(module)
            getattr(mod, "add_arguments")(name, sp)  # noqa: B009
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    if command is not None and command not in COMMANDS:
        # `lightable PROJECT` opens the window on PROJECT.
        return _gui(argv)
    if command is None and not any(a in ("-h", "--help", "--version") for a in argv):
        return _gui(argv)
    parser = build_parser([command] if command else [])
    args = parser.parse_args(argv)
    module = _load(COMMANDS[args.command][0])
    run: Callable[[argparse.Namespace], int] = getattr(module, "run")  # noqa: B009
    try:
        return int(run(args) or 0)
    except LightableError as exc:
        print(f"lightable {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lightable {args.command}: interrupted", file=sys.stderr)
        return 130


def _gui(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lightable")
    parser.add_argument("project", nargs="?", help="project folder or database URL")
    args = parser.parse_args(argv)
    try:
        from lightable.ui.app import run_app
    except ImportError as exc:  # pragma: no cover - missing Qt libraries
        print(f"lightable: cannot start the window: {exc}", file=sys.stderr)
        return 2
    return run_app(args.project)
