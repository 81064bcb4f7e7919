"""The list of formats: each format module registers a ``FormatSpec`` on import.

Format modules are imported lazily (the first ``get``/``all_formats`` call),
so ``lightable --help`` and the GUI start-up pay nothing for them.

A format module ends with::

    register(FormatSpec(name="coco", title="COCO JSON", reader=read, writer=write,
                        detect=detect, extensions=(".json",), holds=frozenset({...})))

Contracts (shared by every format):

- ``reader(path, report) -> Dataset``: ``path`` is the file or folder the user
  chose. Per-item problems go to ``report.error``/``report.warning`` (naming the
  file and the line/id) and the item is skipped; ``report.error`` raises
  ``StrictError`` in strict mode. A whole input that cannot be read raises
  ``BadInputError``. ``Dataset.root`` is the absolute folder the image paths are
  relative to. Readers never touch the project.
- ``writer(dataset, out_dir, report, options)``: writes into ``out_dir`` (an
  empty temporary folder; ``export_dataset`` moves it into place when complete).
  Image paths are relative to ``dataset.root``.
- ``detect(path) -> float | (float, reason)``: 0.0 = certainly not this format,
  1.0 = certainly it. Cheap: look at names and the first bytes, never parse
  a whole huge file.
- ``plan(dataset, report, options)``: optional; adds what the writer will convert
  or drop (``report.warning``) before anything is written. Without it, objects
  whose geometry kind is not in ``holds`` are reported as dropped.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lightable.core.errors import LightableError
from lightable.core.geometry import GeometryKind
from lightable.formats.model import Dataset, ExportOptions, Report

Reader = Callable[[Path, Report], Dataset]
Writer = Callable[[Dataset, Path, Report, ExportOptions], None]
Detector = Callable[[Path], "float | tuple[float, str]"]
Planner = Callable[[Dataset, Report, ExportOptions], None]

ALL_KINDS = frozenset(GeometryKind)


@dataclass(frozen=True, slots=True)
class FormatSpec:
    name: str  # the --format value
    title: str  # shown in menus
    reader: Reader | None = None
    writer: Writer | None = None
    detect: Detector | None = None
    extensions: tuple[str, ...] = ()  # file suffixes the reader takes (empty: a folder)
    holds: frozenset[GeometryKind] = ALL_KINDS  # geometry kinds the writer keeps as they are
    plan: Planner | None = None
    aliases: tuple[str, ...] = ()  # other accepted --format values ("ultralytics", ...)
    description: str = ""
    predictions: bool = field(default=False)  # the reader may return a predictions dataset


class UnknownFormatError(LightableError):
    pass


# Our formats, then formats B's. The last four may not exist yet while they are written.
MODULES: tuple[str, ...] = (
    "lightable.formats.coco",
    "lightable.formats.yolo",
    "lightable.formats.voc",
    "lightable.formats.labelme",
    "lightable.formats.cvat",
    "lightable.formats.label_studio",
    "lightable.formats.masks_png",
    "lightable.formats.labelme_mit",
    "lightable.formats.cityscapes",
    "lightable.formats.coco_panoptic",
)
OPTIONAL_MODULES = frozenset(MODULES[3:])

_specs: dict[str, FormatSpec] = {}
_aliases: dict[str, str] = {}
_loaded = False


def register(spec: FormatSpec) -> FormatSpec:
    """Add (or replace, on module reload) a format; returns the spec."""
    _specs[spec.name] = spec
    for a in spec.aliases:
        _aliases[a] = spec.name
    return spec


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            # Only a missing format module itself is tolerated, never a broken import inside it.
            if mod in OPTIONAL_MODULES and exc.name == mod:
                continue
            raise


def get(name: str) -> FormatSpec:
    """The format called ``name`` (or one of its aliases); UnknownFormatError otherwise."""
    _load_all()
    key = name.strip().lower().replace("-", "_")
    key = _aliases.get(key, key)
    spec = _specs.get(key)
    if spec is None:
        known = ", ".join(sorted(_specs))
        raise UnknownFormatError(f"unknown format {name!r}; known formats: {known}, auto")
    return spec


def _order(spec: FormatSpec) -> int:
    fn = spec.reader or spec.writer or spec.detect
    module = getattr(fn, "__module__", "")
    return MODULES.index(module) if module in MODULES else len(MODULES)


def all_formats() -> list[FormatSpec]:
    """Every registered format: those of ``MODULES`` in that order, then any others."""
    _load_all()
    return sorted(_specs.values(), key=_order)


def readers() -> list[FormatSpec]:
    return [s for s in all_formats() if s.reader is not None]


def writers() -> list[FormatSpec]:
    return [s for s in all_formats() if s.writer is not None]
