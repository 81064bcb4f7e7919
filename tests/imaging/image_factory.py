"""Small real image files for tests (written with Pillow), and hostile ones."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def pattern(width: int, height: int, seed: int = 0) -> np.ndarray:
    """An H x W x 3 image: a gradient plus a little noise (compresses like a photo)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [x * 255 / max(1, width - 1), y * 255 / max(1, height - 1), (x + y + seed * 17) % 256],
        axis=-1,
    )
    base += rng.normal(0, 6, base.shape)
    return np.clip(base, 0, 255).astype(np.uint8)


def halves(width: int, height: int) -> np.ndarray:
    """Left half red, right half blue: shows where a rotation put things."""
    a = np.zeros((height, width, 3), np.uint8)
    a[:, : width // 2] = (255, 0, 0)
    a[:, width // 2 :] = (0, 0, 255)
    return a


def write(path: Path, array: np.ndarray, fmt: str | None = None, orientation: int | None = None,
          **save: object) -> Path:  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(array)
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        save["exif"] = exif.tobytes()
    im.save(path, format=fmt, **save)
    return path


def jpeg(path: Path, width: int = 64, height: int = 48, seed: int = 0, **kw: object) -> Path:
    return write(path, pattern(width, height, seed), "JPEG", quality=90, **kw)  # type: ignore[arg-type]


def png(path: Path, width: int = 64, height: int = 48, seed: int = 0) -> Path:
    return write(path, pattern(width, height, seed), "PNG")


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_bomb(path: Path, width: int = 100_000, height: int = 100_000) -> Path:
    """A valid, tiny PNG whose header claims ``width`` x ``height`` pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def truncate(path: Path, keep: float | int = 0.5) -> Path:
    """Cut the file to ``keep`` bytes (int) or that fraction of its size (float)."""
    data = path.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep
    path.write_bytes(data[:n])
    return path


def photo_like(
    width: int = 1280, height: int = 960, seed: int = 0, noise: float = 8.0
) -> np.ndarray:
    """Smooth shapes, gradients and sensor-like noise: compresses roughly like a photo.

    ``noise`` sets the JPEG size: about 8 gives ~250 KB at 1280x960 and quality 90,
    about 2 gives ~90 KB.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    fx, fy, phase = rng.uniform(0.002, 0.02), rng.uniform(0.002, 0.02), rng.uniform(0, 6.3)
    r = 128 + 90 * np.sin(x * fx + phase) * np.cos(y * fy)
    g = 255 * (x / width) * 0.6 + 255 * (y / height) * 0.4
    b = 128 + 100 * np.sin((x + y) * fx * 0.5 + phase * 2)
    img = np.stack([r, g, b], axis=-1)
    for _ in range(12):  # a few flat "objects" with edges
        cx, cy = rng.integers(0, width), rng.integers(0, height)
        rad = rng.integers(height // 20, height // 5)
        mask = (x - cx) ** 2 + (y - cy) ** 2 < rad**2
        img[mask] = rng.uniform(0, 255, 3)
    img += rng.normal(0, noise, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)
