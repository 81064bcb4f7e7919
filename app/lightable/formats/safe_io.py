"""Reading outside annotation files as hostile input.

Every format reader loads files through these helpers so that the same rules
hold everywhere:

- sizes are checked before anything is read (``MAX_*_BYTES``; tests and the
  bench may lower or raise them through :func:`limits`);
- JSON refuses ``NaN``/``Infinity`` (not JSON, but Python's parser accepts them)
  and reports the line and column of a syntax error;
- XML refuses any ``<!DOCTYPE``/``<!ENTITY`` (no external entities, no entity
  expansion bombs) without needing defusedxml;
- YAML is loaded with the safe loader and refuses aliases (the YAML bomb);
- paths written inside annotation files must stay under the import root;
- numbers must be finite.

Everything raises :class:`lightable.core.errors.BadInputError` naming the file
(and the place in it); readers either let that abort the import (a whole file
unreadable) or turn it into a report entry and skip the item.

The API is shared with every format module: keep it stable.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from lightable.core.errors import BadInputError

__all__ = [
    "IMAGE_EXTENSIONS",
    "Limits",
    "as_float",
    "as_int",
    "check_size",
    "current_limits",
    "finite",
    "finite_list",
    "limits",
    "load_json",
    "load_json_bytes",
    "load_xml",
    "load_xml_bytes",
    "load_yaml",
    "read_bytes",
    "read_lines",
    "read_text",
    "safe_path",
    "safe_relpath",
    "walk_files",
]

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".jfif", ".pgm", ".ppm"}
)


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds on what one import reads. Generous for real data, finite for attacks."""

    json_bytes: int = 4 << 30  # COCO train2017 instances is ~450 MB; panoptic/LVIS bigger
    xml_bytes: int = 512 << 20  # a CVAT task export of a long video
    yaml_bytes: int = 4 << 20  # data.yaml is a few lines
    text_bytes: int = 256 << 20  # a YOLO label file, a list file, obj.names
    image_bytes: int = 2 << 30  # an embedded image (labelme imageData) once decoded
    files: int = 5_000_000  # files walked under one root


_limits = Limits()


def current_limits() -> Limits:
    return _limits


@contextlib.contextmanager
def limits(**changes: int) -> Iterator[Limits]:
    """Temporarily change limits, e.g. ``with limits(json_bytes=1000): ...`` in a test."""
    global _limits
    old = _limits
    _limits = replace(old, **changes)
    try:
        yield _limits
    finally:
        _limits = old


# -- sizes and raw reads ---------------------------------------------------------------


def check_size(path: str | os.PathLike[str], max_bytes: int, what: str = "file") -> int:
    """The size of ``path``; BadInputError if missing, not a file or bigger than ``max_bytes``."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise BadInputError(p, f"{what} not found") from None
    except OSError as exc:
        raise BadInputError(p, f"cannot read {what}: {exc.strerror or exc}") from None
    if not p.is_file():
        raise BadInputError(p, f"{what} is not a regular file")
    if st.st_size > max_bytes:
        raise BadInputError(
            p, f"{what} is {_mib(st.st_size)}, over the {_mib(max_bytes)} limit for this format"
        )
    return st.st_size


def read_bytes(path: str | os.PathLike[str], max_bytes: int | None = None) -> bytes:
    limit = _limits.text_bytes if max_bytes is None else max_bytes
    check_size(path, limit)
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)  # a file that grew after stat() is still bounded
    except OSError as exc:
        raise BadInputError(path, f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise BadInputError(path, f"file is over the {_mib(limit)} limit for this format")
    return data


def decode_text(data: bytes, path: str | os.PathLike[str]) -> str:
    """UTF-8 (a BOM is dropped; UTF-16 with a BOM is accepted); names the byte on failure."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise BadInputError(path, f"not valid UTF-16 text ({exc.reason})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BadInputError(path, f"not UTF-8 text (byte {exc.start})", f"line {line}") from None


def read_text(path: str | os.PathLike[str], max_bytes: int | None = None) -> str:
    return decode_text(read_bytes(path, max_bytes), path)


def read_lines(path: str | os.PathLike[str], max_bytes: int | None = None) -> list[str]:
    """Lines without line endings (LF, CRLF or CR), trailing blanks stripped."""
    return [ln.rstrip() for ln in read_text(path, max_bytes).splitlines()]


# -- JSON ----------------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json(
    path: str | os.PathLike[str], max_bytes: int | None = None, allow_nan: bool = False
) -> Any:
    """Parse a JSON file. ``allow_nan``: read ``NaN``/``Infinity`` as floats so that the
    reader can report the annotation that holds them (they are still not finite)."""
    limit = _limits.json_bytes if max_bytes is None else max_bytes
    return load_json_bytes(read_bytes(path, limit), path, allow_nan)


def load_json_bytes(
    data: bytes | str, path: str | os.PathLike[str], allow_nan: bool = False
) -> Any:
    """Parse JSON text; errors name the file, line and column."""
    if isinstance(data, bytes) and not data.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        text: str | bytes = data  # json.loads decodes UTF-8 bytes itself, without a copy
        if not data.strip():
            raise BadInputError(path, "empty file where JSON was expected")
    else:
        text = decode_text(data, path) if isinstance(data, bytes) else data
        if not text.strip():
            raise BadInputError(path, "empty file where JSON was expected")
    try:
        if allow_nan:
            return json.loads(text)
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise BadInputError(
            path, f"malformed JSON: {exc.msg}", f"line {exc.lineno} column {exc.colno}"
        ) from None
    except UnicodeDecodeError as exc:
        raise BadInputError(path, f"not UTF-8 text (byte {exc.start})") from None
    except ValueError as exc:  # NaN / Infinity
        raise BadInputError(path, f"malformed JSON: {exc}") from None
    except RecursionError:
        raise BadInputError(path, "malformed JSON: nested too deeply") from None


# -- XML -----------------------------------------------------------------------------------

_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class _NoDoctypeBuilder(ET.TreeBuilder):
    """TreeBuilder whose ``doctype`` hook refuses the document (called by expat)."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise _DoctypeRefused(name)


class _DoctypeRefused(Exception):
    pass


def load_xml(path: str | os.PathLike[str], max_bytes: int | None = None) -> ET.Element:
    limit = _limits.xml_bytes if max_bytes is None else max_bytes
    return load_xml_bytes(read_bytes(path, limit), path)


def load_xml_bytes(data: bytes, path: str | os.PathLike[str]) -> ET.Element:
    """Parse XML, refusing DTDs and entities; errors name the line and column."""
    probe = data
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # A UTF-16 document would hide "<!DOCTYPE" from a byte scan.
        probe = decode_text(data, path).encode("utf-8")
    if _DTD.search(probe):
        raise BadInputError(
            path, "XML with a DOCTYPE or ENTITY declaration is refused (external entities)"
        )
    if not data.strip():
        raise BadInputError(path, "empty file where XML was expected")
    parser = ET.XMLParser(target=_NoDoctypeBuilder())
    try:
        parser.feed(data)
        return parser.close()
    except _DoctypeRefused:
        raise BadInputError(path, "XML with a DOCTYPE declaration is refused") from None
    except ET.ParseError as exc:
        line, col = getattr(exc, "position", (0, 0))
        msg = str(exc).split(":")[0]
        raise BadInputError(path, f"malformed XML: {msg}", f"line {line} column {col}") from None
    except RecursionError:
        raise BadInputError(path, "malformed XML: nested too deeply") from None


# -- YAML ----------------------------------------------------------------------------------


def load_yaml(path: str | os.PathLike[str], max_bytes: int | None = None) -> Any:
    """Safe YAML (plain data only, no aliases); errors name line and column."""
    import yaml

    limit = _limits.yaml_bytes if max_bytes is None else max_bytes
    text = read_text(path, limit)

    class _Loader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.events.AliasEvent):
                ev = self.peek_event()
                raise yaml.MarkedYAMLError(
                    "while composing", None, "YAML aliases are refused", ev.start_mark
                )
            return super().compose_node(parent, index)

    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else None
        problem = exc.problem or exc.context or "syntax error"
        raise BadInputError(path, f"malformed YAML: {problem}", where) from None
    except yaml.YAMLError as exc:
        raise BadInputError(path, f"malformed YAML: {exc}") from None
    except RecursionError:
        raise BadInputError(path, "malformed YAML: nested too deeply") from None


# -- paths ---------------------------------------------------------------------------------

_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def safe_relpath(rel: str, file: str | os.PathLike[str], where: str | None = None) -> str:
    """A path from inside an annotation file as a clean relative POSIX path.

    Backslashes (files written on Windows) become slashes and ``./`` is dropped.
    Absolute paths, drive letters, URLs, NUL bytes and anything that climbs out
    of the root with ``..`` raise BadInputError naming ``file`` and ``where``.
    """
    if not isinstance(rel, str) or not rel.strip():
        raise BadInputError(file, "empty file name", where)
    if "\x00" in rel:
        raise BadInputError(file, f"file name {rel!r} contains a NUL byte", where)
    if _URL.match(rel):
        raise BadInputError(file, f"file name {rel!r} is a URL, not a path under the root", where)
    s = rel.replace("\\", "/")
    if s.startswith("/") or _DRIVE.match(rel):
        raise BadInputError(
            file, f"absolute path {rel!r} where a relative path was expected", where
        )
    parts: list[str] = []
    for part in PurePosixPath(s).parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise BadInputError(file, f"file name {rel!r} escapes the import root", where)
            parts.pop()
            continue
        parts.append(part)
    if not parts:
        raise BadInputError(file, f"file name {rel!r} names no file", where)
    return "/".join(parts)


def safe_path(
    root: str | os.PathLike[str],
    rel: str,
    file: str | os.PathLike[str],
    where: str | None = None,
) -> Path:
    """``root / rel`` after :func:`safe_relpath`; never outside ``root`` (lexically)."""
    return Path(root) / safe_relpath(rel, file, where)


def walk_files(
    root: str | os.PathLike[str],
    suffixes: Iterable[str] | None = None,
    max_files: int | None = None,
) -> list[str]:
    """Relative POSIX paths of files under ``root`` (sorted), optionally by suffix.

    Does not follow directory symlinks (no loops, no escapes); hidden folders
    (``.git``, ``.cache``) are skipped. Stops with BadInputError past ``max_files``.
    """
    root_s = os.fspath(root)
    wanted = {s.lower() for s in suffixes} if suffixes is not None else None
    limit = _limits.files if max_files is None else max_files
    out: list[str] = []
    seen = 0
    for dirpath, dirnames, filenames in os.walk(root_s, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel_dir = os.path.relpath(dirpath, root_s)
        for name in filenames:
            seen += 1
            if seen > limit:
                raise BadInputError(root_s, f"more than {limit} files under this folder")
            if wanted is not None and os.path.splitext(name)[1].lower() not in wanted:
                continue
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            out.append(rel.replace(os.sep, "/"))
    out.sort()
    return out


# -- numbers -------------------------------------------------------------------------------


def finite(
    value: Any, file: str | os.PathLike[str], where: str | None = None, what: str = "value"
) -> float:
    """``value`` as a finite float; BadInputError for NaN, infinities, booleans and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadInputError(file, f"{what} {value!r} is not a number", where)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise BadInputError(file, f"{what} {value!r} is not a number", where) from None
    if not math.isfinite(v):
        raise BadInputError(file, f"{what} {value!r} is not a finite number", where)
    return v


def finite_list(
    values: Any,
    file: str | os.PathLike[str],
    where: str | None = None,
    what: str = "coordinates",
    length: int | None = None,
) -> list[float]:
    """A list of finite numbers (optionally of exactly ``length`` items); ints are kept."""
    if not isinstance(values, list | tuple):
        raise BadInputError(file, f"{what} must be a list of numbers, got {_kind(values)}", where)
    if length is not None and len(values) != length:
        raise BadInputError(file, f"{what} must have {length} numbers, got {len(values)}", where)
    # Fast path for million-annotation files: a sum is finite only if every term is (NaN
    # and infinities propagate); strings/None raise TypeError and take the slow path.
    try:
        total = sum(values)
        if math.isfinite(total):
            # ints stay ints (a bool would count as 0/1: harmless, and checking costs a loop)
            return values if isinstance(values, list) else list(values)
    except TypeError:
        pass
    out: list[float] = []
    for v in values:
        t = type(v)
        if t is float:
            if v - v != 0.0:  # NaN or +-inf
                raise BadInputError(file, f"{what}: {v!r} is not a finite number", where)
            out.append(v)
        elif t is int:
            out.append(float(v))
        else:
            out.append(finite(v, file, where, what))
    return out


def as_float(value: Any, file: str | os.PathLike[str], where: str | None, what: str) -> float:
    return finite(value, file, where, what)


def as_int(value: Any, file: str | os.PathLike[str], where: str | None, what: str) -> int:
    """An integer (``3`` or ``3.0`` or ``"3"``); BadInputError otherwise."""
    if isinstance(value, bool):
        raise BadInputError(file, f"{what} {value!r} is not an integer", where)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value.strip())
    raise BadInputError(file, f"{what} {value!r} is not an integer", where)


def _kind(v: Any) -> str:
    return "null" if v is None else type(v).__name__


def _mib(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    return f"{n} bytes"
