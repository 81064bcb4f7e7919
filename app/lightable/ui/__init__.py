"""The desktop window (PySide6). Nothing outside ``lightable.ui`` imports this package.

Importing it applies one process-wide fix, before any Qt call is made from here.
The PySide6 6.12 wheels are stable-ABI builds compiled against Python 3.12
headers, where ``None``, ``True`` and ``False`` are immortal; on Python 3.11
every void Qt method called from Python, and every ``Signal.emit``, drops a
reference to ``None``/``True``/``False`` that it never took. After a few
thousand calls (one scroll, one test run) CPython aborts with "deallocating
None" or "deallocating True or False". Giving these singletons a practically
endless reference count makes the dropped references harmless. On 3.12+ they
are immortal already and nothing is done. (Remove when the venv is on 3.12+
or PySide6 is fixed.)
"""

from __future__ import annotations

import ctypes
import sys

_PINNED = 1 << 40  # ~10^12 dropped references before anything could go wrong


def _pin_singletons() -> None:
    if sys.version_info >= (3, 12):
        return
    for obj in (None, True, False, NotImplemented, Ellipsis):
        cell = ctypes.c_ssize_t.from_address(id(obj))
        if cell.value < _PINNED:
            cell.value += _PINNED


_pin_singletons()
