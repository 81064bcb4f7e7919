"""Finding the image file an annotation names, under the import root.

Tools name images in many ways: a path relative to the annotation file, a bare
file name while the file sits in ``images/``, an upload URL whose last part is the
file name, a name without its extension. ``ImageFinder`` answers "which file under
the root is this?" with the exact path first and the file name second, and never
looks outside the root (paths are cleaned by ``safe_io.safe_relpath`` first).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from lightable.formats.safe_io import IMAGE_EXTENSIONS, walk_files


def sniff_image_suffix(data: bytes) -> str | None:
    """The file suffix of encoded image bytes, from their magic number (None: not an image)."""
    if data.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if data.startswith(b"BM"):
        return ".bmp"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return ".gif"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return ".tif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return None


class ImageFinder:
    """Image files under ``root``, found by relative path, file name or stem.

    The folder is walked once, on the first lookup that needs it (a reader whose
    paths are all exact never walks).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._by_name: dict[str, list[str]] | None = None
        self._by_stem: dict[str, list[str]] | None = None

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def _index(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        if self._by_name is None or self._by_stem is None:
            by_name: dict[str, list[str]] = {}
            by_stem: dict[str, list[str]] = {}
            for rel in walk_files(self.root, IMAGE_EXTENSIONS):
                name = rel.rsplit("/", 1)[-1]
                by_name.setdefault(name.lower(), []).append(rel)
                by_stem.setdefault(os.path.splitext(name)[0].lower(), []).append(rel)
            self._by_name, self._by_stem = by_name, by_stem
        return self._by_name, self._by_stem

    @staticmethod
    def _closest(candidates: list[str], near: str) -> str:
        """Of several files with one name, the one sharing most leading folders with ``near``."""

        def shared(c: str) -> int:
            n = 0
            for a, b in zip(PurePosixPath(c).parts, PurePosixPath(near).parts, strict=False):
                if a != b:
                    break
                n += 1
            return n

        return max(sorted(candidates), key=shared)

    def paths(self) -> list[str]:
        """Every image file under the root (sorted)."""
        return sorted(p for ps in self._index()[0].values() for p in ps)

    def by_name(self, name: str, near: str = "") -> str | None:
        """A file called ``name`` (case-insensitive) anywhere under the root."""
        found = self._index()[0].get(name.lower())
        return self._closest(found, near) if found else None

    def by_stem(self, stem: str, near: str = "") -> str | None:
        """An image whose name without extension is ``stem``."""
        found = self._index()[1].get(stem.lower())
        return self._closest(found, near) if found else None

    def find(self, rel: str, extra_dirs: tuple[str, ...] = ()) -> str | None:
        """``rel`` itself, ``<dir>/rel`` for each of ``extra_dirs``, or a file of the same
        name elsewhere under the root (closest folder first). ``rel`` must be clean."""
        if self.exists(rel):
            return rel
        for d in extra_dirs:
            cand = f"{d}/{rel}" if d else rel
            if self.exists(cand):
                return cand
        name = rel.rsplit("/", 1)[-1]
        hit = self.by_name(name, near=rel)
        if hit is None and not os.path.splitext(name)[1]:
            hit = self.by_stem(name, near=rel)
        return hit
