"""Canvas rendering internals that the pixel tests rely on: mask sprites, the mask
opacity rule, stand-in tiles after an edit, and the canvas's JPEG decoder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter

from lightable.core.commands import AddAnnotation
from lightable.core.model import Annotation, Image
from lightable.imaging import masks
from lightable.imaging.decode import load_array
from lightable.ui.canvas.painting import MaskCache, mask_opacity
from tests.ui.test_canvas_support import Env, make_env


@dataclass
class FakeDoc:
    """What MaskCache reads from a document: the annotation and its decoded pixels."""

    array: np.ndarray
    version: int = 1
    label: int = 1

    def get(self, ann_id: int) -> Annotation:
        return Annotation(1, self.label, masks.encode(self.array), version=self.version, id=ann_id)

    def mask_array(self, ann_id: int) -> np.ndarray:
        return self.array


def sprite_rgba(sprite) -> np.ndarray:
    img = sprite.image.convertToFormat(QImage.Format.Format_RGBA8888)
    ptr = img.constBits()
    arr = np.frombuffer(ptr, np.uint8).reshape(img.height(), img.bytesPerLine())
    return arr[:, : img.width() * 4].reshape(img.height(), img.width(), 4).copy()


@pytest.mark.parametrize("order", ["C", "F"])
def test_mask_sprite_is_the_mask_in_its_colour(qtbot, order: str) -> None:
    m = np.zeros((60, 90), np.uint8)
    m[10:30, 20:70] = 1
    m[40:52, 5:15] = 1
    m[15:20, 30:40] = 0  # a hole
    doc = FakeDoc(np.asarray(m, order=order))
    sprite = MaskCache().get(doc, 7, QColor("#59a14f"))
    assert (sprite.x0, sprite.y0) == (5, 10)
    rgba = sprite_rgba(sprite)
    crop = m[10:52, 5:70]
    assert rgba.shape[:2] == crop.shape
    on = crop.astype(bool)
    assert (rgba[on] == (0x59, 0xA1, 0x4F, 255)).all()
    assert (rgba[~on] == 0).all()
    assert not sprite.outline.isEmpty()


def test_mask_cache_drops_stale_versions_and_reuses_their_pixels(qtbot) -> None:
    m = np.zeros((40, 50), np.uint8, order="F")
    m[5:35, 5:45] = 1
    doc = FakeDoc(m)
    cache = MaskCache()
    color = QColor("#e15759")
    first = cache.get(doc, 3, color)
    assert cache.get(doc, 3, color) is first  # cached per (id, version, colour)
    buf = first.pixels
    m[20:25, 10:20] = 0  # a stroke inside the box: a new version, same size
    doc.version = 2
    second = cache.get(doc, 3, color)
    assert second is not first and second.pixels is buf  # painted into the old memory
    assert len(cache._items) == 1 and cache._bytes == buf.nbytes
    rgba = sprite_rgba(second)
    assert rgba[22 - 5, 15 - 5, 3] == 0 and rgba[10 - 5, 15 - 5, 3] == 255


def test_mask_opacity_is_one_rule_for_live_and_committed(qtbot) -> None:
    from lightable.ui.canvas import live_mask

    class Canvas:
        def fill_opacity(self) -> float:
            return 0.3

    assert mask_opacity(0.3) == pytest.approx(0.48)
    assert mask_opacity(0.0) == pytest.approx(0.15)  # masks never vanish with the fill
    assert mask_opacity(0.9) == 1.0
    assert mask_opacity(0.3, 0.5) == pytest.approx(0.24)
    ann = Annotation(1, 1, masks.encode(np.ones((4, 4), np.uint8)), attributes={"_opacity": 0.5})
    assert live_mask.mask_opacity(Canvas(), ann) == pytest.approx(mask_opacity(0.3, 0.5))
    bad = Annotation(1, 1, ann.geometry, attributes={"_opacity": "oops"})
    assert live_mask.mask_opacity(Canvas(), bad) == pytest.approx(mask_opacity(0.3))


@pytest.fixture
def env(project, tmp_path, qtbot) -> Env:
    return make_env(project, tmp_path, qtbot)


def test_an_edit_drops_stand_in_tiles(env: Env) -> None:
    """After a zoom, tiles of the old zoom stand in until the new ones are rendered; an edit
    (or a tool taking an object live) must drop them, or the old drawing shows through."""
    c = env.canvas
    m = np.zeros((480, 640), np.uint8)
    m[40:440, 40:600] = 1
    ev = env.doc.do(AddAnnotation(Annotation(env.doc.image_id, env.labels["car"], masks.encode(m))))
    ann_id = next(iter(ev.added))
    c.set_zoom(2.0)
    c.repaint()
    while not c.last_paint_complete:
        c.repaint()
    ov = c.overlay
    c.set_zoom(3.0)
    frame = QImage(c.size(), QImage.Format.Format_RGB32)
    p = QPainter(frame)
    complete = ov.paint_tiles(p, c.view(), QRectF(c.rect()), budget_s=0.0)
    p.end()
    assert not complete and ov._old_tiles  # stand-ins in use
    c.set_live_ids([ann_id])
    assert ov._old_tiles == {}
    c.set_live_ids(())


def _jpeg(path: Path, rgb: np.ndarray, orientation: int = 1) -> Path:
    im = PILImage.fromarray(rgb)
    exif = im.getexif()
    exif[0x0112] = orientation
    im.save(path, "JPEG", exif=exif.tobytes(), quality=92)
    return path


def test_jpeg_fast_path_matches_the_careful_decoder(tmp_path) -> None:
    from lightable.ui.canvas.image_layer import decode_flat, decode_jpeg_fast

    rng = np.random.default_rng(3)
    rgb = (rng.random((36, 52, 3)) * 255).astype(np.uint8)
    rgb[:12, :20] = (250, 10, 10)  # a corner that shows which way is up
    for orientation in range(1, 9):
        path = _jpeg(tmp_path / f"o{orientation}.jpg", rgb, orientation)
        fast = decode_jpeg_fast(path)
        assert fast is not None
        expected = load_array(path)
        assert np.array_equal(fast[:, :, ::-1], expected), orientation
        assert np.array_equal(decode_flat(path).rgb_array(), expected)
    grey = tmp_path / "grey.jpg"
    PILImage.fromarray(rgb[:, :, 0]).save(grey)
    assert np.array_equal(decode_jpeg_fast(grey)[:, :, ::-1], load_array(grey))
    # Not a JPEG, or a truncated one: the careful path (which reports damage).
    PILImage.fromarray(rgb).save(tmp_path / "x.png")
    assert decode_jpeg_fast(tmp_path / "x.png") is None
    cut = tmp_path / "cut.jpg"
    cut.write_bytes((tmp_path / "o1.jpg").read_bytes()[:-200])
    assert decode_jpeg_fast(cut) is None


def test_truncated_jpeg_still_shows_an_error(env: Env, tmp_path) -> None:
    folder = tmp_path / "images"
    rng = np.random.default_rng(1)
    good = _jpeg(folder / "good.jpg", (rng.random((120, 160, 3)) * 255).astype(np.uint8))
    (folder / "cut.jpg").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    root = next(iter(env.project.roots()))
    env.project.images.insert_many([Image("cut.jpg", root, 160, 120)])
    cut_id = env.project.images.by_path(root, "cut.jpg").id
    env.canvas.show_image(cut_id)
    env.qtbot.waitUntil(lambda: not env.canvas.is_loading(), timeout=5000)
    assert env.canvas.error() and "cut.jpg" in env.canvas.error()
