"""Helpers for the model-in-the-loop tests: tiny generated images in a project."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from lightable.core.model import Image
from lightable.store.project import Project


def add_images(
    project: Project,
    folder: Path,
    sizes: list[tuple[int, int]],
    broken: int = 0,
    fmt: str = "png",
) -> list[int]:
    """Write images of the given (w, h) sizes (plus ``broken`` unreadable files) and index them.

    Returns the image ids in the order of ``sizes`` then the broken ones.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(sizes))
    rows = []
    for i, (w, h) in enumerate(sizes):
        a = (rng.random((h, w, 3)) * 255).astype(np.uint8)
        a[h // 4 : h // 2, w // 4 : w // 2] = (250, 20, 20)  # something object-like
        name = f"img_{i:04d}.{fmt}"
        PILImage.fromarray(a).save(folder / name)
        rows.append(Image(path=name, root_id=0, width=w, height=h))
    for j in range(broken):
        name = f"broken_{j}.{fmt}"
        (folder / name).write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
        rows.append(Image(path=name, root_id=0, width=32, height=32))
    rid = project.add_root(folder)
    for r in rows:
        r.root_id = rid
    project.images.insert_many(rows)
    by_path = {im.path: im.id for im in project.images.page(_all(), limit=100_000)}
    return [by_path[r.path] for r in rows]


def _all():
    from lightable.store.images import ImageQuery

    return ImageQuery()


@pytest.fixture
def torch_threads():
    """One torch thread: the suite shares 2 cores with other work, and OpenMP threads
    that wait on each other under contention are many times slower than one."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(n)
