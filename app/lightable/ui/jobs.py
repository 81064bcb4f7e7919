"""Running plain job functions off the UI thread, and bringing their news back to it.

A job is a plain function ``fn(..., state: JobState)`` (see ``lightable.jobs.base``):
the same function the command line runs. ``JobRunner.start`` runs it on a worker
thread; progress, the result and errors reach widgets only through queued signals,
and progress is coalesced (at most one pending delivery per job) so a fast loop
cannot flood the event queue.

``ChangeRelay`` does the same for store change notifications, which arrive on
whichever thread wrote to the store.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
import traceback
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal

from lightable.core.errors import LightableError
from lightable.jobs.base import Cancelled, JobState, Progress

QUEUED = Qt.ConnectionType.QueuedConnection


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Job(QObject):
    """One run of a job function. Lives on the UI thread; signals are emitted there."""

    progressed = Signal(object)  # Progress
    statusChanged = Signal(str)  # JobStatus
    succeeded = Signal(object)  # the function's return value
    failed = Signal(str)  # one-line message
    ended = Signal(object)  # self, whatever the outcome

    # Emitted on the worker thread, delivered queued to the slots below.
    _progress_from_worker = Signal()
    _status_from_worker = Signal(str, object, str)

    _ids = itertools.count(1)

    def __init__(self, title: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.id = next(self._ids)
        self.title = title
        self.status = JobStatus.QUEUED
        self.result: Any = None
        self.error: str | None = None
        self.details: str | None = None  # traceback of an unexpected error
        self.started_at = time.monotonic()
        self.ended_at: float | None = None
        self.progress: Progress = Progress(0, None, "", 0.0)
        self._pending: Progress | None = None
        self._pending_flag = False
        self.state = JobState(self._on_worker_progress, interval=0.1)
        self._progress_from_worker.connect(self._deliver_progress, QUEUED)
        self._status_from_worker.connect(self._deliver_status, QUEUED)

    # -- called by anyone on the UI thread -----------------------------------------------
    def cancel(self) -> None:
        """Ask the job to stop; it ends as cancelled at its next ``state.check()``."""
        if self.is_active():
            self.state.cancel()
            if self.status == JobStatus.QUEUED:
                # Not started yet: it will see the flag as soon as it starts.
                self.progress = Progress(0, None, "cancelling…", 0.0)
                self.progressed.emit(self.progress)

    def is_active(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)

    @property
    def cancel_requested(self) -> bool:
        return self.state.cancelled

    # -- worker side -----------------------------------------------------------------
    def _on_worker_progress(self, progress: Progress) -> None:
        # JobState already limits calls to ~10/s; this keeps at most one in the queue.
        self._pending = progress
        if not self._pending_flag:
            self._pending_flag = True
            self._progress_from_worker.emit()

    def _run(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        self._status_from_worker.emit(JobStatus.RUNNING, None, "")
        try:
            self.state.check()
            result = fn(*args, state=self.state, **kwargs)
            self.state.finish()
        except Cancelled:
            self._status_from_worker.emit(JobStatus.CANCELLED, None, "")
        except LightableError as exc:
            self._status_from_worker.emit(JobStatus.FAILED, str(exc), "")
        except Exception as exc:
            msg = f"{type(exc).__name__}: {exc}"
            self._status_from_worker.emit(JobStatus.FAILED, msg, traceback.format_exc())
        else:
            self._status_from_worker.emit(JobStatus.DONE, result, "")

    # -- UI thread slots ---------------------------------------------------------------
    def _deliver_progress(self) -> None:
        self._pending_flag = False
        if self._pending is not None:
            self.progress = self._pending
            self.progressed.emit(self.progress)

    def _deliver_status(self, status: str, payload: object, details: str) -> None:
        if status == JobStatus.RUNNING:
            self.started_at = time.monotonic()
            self.status = JobStatus.RUNNING
            self.statusChanged.emit(self.status)
            return
        # The final snapshot, so a finished bar reads 100% and the rate is right.
        self.progress = self.state.snapshot()
        self.progressed.emit(self.progress)
        self.status = JobStatus(status)
        self.ended_at = time.monotonic()
        if self.status == JobStatus.DONE:
            self.result = payload
        elif self.status == JobStatus.FAILED:
            self.error = str(payload)
            self.details = details or None
        self.statusChanged.emit(self.status)
        if self.status == JobStatus.DONE:
            self.succeeded.emit(payload)
        elif self.status == JobStatus.FAILED:
            self.failed.emit(self.error)
        self.ended.emit(self)


class _Runnable(QRunnable):
    def __init__(self, job: Job, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        super().__init__()
        self.job, self.fn, self.args, self.kwargs = job, fn, args, kwargs
        self.setAutoDelete(True)

    def run(self) -> None:
        self.job._run(self.fn, self.args, self.kwargs)


class JobRunner(QObject):
    """Starts jobs on its own thread pool and keeps the list of them for the Jobs panel."""

    jobAdded = Signal(object)  # Job
    jobEnded = Signal(object)  # Job (done, failed or cancelled)

    def __init__(self, parent: QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self.jobs: list[Job] = []

    def start(self, title: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Job:
        """Run ``fn(*args, state=JobState, **kwargs)`` on a worker thread."""
        job = Job(title, self)
        job.ended.connect(self.jobEnded)
        self.jobs.append(job)
        self.jobAdded.emit(job)
        self.pool.start(_Runnable(job, fn, args, kwargs))
        return job

    def active(self) -> list[Job]:
        return [j for j in self.jobs if j.is_active()]

    def clear_finished(self) -> None:
        self.jobs = [j for j in self.jobs if j.is_active()]

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything and wait for the workers; True if they all stopped in time."""
        for job in self.jobs:
            job.cancel()
        return self.pool.waitForDone(timeout_ms)


class ChangeRelay(QObject):
    """Store change notifications (any thread) re-emitted on the UI thread."""

    changed = Signal(object)  # lightable.store.project.Change
    _incoming = Signal(object)

    def __init__(self, project: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._incoming.connect(self.changed, QUEUED)
        self._unsubscribe = project.subscribe(self._listener)

    def _listener(self, change: object) -> None:
        with contextlib.suppress(RuntimeError):  # relay deleted while a worker still writes
            self._incoming.emit(change)

    def close(self) -> None:
        self._unsubscribe()


class LatestCall(QObject):
    """Runs short reads on a thread; only the latest call's result is delivered (queued).

    For queries the UI wants but must not wait for (folder lists, counts): a
    newer call makes older results be dropped on arrival.
    """

    _done = Signal(int, object, object)  # generation, result, error

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation = 0
        self._callbacks: dict[int, Callable[[Any], None]] = {}
        self._done.connect(self._deliver, QUEUED)

    def run(self, fn: Callable[[], Any], done: Callable[[Any], None]) -> None:
        self._generation += 1
        gen = self._generation
        self._callbacks = {gen: done}

        def work() -> None:
            try:
                result, error = fn(), None
            except Exception as exc:  # reported like any result; the caller decides
                result, error = None, exc
            with contextlib.suppress(RuntimeError):
                self._done.emit(gen, result, error)

        threading.Thread(target=work, daemon=True, name="latest-call").start()

    def _deliver(self, gen: int, result: Any, error: Any) -> None:
        done = self._callbacks.pop(gen, None)
        if done is not None and error is None:
            done(result)
