from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from lightable.ml.loader import Item, batches, decode_item, prepare
from lightable.ml.runtime import InputSpec


def _files(tmp_path: Path, n: int) -> list[Item]:
    items = []
    for i in range(n):
        p = tmp_path / f"{i}.png"
        PILImage.fromarray(np.full((30, 40, 3), i, np.uint8)).save(p)
        items.append(Item(i, str(p), (30, 40)))
    (tmp_path / "bad.png").write_bytes(b"nope")
    items.append(Item(99, str(tmp_path / "bad.png"), (30, 40)))
    return items


def test_threads_and_inline_give_the_same_batches_in_order(tmp_path: Path) -> None:
    items = _files(tmp_path, 7)
    spec = InputSpec()
    for workers in (0, 1, 3):
        got = list(batches(items, spec, 3, workers))
        assert [len(b) for b in got] == [3, 3, 2]
        flat = [d for b in got for d in b]
        assert [d.image_id for d in flat] == [*range(7), 99]
        assert all(int(d.array[0, 0, 0]) == d.image_id for d in flat[:7])
        assert flat[-1].array is None and "bad.png" in flat[-1].error


def test_downscale_keeps_the_full_size(tmp_path: Path) -> None:
    p = tmp_path / "big.jpg"
    PILImage.fromarray(np.zeros((300, 400, 3), np.uint8)).save(p)
    d = decode_item(Item(1, str(p), (300, 400)), InputSpec(max_side=100))
    assert d.input_hw == (75, 100) and d.orig_hw == (300, 400)
    # A stale index (the file changed): the real size wins.
    d = decode_item(Item(1, str(p), (600, 400)), InputSpec(max_side=100))
    assert d.orig_hw == (300, 400)


def test_prepare_resize_and_crop() -> None:
    im = PILImage.new("RGB", (400, 200))
    assert prepare(im, InputSpec(resize_short=100, crop=(80, 80))).size == (80, 80)
    assert prepare(im, InputSpec(resize_short=100)).size == (200, 100)
    assert prepare(im, InputSpec(size=(32, 48))).size == (48, 32)
