"""Progress, ETA and cancellation for long work."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


class Cancelled(Exception):
    """Raised by ``JobState.check`` once the job was asked to stop."""


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    total: int | None
    message: str
    elapsed: float

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left, from the average rate so far; None while unknown."""
        if not self.total or self.done <= 0 or self.elapsed <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.rate)


ProgressListener = Callable[[Progress], None]


class JobState:
    """Shared between a job and whoever watches it; thread-safe.

    Listeners are called on the job's thread, at most every ``interval`` seconds
    (and once at the end), so a tight loop can call ``advance`` freely.
    """

    def __init__(self, listener: ProgressListener | None = None, interval: float = 0.1) -> None:
        self._listener = listener
        self._interval = interval
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._last_emit = 0.0
        self.done = 0
        self.total: int | None = None
        self.message = ""

    def set_total(self, total: int | None) -> None:
        with self._lock:
            self.total = total
        self._emit(force=True)

    def set_message(self, message: str) -> None:
        with self._lock:
            self.message = message
        self._emit(force=True)

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
        self._emit()

    def finish(self) -> None:
        self._emit(force=True)

    def snapshot(self) -> Progress:
        with self._lock:
            return Progress(self.done, self.total, self.message, time.monotonic() - self._start)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def _emit(self, force: bool = False) -> None:
        if self._listener is None:
            return
        now = time.monotonic()
        if not force and now - self._last_emit < self._interval:
            return
        self._last_emit = now
        self._listener(self.snapshot())
