"""Compute devices: choose one, describe it, run batches with mixed precision and
out-of-memory back-off.

``choose_device('auto')`` prefers CUDA, then Apple MPS, then the CPU. An explicit
request for a device that is not there is an error, never a silent fallback: a
user who asked for the GPU wants to know it is not used.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from lightable.core.errors import LightableError

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")

T = TypeVar("T")
R = TypeVar("R")


class DeviceError(LightableError):
    """The requested device does not exist or cannot be used."""


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What the status bar shows: ``str(info)`` is one short line."""

    type: str  # cuda | mps | cpu
    name: str  # e.g. "NVIDIA H100 80GB HBM3", "Apple MPS", "CPU (2 cores)"
    index: int | None
    total_memory: int | None  # bytes
    free_memory: int | None  # bytes

    def __str__(self) -> str:
        gib = 1024**3
        if self.total_memory and self.free_memory is not None:
            mem = f"{self.free_memory / gib:.1f} of {self.total_memory / gib:.1f} GiB free"
        elif self.total_memory:
            mem = f"{self.total_memory / gib:.1f} GiB"
        else:
            mem = ""
        return f"{self.name} · {mem}" if mem else self.name


def _mps_available(torch: Any) -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def choose_device(requested: str | None = "auto") -> torch.device:
    """The torch device for ``requested``: 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."""
    import torch

    req = (requested or "auto").strip().lower()
    if req == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available(torch):
            return torch.device("mps")
        return torch.device("cpu")
    if req == "cpu":
        return torch.device("cpu")
    if req.startswith("cuda"):
        if not torch.cuda.is_available():
            why = (
                "this torch build has no CUDA support"
                if torch.version.cuda is None
                else "no CUDA GPU is visible (driver missing, or CUDA_VISIBLE_DEVICES hides it)"
            )
            raise DeviceError(f"device {requested!r} was requested but {why}; use --device cpu")
        dev = torch.device(req)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(
                f"device {requested!r}: only {torch.cuda.device_count()} CUDA device(s) "
                f"(cuda:0 .. cuda:{torch.cuda.device_count() - 1})"
            )
        return dev
    if req == "mps":
        if not _mps_available(torch):
            raise DeviceError(
                f"device {requested!r} was requested but Apple MPS is not available here; "
                "use --device cpu"
            )
        return torch.device("mps")
    raise DeviceError(f"unknown device {requested!r}; choose one of {', '.join(DEVICE_CHOICES)}")


def describe_device(device: torch.device | str) -> DeviceInfo:
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        idx = dev.index if dev.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(idx)
        try:
            free, total = torch.cuda.mem_get_info(idx)
        except RuntimeError:  # pragma: no cover - driver refuses the query
            free, total = None, int(props.total_memory)
        return DeviceInfo("cuda", f"CUDA {props.name}", idx, int(total), free)
    if dev.type == "mps":
        total = _system_memory()
        return DeviceInfo("mps", "Apple MPS (unified memory)", None, total, None)
    cores = os.cpu_count() or 1
    return DeviceInfo("cpu", f"CPU ({cores} cores)", None, _system_memory(), _available_memory())


def _system_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def _available_memory() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:  # pragma: no cover - psutil is optional
        try:
            return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
        except (ValueError, OSError, AttributeError):
            return None


def autocast(device: torch.device, enabled: bool = True) -> contextlib.AbstractContextManager[Any]:
    """Mixed precision where it pays: float16 autocast on CUDA, nothing elsewhere.

    On the CPU bfloat16 autocast is slower than float32 on most machines without
    AMX, and MPS autocast still misses kernels the detectors need.
    """
    import torch

    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def is_oom(exc: BaseException) -> bool:
    """True for a CUDA (or MPS) out-of-memory error."""
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


class BatchRunner:
    """Runs ``fn`` over batches; on out-of-memory halves the batch and goes on.

    The reduced size sticks for the rest of the run (the next batch would run
    out of memory again), and ``on_shrink`` is told so the job can log it.
    A single item that does not fit is an error that says so.
    """

    def __init__(
        self,
        fn: Callable[[Sequence[T]], list[R]],
        batch_size: int,
        device: torch.device,
        on_shrink: Callable[[int], None] | None = None,
    ) -> None:
        self.fn = fn
        self.batch_size = max(1, int(batch_size))
        self.device = device
        self.on_shrink = on_shrink
        self.shrinks = 0

    def __call__(self, items: Sequence[T]) -> list[R]:
        out: list[R] = []
        for chunk in _chunks(items, self.batch_size):
            out.extend(self._run(chunk))
        return out

    def _run(self, items: Sequence[T]) -> list[R]:
        try:
            return self.fn(items)
        except Exception as exc:
            if not is_oom(exc):
                raise
            del exc  # drop the traceback's references to the failed batch's tensors
        self._free()
        if len(items) <= 1:
            raise LightableError(
                f"one image does not fit in {self.device} memory; try --device cpu "
                "or a smaller model"
            )
        half = max(1, len(items) // 2)
        if half < self.batch_size:
            self.batch_size = half
            self.shrinks += 1
            if self.on_shrink is not None:
                self.on_shrink(half)
        out: list[R] = []
        for chunk in _chunks(items, half):
            out.extend(self._run(chunk))
        return out

    def _free(self) -> None:
        import gc

        import torch

        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        elif self.device.type == "mps":  # pragma: no cover - no MPS on CI
            torch.mps.empty_cache()


def _chunks(items: Sequence[T], n: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
