"""A one-line progress bar on stderr for command-line jobs.

Use it as a ``JobState`` listener::

    with ProgressBar("indexing") as bar:
        index_folders(project, folders, JobState(bar))

It draws only when the stream is a terminal, so scripts, pipes and ``--json``
consumers see nothing but the command's own output.
"""

from __future__ import annotations

import shutil
import sys
import threading
from typing import TextIO

from lightable.jobs.base import JobState, Progress


def format_duration(seconds: float) -> str:
    s = int(seconds + 0.5)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def render(label: str, p: Progress, width: int) -> str:
    """The bar's text for ``p``, at most ``width`` characters (no control codes)."""
    frac = p.fraction
    parts = [label]
    if frac is not None:
        cells = 24
        filled = int(frac * cells)
        parts.append("[" + "#" * filled + "." * (cells - filled) + "]")
        parts.append(f"{p.done}/{p.total} {frac * 100:3.0f}%")
    elif p.done:
        parts.append(str(p.done))
    if p.done and p.elapsed > 0.5:
        parts.append(f"{p.rate:.0f}/s")
    if p.eta is not None and p.done < (p.total or 0):
        parts.append(f"ETA {format_duration(p.eta)}")
    if p.message:
        parts.append(p.message)
    text = " ".join(parts)
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


class ProgressBar:
    """Callable ``JobState`` listener that redraws one line of ``stream``."""

    def __init__(
        self, label: str, stream: TextIO | None = None, enabled: bool | None = None
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self._lock = threading.Lock()
        self._drawn = False

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        line = render(self.label, p, width)
        with self._lock:
            # \r + clear-to-end-of-line: redraw in place without leftovers.
            self.stream.write("\r\x1b[K" + line)
            self.stream.flush()
            self._drawn = True

    def state(self) -> JobState:
        """A fresh ``JobState`` reporting to this bar (redrawn at most 10 times a second)."""
        return JobState(self, interval=0.1)

    def close(self) -> None:
        """Erase the bar so the command's summary line starts clean."""
        with self._lock:
            if self.enabled and self._drawn:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            self._drawn = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
