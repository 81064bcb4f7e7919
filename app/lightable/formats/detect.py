"""``--format auto``: ask every registered format how sure it is, take the best.

Detectors are cheap (names and the first bytes of a few files). Ties and
near-ties are reported rather than guessed silently; formats that look alike
but that Lightable does not read (LabelMe 3.0 XML from MIT) get a message of
their own instead of being mistaken for a format they resemble.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from lightable.core.errors import BadInputError
from lightable.formats import registry

PEEK_BYTES = 64 * 1024
MIN_CONFIDENCE = 0.3


def peek(path: str | os.PathLike[str], n: int = PEEK_BYTES) -> bytes:
    """The first ``n`` bytes of a file (empty when unreadable)."""
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError:
        return b""


def peek_text(path: str | os.PathLike[str], n: int = PEEK_BYTES) -> str:
    data = peek(path, n)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")


def sample_files(
    folder: str | os.PathLike[str], suffixes: tuple[str, ...] = (), limit: int = 200, depth: int = 4
) -> list[Path]:
    """Up to ``limit`` files under ``folder`` (breadth-first, ``depth`` levels), by suffix."""
    out: list[Path] = []
    level = [Path(folder)]
    wanted = tuple(s.lower() for s in suffixes)
    for _ in range(depth + 1):
        nxt: list[Path] = []
        for d in level:
            try:
                entries = sorted(os.scandir(d), key=lambda e: e.name)
            except OSError:
                continue
            for e in entries:
                if e.name.startswith("."):
                    continue
                if e.is_dir(follow_symlinks=False):
                    nxt.append(Path(e.path))
                elif not wanted or e.name.lower().endswith(wanted):
                    out.append(Path(e.path))
                    if len(out) >= limit:
                        return out
        level = nxt
    return out


_MIT_LABELME = re.compile(rb"<annotation>.*?<object>.*?<polygon>.*?<pt>", re.DOTALL)


def looks_like_mit_labelme(path: Path) -> bool:
    """LabelMe 3.0 XML (MIT CSAIL): ``<annotation><object><polygon><pt>`` in XML files."""
    files = [path] if path.is_file() else sample_files(path, (".xml",), limit=20)
    for f in files:
        if f.suffix.lower() != ".xml":
            continue
        head = peek(f)
        if _MIT_LABELME.search(head) and b"<bndbox>" not in head:
            return True
    return False


def _run(spec: registry.FormatSpec, path: Path) -> tuple[float, str]:
    if spec.detect is None:
        return 0.0, ""
    try:
        res = spec.detect(path)
    except Exception as exc:  # a detector must never break detection of the others
        return 0.0, f"detector failed: {exc}"
    if isinstance(res, tuple):
        conf, reason = float(res[0]), str(res[1])
    else:
        conf, reason = float(res), ""
    return max(0.0, min(1.0, conf)), reason


def detect_all(path: str | os.PathLike[str]) -> list[tuple[str, float, str]]:
    """Every format's confidence for ``path``, best first (zero scores left out)."""
    p = Path(path)
    scores = []
    for spec in registry.readers():
        conf, reason = _run(spec, p)
        if conf > 0:
            scores.append((spec.name, conf, reason or spec.title))
    scores.sort(key=lambda s: -s[1])
    return scores


def detect_format(path: str | os.PathLike[str]) -> tuple[str, float, str]:
    """``(name, confidence, reason)`` of the format at ``path``; BadInputError if none fits."""
    p = Path(path)
    if not p.exists():
        raise BadInputError(p, "not found")
    scores = detect_all(p)
    if not scores or scores[0][1] < MIN_CONFIDENCE:
        if looks_like_mit_labelme(p):
            raise BadInputError(
                p,
                "this is LabelMe 3.0 XML (MIT CSAIL), which Lightable does not read; "
                "labelme JSON (wkentaro/labelme) is a different format",
            )
        seen = ", ".join(f"{n} {c:.2f}" for n, c, _ in scores[:3]) or "none"
        raise BadInputError(
            p, f"cannot tell the annotation format (best guesses: {seen}); pass --format"
        )
    name, conf, reason = scores[0]
    if len(scores) > 1 and scores[1][1] >= conf - 1e-9:
        other = scores[1]
        raise BadInputError(
            p,
            f"ambiguous: looks like {name} ({reason}) and {other[0]} ({other[2]}); pass --format",
        )
    return name, conf, reason
