"""Decoding to upright RGB, draft-mode reduction, and refusing broken files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lightable.core.errors import BadInputError
from lightable.imaging.decode import fit_size, load_array, load_image
from tests.imaging import image_factory as f


def test_load_image_is_rgb_full_size(tmp_path: Path) -> None:
    im = load_image(f.png(tmp_path / "a.png", 40, 30))
    assert (im.mode, im.size) == ("RGB", (40, 30))


def test_load_array_shape_and_dtype(tmp_path: Path) -> None:
    a = load_array(f.write(tmp_path / "a.bmp", f.pattern(17, 9), "BMP"))
    assert a.shape == (9, 17, 3)
    assert a.dtype == np.uint8


def test_orientation_6_is_turned_upright(tmp_path: Path) -> None:
    # Stored: red left half, blue right half. Orientation 6 = rotate 90 deg clockwise
    # to display, so red ends up on top.
    p = f.write(tmp_path / "rot.jpg", f.halves(80, 40), "JPEG", orientation=6, quality=95)
    a = load_array(p)
    assert a.shape == (80, 40, 3)
    top, bottom = a[10, 20], a[70, 20]
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


def test_orientation_3_is_turned_upright(tmp_path: Path) -> None:
    p = f.write(tmp_path / "rot.png", f.halves(80, 40), "PNG", orientation=3)
    a = load_array(p)
    assert a.shape == (40, 80, 3)
    assert tuple(a[20, 5]) == (0, 0, 255)  # blue is now on the left
    assert tuple(a[20, 75]) == (255, 0, 0)


def test_max_side_uses_draft_and_keeps_aspect(tmp_path: Path) -> None:
    p = f.jpeg(tmp_path / "big.jpg", 1280, 960)
    im = load_image(p, max_side=256)
    assert im.size == (256, 192)
    rot = f.jpeg(tmp_path / "rot.jpg", 1280, 960, orientation=8)
    assert load_image(rot, max_side=256).size == (192, 256)


def test_max_side_never_enlarges(tmp_path: Path) -> None:
    assert load_image(f.jpeg(tmp_path / "s.jpg", 50, 20), max_side=256).size == (50, 20)


def test_fit_size() -> None:
    assert fit_size(1280, 960, 256) == (256, 192)
    assert fit_size(960, 1280, 256) == (192, 256)
    assert fit_size(10000, 1, 100) == (100, 1)
    assert fit_size(10, 10, 100) == (10, 10)


def test_sixteen_bit_grey_is_stretched(tmp_path: Path) -> None:
    a = (np.arange(64 * 32).reshape(32, 64) * 3).astype(np.uint16)  # 0..6141 of 65535
    p = tmp_path / "depth.png"
    Image.fromarray(a).save(p)
    out = load_array(p)
    assert out.shape == (32, 64, 3)
    assert out.min() == 0 and out.max() == 255


def test_palette_with_transparency(tmp_path: Path) -> None:
    p = tmp_path / "pal.png"
    im = Image.new("P", (8, 8), 1)
    im.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    im.info["transparency"] = 0
    im.save(p, transparency=0)
    assert tuple(load_array(p)[0, 0]) == (10, 200, 30)


@pytest.mark.parametrize(
    ("make", "expect"),
    [
        (lambda d: f.truncate(f.jpeg(d / "cut.jpg", 300, 200), 0.5), "truncated"),
        (lambda d: f.png_bomb(d / "bomb.png"), "image claims"),
        (lambda d: (d / "t.jpg").write_text("hello") and d / "t.jpg", "not an image"),
        (lambda d: f.truncate(f.png(d / "cut.png", 300, 200), 0.5), ""),
    ],
)
def test_broken_files_raise_bad_input(tmp_path: Path, make, expect: str) -> None:  # type: ignore[no-untyped-def]
    p = make(tmp_path)
    with pytest.raises(BadInputError) as info:
        load_image(p)
    assert expect in info.value.problem
    assert str(p) in str(info.value)
