"""Thumbnails for the browser: cache lookups and decodes off the UI thread.

The view tells the loader what it wants, visible tiles first, then a margin
around them (``want``). Each call *replaces* the wish list, so requests for
tiles that scrolled away are dropped before a worker takes them. Two worker
threads take small batches: one SQLite query for the cached ones, a decode
(``ensure_thumbnails``) for the rest, one at a time so a fast scroll can
overtake them. Results come back to the UI thread through a queued signal as
QImages already scaled to the tile size, and live in an LRU bounded in bytes.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage

from lightable.core.model import Image

BATCH = 12
DEFAULT_BUDGET = 96 * 1024 * 1024  # bytes of decoded tiles kept in memory


class _Result:
    __slots__ = ("error", "image", "image_id", "mtime_ns", "size")

    def __init__(
        self, image_id: int, mtime_ns: int, size: int, image: QImage | None, error: str | None
    ) -> None:
        self.image_id, self.mtime_ns, self.size = image_id, mtime_ns, size
        self.image, self.error = image, error


class ThumbnailLoader(QObject):
    """Bounded, cancellable thumbnail loading for one project."""

    ready = Signal(object)  # list of image ids whose tile (or error) just arrived
    _results = Signal(object)  # list[_Result], from workers, delivered queued

    def __init__(
        self,
        project: Any,
        size: int = 128,
        budget_bytes: int = DEFAULT_BUDGET,
        workers: int = 2,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.project = project
        self.size = size
        self.budget = budget_bytes
        self._cache: Any = None  # opened by the first worker: its set-up writes to disk
        self._tiles: OrderedDict[int, tuple[int, QImage]] = OrderedDict()  # id -> (mtime, tile)
        self._bytes = 0
        self._errors: dict[int, tuple[int, str]] = {}  # id -> (mtime, reason)
        self._lock = threading.Condition()
        self._queue: list[Image] = []  # what is wanted, most urgent first
        self._in_flight: set[int] = set()
        self._wanted: set[int] = set()  # ids of the latest wish list, in flight included
        self._stop = False
        self._generation = 0  # bumped when the size changes: late results are dropped
        self.requests = 0  # how many images were handed to workers (for tests)
        self._results.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._threads = [
            threading.Thread(target=self._work, name=f"thumbs-{i}", daemon=True)
            for i in range(workers)
        ]
        for t in self._threads:
            t.start()
        # Several batches landing together become one repaint.
        self._ready_ids: list[int] = []
        self._ready_timer = QTimer(self, singleShot=True, interval=15)
        self._ready_timer.timeout.connect(self._emit_ready)

    # -- UI thread -------------------------------------------------------------------
    def tile(self, image: Image) -> QImage | None:
        """The tile of this version of the image, if loaded (marks it recently used)."""
        entry = self._tiles.get(image.id)  # type: ignore[arg-type]
        if entry is None or entry[0] != image.mtime_ns:
            return None
        self._tiles.move_to_end(image.id)  # type: ignore[arg-type]
        return entry[1]

    def error(self, image: Image) -> str | None:
        """Why this image has no thumbnail, when a worker found out."""
        entry = self._errors.get(image.id)  # type: ignore[arg-type]
        return entry[1] if entry is not None and entry[0] == image.mtime_ns else None

    def has(self, image: Image) -> bool:
        return self.tile(image) is not None or self.error(image) is not None

    def want(self, images: Sequence[Image]) -> None:
        """Replace the wish list: ``images`` in order of urgency (missing ones only)."""
        todo = [im for im in images if im.id is not None and not self.has(im)]
        with self._lock:
            self._wanted = {im.id for im in todo}  # type: ignore[misc]
            self._queue = [im for im in todo if im.id not in self._in_flight]
            if self._queue:
                self._lock.notify_all()

    def pending(self) -> int:
        with self._lock:
            return len(self._queue) + len(self._in_flight)

    def set_size(self, size: int) -> None:
        if size == self.size:
            return
        with self._lock:
            self.size = size
            self._generation += 1
            self._queue = []
        self.clear()

    def clear(self) -> None:
        self._tiles.clear()
        self._bytes = 0
        self._errors.clear()

    def forget(self, ids: Sequence[int]) -> None:
        """Drop what is known about these images (their file or thumbnail changed)."""
        for i in ids:
            entry = self._tiles.pop(i, None)
            if entry is not None:
                self._bytes -= entry[1].sizeInBytes()
            self._errors.pop(i, None)

    def memory_bytes(self) -> int:
        return self._bytes

    def close(self) -> None:
        with self._lock:
            self._stop = True
            self._queue = []
            self._lock.notify_all()
        for t in self._threads:
            t.join(timeout=2.0)
        with self._lock:
            if self._cache is not None:
                self._cache.close()
                self._cache = None

    @property
    def cache(self) -> Any:
        with self._lock:
            if self._cache is None:
                from lightable.imaging.thumbnails import ThumbnailCache

                self._cache = ThumbnailCache.for_project(self.project)
            return self._cache

    def _deliver(self, results: list[_Result]) -> None:
        ids: list[int] = []
        for r in results:
            with self._lock:
                self._in_flight.discard(r.image_id)
                current_size = self.size
            if r.size != current_size:
                continue
            if r.image is not None:
                old = self._tiles.pop(r.image_id, None)
                if old is not None:
                    self._bytes -= old[1].sizeInBytes()
                self._tiles[r.image_id] = (r.mtime_ns, r.image)
                self._bytes += r.image.sizeInBytes()
                self._errors.pop(r.image_id, None)
            else:
                self._errors[r.image_id] = (r.mtime_ns, r.error or "no thumbnail")
            ids.append(r.image_id)
        while self._bytes > self.budget and len(self._tiles) > 1:
            _, (_, tile) = self._tiles.popitem(last=False)
            self._bytes -= tile.sizeInBytes()
        if len(self._errors) > 50_000:  # errors are tiny, but not unbounded
            self._errors.clear()
        if ids:
            self._ready_ids.extend(ids)
            if not self._ready_timer.isActive():
                self._ready_timer.start()

    def _emit_ready(self) -> None:
        ids, self._ready_ids = self._ready_ids, []
        self.ready.emit(ids)

    # -- worker threads -----------------------------------------------------------------
    def _take(self) -> tuple[list[Image], int, int] | None:
        with self._lock:
            while not self._queue and not self._stop:
                self._lock.wait()
            if self._stop:
                return None
            batch, self._queue = self._queue[:BATCH], self._queue[BATCH:]
            self._in_flight.update(im.id for im in batch)  # type: ignore[misc]
            self.requests += len(batch)
            return batch, self.size, self._generation

    def _still_wanted(self, image_id: int, generation: int) -> bool:
        with self._lock:
            if self._stop or generation != self._generation:
                return False
            return image_id in self._wanted

    def _work(self) -> None:
        from lightable.jobs.thumbnails import ensure_thumbnails

        while True:
            taken = self._take()
            if taken is None:
                return
            batch, size, generation = taken
            try:
                found = self.cache.lookup_many({im.id: im.mtime_ns for im in batch})
            except Exception as exc:  # a damaged cache file must not kill the worker
                found = {}
                cache_error = f"thumbnail cache unreadable: {exc}"
            else:
                cache_error = None
            hits = [im for im in batch if im.id in found]
            misses = [im for im in batch if im.id not in found]
            out = [self._result(im, found[im.id].data, found[im.id].error, size) for im in hits]
            if out:
                self._send(out, misses)
            for k, im in enumerate(misses):
                if cache_error is not None:
                    self._send([_Result(im.id, im.mtime_ns, size, None, cache_error)], [])  # type: ignore[arg-type]
                    continue
                # The first miss of a batch is decoded unconditionally; later ones only
                # if nobody scrolled away meanwhile (the wish list may have changed).
                if k > 0 and not self._still_wanted(im.id, generation):  # type: ignore[arg-type]
                    self._send([], [im])
                    continue
                try:
                    made = ensure_thumbnails(self.project, self.cache, [im])
                    entry = made.get(im.id)  # type: ignore[arg-type]
                    data, err = (entry.data, entry.error) if entry else (None, "no thumbnail")
                except Exception as exc:  # hostile files: show the reason on the tile
                    data, err = None, f"{type(exc).__name__}: {exc}"
                self._send([self._result(im, data, err, size)], [])

    def _send(self, results: list[_Result], dropped: list[Image]) -> None:
        if dropped:
            with self._lock:
                for im in dropped:
                    self._in_flight.discard(im.id)  # type: ignore[arg-type]
        if results:
            with contextlib.suppress(RuntimeError):  # loader deleted during shutdown
                self._results.emit(results)

    @staticmethod
    def _result(im: Image, data: bytes | None, error: str | None, size: int) -> _Result:
        if data is None:
            return _Result(im.id, im.mtime_ns, size, None, error or "no thumbnail")  # type: ignore[arg-type]
        img = QImage.fromData(data)
        if img.isNull():
            return _Result(im.id, im.mtime_ns, size, None, "thumbnail cannot be decoded")  # type: ignore[arg-type]
        if max(img.width(), img.height()) != size:  # fit the tile (small images grow)
            img = img.scaled(
                size,
                size,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        img = img.convertToFormat(QImage.Format.Format_RGB32)
        return _Result(im.id, im.mtime_ns, size, img, None)  # type: ignore[arg-type]
