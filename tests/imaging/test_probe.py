"""Header probing: sizes without decoding, orientation, and every kind of bad file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lightable.core.errors import BadInputError
from lightable.imaging import safety
from lightable.imaging.probe import probe_image
from tests.imaging import image_factory as f


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("a.jpg", "JPEG", "JPEG"),
        ("a.png", "PNG", "PNG"),
        ("a.tif", "TIFF", "TIFF"),
        ("a.bmp", "BMP", "BMP"),
        ("a.webp", "WEBP", "WEBP"),
    ],
)
def test_probe_reads_size_of_each_supported_format(
    tmp_path: Path, name: str, fmt: str, expected: str
) -> None:
    p = f.write(tmp_path / name, f.pattern(70, 30), fmt)
    h = probe_image(p)
    assert (h.width, h.height) == (70, 30)
    assert h.format == expected
    assert h.orientation == 1
    st = os.stat(p)
    assert h.file_size == st.st_size
    assert h.mtime_ns == st.st_mtime_ns


def test_compressed_tiff_and_grey_bmp(tmp_path: Path) -> None:
    a = f.pattern(33, 21)
    p = f.write(tmp_path / "lzw.tif", a, "TIFF", compression="tiff_lzw")
    assert (probe_image(p).width, probe_image(p).height) == (33, 21)
    g = f.write(tmp_path / "g.bmp", a[..., 0], "BMP")
    assert probe_image(g).format == "BMP"


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_exif_rotation_swaps_displayed_sides(tmp_path: Path, orientation: int) -> None:
    p = f.jpeg(tmp_path / "rot.jpg", 80, 20, orientation=orientation)
    h = probe_image(p)
    assert h.orientation == orientation
    assert (h.width, h.height) == (20, 80)


@pytest.mark.parametrize("orientation", [2, 3, 4])
def test_exif_flips_keep_sides(tmp_path: Path, orientation: int) -> None:
    h = probe_image(f.jpeg(tmp_path / "flip.jpg", 80, 20, orientation=orientation))
    assert (h.orientation, h.width, h.height) == (orientation, 80, 20)


def test_bogus_orientation_value_is_ignored(tmp_path: Path) -> None:
    h = probe_image(f.jpeg(tmp_path / "odd.jpg", 80, 20, orientation=42))
    assert (h.orientation, h.width, h.height) == (1, 80, 20)


def test_wrong_extension_is_fine_when_content_is_an_image(tmp_path: Path) -> None:
    p = f.write(tmp_path / "really_png.jpg", f.pattern(10, 12), "PNG")
    h = probe_image(p)
    assert (h.format, h.width, h.height) == ("PNG", 10, 12)


def test_jpeg_with_zero_padding_or_trailer_is_complete(tmp_path: Path) -> None:
    p = f.jpeg(tmp_path / "pad.jpg", 300, 200)
    with open(p, "ab") as fp:
        fp.write(b"\x00" * 300)
    assert probe_image(p).width == 300
    q = f.jpeg(tmp_path / "trailer.jpg", 300, 200)
    with open(q, "ab") as fp:
        fp.write(b"SEFT vendor trailer" * 5)
    assert probe_image(q).width == 300


def _problem(p: Path) -> str:
    with pytest.raises(BadInputError) as info:
        probe_image(p)
    assert info.value.path == str(p)  # the message names the file
    assert str(p) in str(info.value)
    return info.value.problem


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    assert _problem(p) == "empty file"


def test_text_file_named_jpg(tmp_path: Path) -> None:
    p = tmp_path / "notes.jpg"
    p.write_text("these are not pixels\n" * 10)
    assert _problem(p) == "not an image"


def test_unsupported_format_is_named(tmp_path: Path) -> None:
    p = tmp_path / "anim.png"
    Image.new("RGB", (8, 8)).save(p, format="GIF")
    assert _problem(p) == "unsupported format (GIF)"


def test_truncated_jpeg(tmp_path: Path) -> None:
    p = f.truncate(f.jpeg(tmp_path / "cut.jpg", 200, 150), 0.6)
    assert _problem(p) == "truncated JPEG (no end marker)"


def test_jpeg_cut_inside_header(tmp_path: Path) -> None:
    p = f.truncate(f.jpeg(tmp_path / "stub.jpg", 200, 150), 40)
    assert "JPEG" in _problem(p)


def test_truncated_png(tmp_path: Path) -> None:
    p = f.truncate(f.png(tmp_path / "cut.png", 200, 150), 0.7)
    assert _problem(p) == "truncated PNG (no IEND chunk)"


def test_truncated_webp_bmp_tiff(tmp_path: Path) -> None:
    a = f.pattern(120, 90)
    assert "WebP" in _problem(f.truncate(f.write(tmp_path / "w.webp", a, "WEBP"), 0.5))
    assert "BMP" in _problem(f.truncate(f.write(tmp_path / "b.bmp", a, "BMP"), 0.5))
    assert "TIFF" in _problem(f.truncate(f.write(tmp_path / "t.tif", a, "TIFF"), 0.5))


def test_decompression_bomb_png(tmp_path: Path) -> None:
    p = f.png_bomb(tmp_path / "bomb.png", 100_000, 100_000)
    assert p.stat().st_size < 200
    problem = _problem(p)
    assert problem.startswith("image claims 100000 x 100000 pixels (limit")


def test_too_wide_even_if_few_pixels(tmp_path: Path) -> None:
    p = f.png_bomb(tmp_path / "strip.png", safety.MAX_SIDE + 1, 2)
    assert _problem(p).startswith(f"image claims {safety.MAX_SIDE + 1} x 2 pixels")


def test_pillow_limit_is_set_from_safety() -> None:
    assert Image.MAX_IMAGE_PIXELS == safety.MAX_PIXELS


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert _problem(tmp_path / "nothing.jpg") == "file not found"
    assert _problem(tmp_path) == "is a folder, not a file"


def test_probe_does_not_decode_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = f.jpeg(tmp_path / "a.jpg", 64, 48)

    def boom(self: Image.Image) -> None:
        raise AssertionError("probe decoded pixels")

    monkeypatch.setattr(Image.Image, "load", boom)
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile.ImageFile, "load", boom)
    assert probe_image(p).width == 64


def test_high_orientation_png_exif_is_read_from_header(tmp_path: Path) -> None:
    p = f.write(tmp_path / "rot.png", np.zeros((10, 30, 3), np.uint8), "PNG", orientation=6)
    h = probe_image(p)
    assert (h.orientation, h.width, h.height) == (6, 10, 30)


def _patch_jpeg_size(p: Path, width: int, height: int) -> Path:
    """Rewrite the SOF0 frame header of a baseline JPEG to claim another size."""
    data = bytearray(p.read_bytes())
    i = data.index(b"\xff\xc0")
    data[i + 5 : i + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    p.write_bytes(bytes(data))
    return p


# Pillow warns past its MAX_IMAGE_PIXELS; safety.py silences that for the app, but
# pytest restores the warning filters around each test.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(("w", "h"), [(65000, 65000), (40000, 40000)])
def test_jpeg_claiming_huge_dimensions(tmp_path: Path, w: int, h: int) -> None:
    # 65000^2 trips Pillow's own bomb error at open; 40000^2 only our limit.
    p = _patch_jpeg_size(f.jpeg(tmp_path / "huge.jpg", 64, 48), w, h)
    assert _problem(p).startswith(f"image claims {w} x {h} pixels (limit")
