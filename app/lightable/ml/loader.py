"""Decoding images in parallel with the model.

Two strategies, same output (batches of :class:`Decoded`, in input order):

- ``threads`` (default): a thread pool decodes ahead of the model into a
  bounded window. Pillow releases the GIL while decoding and resizing, so
  threads overlap with torch's own kernels; nothing is forked, which keeps a
  GUI process (Qt threads, open database connections) safe.
- ``processes``: torch's DataLoader with worker processes, for machines where
  Python-side work per image is the bottleneck.

Images are decoded at most at the size the model will use (JPEG draft mode
makes big photos cheap), kept as uint8 HWC, pinned when the device is CUDA,
and moved with ``non_blocking=True``; conversion to float happens on the device.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lightable.core.errors import BadInputError
from lightable.imaging.decode import fit_size
from lightable.ml.runtime import InputSpec

if TYPE_CHECKING:
    import torch
    from PIL import Image as PILImage

LOADERS = ("threads", "processes")


@dataclass(frozen=True, slots=True)
class Item:
    image_id: int
    path: str
    orig_hw: tuple[int, int] = (0, 0)  # as displayed (EXIF applied); (0, 0) when unknown


@dataclass(slots=True)
class Decoded:
    image_id: int
    array: torch.Tensor | None  # uint8 H x W x 3 (CPU, pinned on CUDA)
    input_hw: tuple[int, int]
    orig_hw: tuple[int, int]
    error: str | None = None


def default_workers() -> int:
    return max(1, min(8, (os.cpu_count() or 2) - 1))


def _open(
    path: str, max_side: int | None, known_hw: tuple[int, int]
) -> tuple[PILImage.Image, tuple[int, int]]:
    """RGB image (EXIF orientation applied), at most ``max_side``; and its full size (h, w).

    The full size comes from the index (``known_hw``) so big photos decode only
    at the size the model uses; when the decoded image disagrees with the index
    (the file changed), it is decoded again at full size and that size wins.
    """
    from lightable.imaging.decode import load_image

    kh, kw = known_hw
    if max_side is None or kh <= 0 or kw <= 0 or max(kh, kw) <= max_side:
        img = load_image(path)
        return img, (img.height, img.width)
    img = load_image(path, max_side)
    expect_w, expect_h = fit_size(kw, kh, max_side)
    if abs(img.width - expect_w) > 1 or abs(img.height - expect_h) > 1:
        img = load_image(path)  # the index is stale
        return img, (img.height, img.width)
    return img, (kh, kw)


def prepare(img: PILImage.Image, spec: InputSpec) -> PILImage.Image:
    from PIL import Image

    if spec.size is not None:
        h, w = spec.size
        if img.size != (w, h):
            img = img.resize((w, h), Image.Resampling.BILINEAR)
    elif spec.resize_short:
        s = spec.resize_short
        w, h = img.size
        scale = s / min(w, h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        if (nw, nh) != (w, h):
            img = img.resize((nw, nh), Image.Resampling.BILINEAR)
    if spec.crop is not None:
        ch, cw = spec.crop
        w, h = img.size
        left, top = max(0, (w - cw) // 2), max(0, (h - ch) // 2)
        img = img.crop((left, top, left + cw, top + ch))
    return img


def decode_item(item: Item, spec: InputSpec, pin: bool = False) -> Decoded:
    """Decode and prepare one image; never raises for a bad file (the error is kept)."""
    import numpy as np
    import torch

    try:
        max_side = spec.max_side if spec.size is None and not spec.resize_short else None
        img, full = _open(item.path, max_side, item.orig_hw)
        img = prepare(img, spec)
        arr = np.array(img, dtype=np.uint8)  # writable: torch refuses read-only buffers
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(f"unexpected decoded shape {arr.shape}")
        t = torch.from_numpy(arr)
        if pin:
            t = t.pin_memory()
        orig = full if spec.crop is None else (int(arr.shape[0]), int(arr.shape[1]))
        return Decoded(item.image_id, t, (int(arr.shape[0]), int(arr.shape[1])), orig)
    except Exception as exc:  # hostile input: record, go on with the others
        if isinstance(exc, BadInputError):
            msg = str(exc)
        else:
            msg = f"{item.path}: cannot decode ({type(exc).__name__}: {exc})"
        return Decoded(item.image_id, None, (0, 0), item.orig_hw, msg[:500])


def to_device(batch: list[Decoded], device: torch.device) -> list[torch.Tensor]:
    """uint8 HWC CPU tensors -> uint8 CHW device tensors (copies overlap with compute on CUDA)."""
    nb = device.type == "cuda"
    # Contiguous CHW: a permuted (channels-last) view sends convolutions down a
    # slower path on the CPU (about 30% slower measured with SSDlite).
    return [
        d.array.to(device, non_blocking=nb).permute(2, 0, 1).contiguous()
        for d in batch
        if d.array is not None
    ]


def thread_batches(
    items: Iterable[Item],
    spec: InputSpec,
    batch_size: int,
    workers: int,
    pin: bool = False,
    prefetch_batches: int = 2,
) -> Iterator[list[Decoded]]:
    """Batches in input order, decoding at most ``(prefetch_batches + 1) * batch_size`` ahead."""
    window = max(batch_size, (prefetch_batches + 1) * batch_size)
    pending: collections.deque[cf.Future[Decoded]] = collections.deque()
    it = iter(items)
    exhausted = False
    with cf.ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="decode") as ex:
        try:
            while True:
                while not exhausted and len(pending) < window:
                    try:
                        item = next(it)
                    except StopIteration:
                        exhausted = True
                        break
                    pending.append(ex.submit(decode_item, item, spec, pin))
                if not pending:
                    return
                n = min(batch_size, len(pending))
                yield [pending.popleft().result() for _ in range(n)]
        finally:
            for f in pending:
                f.cancel()


class _ItemDataset:
    """Map-style dataset for torch's DataLoader (must pickle: plain data only)."""

    def __init__(self, items: list[Item], spec: InputSpec) -> None:
        self.items = items
        self.spec = spec

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Decoded:
        return decode_item(self.items[i], self.spec)


def _collate(batch: list[Decoded]) -> list[Decoded]:
    return batch


def process_batches(
    items: Iterable[Item],
    spec: InputSpec,
    batch_size: int,
    workers: int,
    pin: bool = False,
) -> Iterator[list[Decoded]]:
    from torch.utils.data import DataLoader

    ds = _ItemDataset(list(items), spec)
    if not len(ds):
        return
    dl: Any = DataLoader(
        ds,  # type: ignore[arg-type]
        batch_size=batch_size,
        shuffle=False,
        num_workers=max(1, workers),
        collate_fn=_collate,
        prefetch_factor=2,
        persistent_workers=False,
    )
    for batch in dl:
        if pin:
            for d in batch:
                if d.array is not None:
                    d.array = d.array.pin_memory()
        yield batch


def _inline_batches(
    items: Iterable[Item], spec: InputSpec, batch_size: int, pin: bool
) -> Iterator[list[Decoded]]:
    batch: list[Decoded] = []
    for item in items:
        batch.append(decode_item(item, spec, pin))
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def batches(
    items: Iterable[Item],
    spec: InputSpec,
    batch_size: int,
    workers: int | None = None,
    loader: str = "threads",
    pin: bool = False,
) -> Iterator[list[Decoded]]:
    w = default_workers() if workers is None else workers
    if w == 0:  # decode in the caller's thread (one core, or debugging)
        return _inline_batches(items, spec, batch_size, pin)
    if loader == "processes":
        return process_batches(items, spec, batch_size, w, pin)
    if loader != "threads":
        raise ValueError(f"loader must be one of {LOADERS}, got {loader!r}")
    return thread_batches(items, spec, batch_size, w, pin)
