"""Resolution pyramids for huge images (tens to hundreds of megapixels), Qt-free.

A 20,000 x 20,000 image is 1.2 GB as RGB: decoding it in the viewer's process
would take seconds and most of the memory budget. Instead:

* the first view comes from an *overview* (longest side <= 2048 px). For JPEG it
  is decoded at 1/2..1/8 scale by libjpeg (draft mode), well under a second;
* a separate process (``python -m lightable.imaging.pyramid SRC DIR``) decodes
  the full image once and writes every level of the pyramid (full size, 1/2,
  1/4, ...) to a cache folder as raw 512 x 512 RGB tiles, tile after tile, so
  reading one tile later is ONE ``pread`` of 768 KB. The viewer's resident
  memory then holds only the overview and the tiles it shows; the operating
  system's page cache does the rest (pages read with pread are not part of our
  process's RSS, unlike a memory map);
* a ``meta.json`` written last (atomically) marks a finished pyramid, keyed by
  the source's path, size and mtime, so the next opening is instant.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lightable.core.errors import BadInputError

TILE = 512
OVERVIEW_SIDE = 2048
META = "meta.json"
FORMAT_VERSION = 1
# Cached pyramids beyond this total size are pruned, oldest first.
CACHE_BYTES = 16 * 1024**3


@dataclass(frozen=True, slots=True)
class Level:
    width: int
    height: int

    @property
    def tiles_x(self) -> int:
        return max(1, math.ceil(self.width / TILE))

    @property
    def tiles_y(self) -> int:
        return max(1, math.ceil(self.height / TILE))


def level_sizes(width: int, height: int) -> list[Level]:
    """Level 0 is full size; each next one halves (rounding up) until it fits a tile."""
    levels = [Level(width, height)]
    while max(levels[-1].width, levels[-1].height) > TILE:
        w, h = levels[-1].width, levels[-1].height
        levels.append(Level(max(1, math.ceil(w / 2)), max(1, math.ceil(h / 2))))
    return levels


def cache_key(path: Path) -> str:
    st = path.stat()
    raw = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|v{FORMAT_VERSION}|t{TILE}"
    return hashlib.sha1(raw.encode()).hexdigest()[:20]


# -- building (runs in its own process) ---------------------------------------------------


def write_level(path: Path, arr: np.ndarray) -> None:
    """``arr`` (H x W x 3 uint8) as raw tiles, row of tiles after row of tiles."""
    h, w = arr.shape[:2]
    lv = Level(w, h)
    tile = np.zeros((TILE, TILE, 3), np.uint8)
    with open(path, "wb") as f:
        for ty in range(lv.tiles_y):
            for tx in range(lv.tiles_x):
                part = arr[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE]
                if part.shape[0] == TILE and part.shape[1] == TILE:
                    f.write(np.ascontiguousarray(part).data)
                else:
                    tile[:] = 0
                    tile[: part.shape[0], : part.shape[1]] = part
                    f.write(tile.data)


def build_pyramid(
    src: Path, out_dir: Path, progress: Callable[[str], None] | None = None
) -> dict[str, object]:
    """Decode ``src`` fully and write every level under ``out_dir``; returns the meta."""
    from lightable.imaging.decode import load_array

    out_dir.mkdir(parents=True, exist_ok=True)
    arr = load_array(src)
    h, w = arr.shape[:2]
    levels = level_sizes(w, h)
    for k, lv in enumerate(levels):
        if k > 0:
            arr = cv2.resize(arr, (lv.width, lv.height), interpolation=cv2.INTER_AREA)
        write_level(out_dir / f"L{k}.raw", arr)
        if progress is not None:
            progress(f"level {k} ({lv.width} x {lv.height}) written")
    meta: dict[str, object] = {
        "version": FORMAT_VERSION,
        "tile": TILE,
        "source": str(src),
        "width": w,
        "height": h,
        "levels": [[lv.width, lv.height] for lv in levels],
    }
    tmp = out_dir / (META + ".tmp")
    tmp.write_text(json.dumps(meta))
    os.replace(tmp, out_dir / META)  # written last: its presence means "complete"
    return meta


def read_meta(folder: Path) -> dict[str, object] | None:
    try:
        meta = json.loads((folder / META).read_text())
    except (OSError, ValueError):
        return None
    if meta.get("version") != FORMAT_VERSION or meta.get("tile") != TILE:
        return None
    return meta


def prune_cache(root: Path, keep: Path | None = None, limit: int = CACHE_BYTES) -> None:
    """Delete the least recently used pyramids until the cache fits ``limit`` bytes."""
    if not root.is_dir():
        return
    entries = []
    for d in root.iterdir():
        if not d.is_dir() or d == keep:
            continue
        size = sum(f.stat().st_size for f in d.iterdir() if f.is_file())
        entries.append((d.stat().st_mtime, size, d))
    total = sum(e[1] for e in entries)
    if keep is not None and keep.is_dir():
        total += sum(f.stat().st_size for f in keep.iterdir() if f.is_file())
    for _, size, d in sorted(entries):
        if total <= limit:
            break
        shutil.rmtree(d, ignore_errors=True)
        total -= size


# -- reading --------------------------------------------------------------------------------


class Pyramid:
    """A huge image: an overview at once, full-resolution tiles once built.

    Thread-safe for ``read_tile`` (positional reads on one descriptor per level).
    """

    def __init__(self, src: Path, cache_dir: Path | None = None) -> None:
        self.src = Path(src)
        root = (
            cache_dir
            if cache_dir is not None
            else Path(tempfile.gettempdir()) / "lightable-pyramids"
        )
        self.cache_root = root
        self.folder = root / cache_key(self.src)
        self.width = 0
        self.height = 0
        self.levels: list[Level] = []
        self.overview: np.ndarray | None = None
        self.error: str | None = None
        self._fds: dict[int, int] = {}
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        meta = read_meta(self.folder)
        if meta is not None:
            self._adopt(meta)

    # -- state ----------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Full-resolution tiles are available."""
        return self._ready.is_set()

    def _adopt(self, meta: dict[str, object]) -> None:
        self.width = int(meta["width"])  # type: ignore[call-overload]
        self.height = int(meta["height"])  # type: ignore[call-overload]
        self.levels = [Level(int(w), int(h)) for w, h in meta["levels"]]  # type: ignore[union-attr,attr-defined]
        with contextlib.suppress(OSError):
            os.utime(self.folder)  # recently used: pruned last
        self._ready.set()

    def load_overview(self) -> np.ndarray:
        """The whole image, longest side <= OVERVIEW_SIDE (fast for JPEG; else from the pyramid)."""
        if self.overview is not None:
            return self.overview
        if self.ready:
            k = next(
                (
                    i
                    for i, lv in enumerate(self.levels)
                    if max(lv.width, lv.height) <= OVERVIEW_SIDE
                ),
                len(self.levels) - 1,
            )
            self.overview = self.read_level(k)
        else:
            from lightable.imaging.decode import load_array
            from lightable.imaging.probe import normalized_format, open_image

            with open(self.src, "rb") as fp:
                fmt = normalized_format(open_image(self.src, fp))
            if fmt != "JPEG":
                # No scaled decoding for this format: wait for the builder's smallest levels.
                self.start_build()
                self.wait()
                if not self.ready:
                    raise BadInputError(self.src, self.error or "could not build the image pyramid")
                return self.load_overview()
            self.overview = load_array(self.src, max_side=OVERVIEW_SIDE)
            if not self.width:
                # The overview is upright and proportional: the full size comes from the header.
                self.width, self.height = _upright_size(self.src)
                self.levels = level_sizes(self.width, self.height)
        return self.overview

    # -- building -------------------------------------------------------------------------
    def start_build(self, on_done: Callable[[], None] | None = None) -> None:
        """Build the tiles in a child process (no-op when built or building)."""
        if self.ready:
            if on_done is not None:
                on_done()
            return
        if self._thread is not None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        prune_cache(self.cache_root, keep=self.folder)

        def run() -> None:
            try:
                if getattr(sys, "frozen", False):
                    build_pyramid(self.src, self.folder)  # bundled app: no interpreter to spawn
                else:
                    cmd = [
                        sys.executable,
                        "-m",
                        "lightable.imaging.pyramid",
                        str(self.src),
                        str(self.folder),
                    ]
                    self._proc = subprocess.Popen(
                        cmd,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE,
                        preexec_fn=_lower_priority,
                    )
                    _, err = self._proc.communicate()
                    if self._proc.returncode != 0:
                        lines = err.decode(errors="replace").strip().splitlines()
                        self.error = (
                            lines[-1]
                            if lines
                            else f"pyramid builder exited with {self._proc.returncode}"
                        )
                meta = read_meta(self.folder)
                if meta is not None:
                    self._adopt(meta)
            except Exception as exc:  # reported through .error; the overview stays usable
                self.error = str(exc)
            finally:
                self._done.set()
                if on_done is not None:
                    on_done()

        self._done = threading.Event()
        self._thread = threading.Thread(target=run, name="pyramid-build", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._done.wait(timeout)
        return self.ready

    def close(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()

    # -- tiles ------------------------------------------------------------------------------
    def level_for_zoom(self, zoom: float) -> int:
        """The coarsest level whose resolution is still >= ``zoom`` (image px per screen px)."""
        if zoom >= 1.0 or not self.levels:
            return 0
        k = math.floor(-math.log2(max(zoom, 1e-9)))
        return max(0, min(len(self.levels) - 1, k))

    def read_tile(self, level: int, tx: int, ty: int) -> np.ndarray:
        """Tile (tx, ty) of ``level`` as RGB (edge tiles cropped to the image)."""
        if not self.ready:
            raise RuntimeError("pyramid not built yet")
        lv = self.levels[level]
        fd = self._fd(level)
        n = TILE * TILE * 3
        offset = (ty * lv.tiles_x + tx) * n
        buf = os.pread(fd, n, offset)
        if len(buf) != n:
            raise BadInputError(
                self.folder / f"L{level}.raw", "tile file is truncated", f"tile {tx},{ty}"
            )
        a = np.frombuffer(buf, np.uint8).reshape(TILE, TILE, 3)
        return a[: min(TILE, lv.height - ty * TILE), : min(TILE, lv.width - tx * TILE)]

    def read_level(self, level: int) -> np.ndarray:
        lv = self.levels[level]
        out = np.zeros((lv.height, lv.width, 3), np.uint8)
        for ty in range(lv.tiles_y):
            for tx in range(lv.tiles_x):
                t = self.read_tile(level, tx, ty)
                out[ty * TILE : ty * TILE + t.shape[0], tx * TILE : tx * TILE + t.shape[1]] = t
        return out

    def _fd(self, level: int) -> int:
        with self._lock:
            fd = self._fds.get(level)
            if fd is None:
                fd = os.open(self.folder / f"L{level}.raw", os.O_RDONLY)
                self._fds[level] = fd
            return fd


def _upright_size(path: Path) -> tuple[int, int]:
    from lightable.imaging.probe import open_image, orientation_of

    with open(path, "rb") as fp:
        im = open_image(path, fp)
        w, h = im.size
        if orientation_of(im) in (5, 6, 7, 8):
            w, h = h, w
    return w, h


def _lower_priority() -> None:
    # The viewer must stay smooth while the builder decodes.
    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)


def open_pyramid(path: Path, cache_dir: Path | None = None) -> Pyramid:
    """Open (and start building, when needed) the pyramid of ``path``; loads the overview."""
    p = Pyramid(Path(path), cache_dir)
    p.load_overview()
    return p


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m lightable.imaging.pyramid SOURCE OUT_DIR", file=sys.stderr)
        return 2
    try:
        build_pyramid(Path(argv[0]), Path(argv[1]))
    except BadInputError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
