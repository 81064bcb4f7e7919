"""The desktop window (PySide6). Nothing outside ``lightable.ui`` imports this package.

PySide6 6.12's wheels, on Python 3.11, drop a reference to ``None``/``True``/``False``
on every void Qt call and ``Signal.emit`` (they were built against 3.12 headers,
where those objects are immortal); CPython then aborts after a few thousand
calls. ``constraints.txt`` pins 6.11.3 and ``pyproject.toml`` excludes 6.12; this
check turns a wrong install into a clear message instead of a crash mid-session.
"""

from __future__ import annotations

import sys


def _check_pyside() -> None:
    if sys.version_info >= (3, 12):
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("PySide6-Essentials")
    except PackageNotFoundError:
        return
    if v.startswith("6.12."):
        raise ImportError(
            f"PySide6-Essentials {v} crashes on Python {sys.version.split()[0]} "
            "(reference-count bug); install 6.11.3: pip install -c constraints.txt -e ."
        )


_check_pyside()
