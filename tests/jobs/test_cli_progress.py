"""The stderr progress bar: silent when not a terminal, one redrawn line when it is."""

from __future__ import annotations

import io

from lightable.jobs.base import Progress
from lightable.jobs.cli_progress import ProgressBar, format_duration, render


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_silent_when_not_a_terminal() -> None:
    out = io.StringIO()
    with ProgressBar("indexing", out) as bar:
        state = bar.state()
        state.set_total(10)
        state.advance(5)
    assert out.getvalue() == ""


def test_draws_and_erases_on_a_terminal() -> None:
    out = _Tty()
    with ProgressBar("indexing", out) as bar:
        state = bar.state()
        state.set_total(10)
        state.set_message("reading headers")
    text = out.getvalue()
    assert "\r\x1b[K" in text
    assert "indexing [" in text and "0/10" in text and "reading headers" in text
    assert text.endswith("\r\x1b[K")  # erased for the summary line


def test_render_fits_width_and_shows_eta() -> None:
    p = Progress(done=50, total=200, message="x" * 200, elapsed=10.0)
    line = render("thumbs", p, 60)
    assert len(line) <= 60
    assert "50/200" in line and " 25%" in line and "5/s" in line and "ETA 0:30" in line
    assert render("scan", Progress(0, None, "", 0.0), 80) == "scan"


def test_format_duration() -> None:
    assert format_duration(5) == "0:05"
    assert format_duration(125) == "2:05"
    assert format_duration(3725) == "1:02:05"
