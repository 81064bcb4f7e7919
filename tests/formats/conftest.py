"""Helpers for the format tests: importing fixtures, counting what reached the store."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from lightable.core.geometry import Box, Geometry, Keypoints, Mask, Polygon, Tag
from lightable.formats.model import Dataset, Report
from lightable.store import schema


@pytest.fixture
def fx(fixtures_dir: Path) -> Path:
    """The shared real-world fixtures (``/work/shared/fixtures/formats``)."""
    return fixtures_dir


def read(
    path: Path, fmt: str = "auto", strict: bool = False, **options: Any
) -> tuple[Dataset, Report]:
    from lightable.formats.project_io import read_dataset

    report = Report(strict=strict)
    return read_dataset(path, fmt, report, options or None), report


def load(project: Any, path: Path, fmt: str = "auto", strict: bool = False, **options: Any) -> Any:
    """Read and import; returns the ImportSummary."""
    from lightable.formats.project_io import import_dataset

    ds, report = read(path, fmt, strict, **options)
    return import_dataset(project, ds, strict=strict, report=report)


def counts(project: Any) -> dict[str, Any]:
    """What is in the store: images, annotations by kind, labels, predictions, runs."""
    with project.engine.connect() as conn:
        kinds = dict(
            conn.execute(
                select(schema.annotations.c.kind, func.count()).group_by(schema.annotations.c.kind)
            ).all()
        )

        def n(t: Any) -> int:
            return int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)

        return {
            "images": n(schema.images),
            "annotations": sum(kinds.values()),
            "kinds": {k: int(v) for k, v in kinds.items()},
            "labels": n(schema.labels),
            "predictions": n(schema.predictions),
            "runs": n(schema.model_runs),
            "roots": n(schema.roots),
        }


def kinds_of(ds: Dataset) -> Counter[str]:
    return Counter(str(o.geometry.kind) for im in ds.images for o in im.objects)


def assert_geom_close(a: Geometry, b: Geometry, tol: float = 1e-6, where: str = "") -> None:
    # Same kind (a reader may hand back a Polygon subclass that keeps its source text).
    assert a.kind == b.kind, f"{where}: {type(a).__name__} became {type(b).__name__}"
    if isinstance(a, Box):
        np.testing.assert_allclose(a.bbox(), b.bbox(), atol=tol, rtol=0, err_msg=where)
    elif isinstance(a, Polygon):
        assert isinstance(b, Polygon)
        assert len(a.rings) == len(b.rings), where
        for ra, rb in zip(a.rings, b.rings, strict=True):
            np.testing.assert_allclose(ra, rb, atol=tol, rtol=0, err_msg=where)
    elif isinstance(a, Keypoints):
        assert isinstance(b, Keypoints)
        assert [p[2] for p in a.points] == [p[2] for p in b.points], where
        np.testing.assert_allclose(
            [p[:2] for p in a.points], [p[:2] for p in b.points], atol=tol, rtol=0, err_msg=where
        )
    elif isinstance(a, Mask):
        from lightable.imaging import masks

        assert isinstance(b, Mask)
        assert np.array_equal(masks.decode(a), masks.decode(b)), where
    else:
        assert isinstance(a, Tag) and isinstance(b, Tag), where


def by_path(ds: Dataset) -> dict[str, Any]:
    return {im.path: im for im in ds.images}


def write_json(path: Path, data: Any) -> Path:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def tiny_jpeg(path: Path, w: int = 64, h: int = 48) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (120, 130, 140)).save(path, "JPEG")
    return path
