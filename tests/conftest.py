"""Shared fixtures. Qt runs offscreen; no test needs a display."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "*.debug=false;qt.qpa.*=false")


def _shared_dir() -> Path:
    """``shared/`` beside the checkout (as CI lays it out), or LIGHTABLE_SHARED_DIR."""
    if env := os.environ.get("LIGHTABLE_SHARED_DIR"):
        return Path(env)
    for candidate in (Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")):
        if candidate.is_dir():
            return candidate
    return Path(__file__).resolve().parents[2] / "shared"


SHARED = _shared_dir()
FIXTURES = SHARED / "fixtures" / "formats"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Benchmarks run only when asked for (`make bench` passes -m bench).
    if "bench" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="benchmark: run with `make bench`")
    for item in items:
        if "bench" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def project(tmp_path: Path):
    from lightable.store.project import Project

    p = Project.create(tmp_path / "proj")
    yield p
    p.close()


@pytest.fixture
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        if os.environ.get("CI"):  # CI always has shared/ beside the clone: never skip silently
            pytest.fail(f"shared fixtures not found at {FIXTURES}")
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    return FIXTURES
