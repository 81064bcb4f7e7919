"""``--format auto``: every shared fixture is recognised as what it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightable.core.errors import BadInputError
from lightable.formats import registry
from lightable.formats.detect import detect_all, detect_format

# Fixture folder -> format name. Other helpers' formats are included when they are registered.
EXPECTED = {
    "coco_instances": "coco",
    "coco_keypoints": "coco",
    "coco_results": "coco",
    "voc": "voc",
    "yolo": "yolo",
    "labelme": "labelme",
    "cvat_xml": "cvat",
    "label_studio": "label_studio",
    "cityscapes": "cityscapes",
    "coco_panoptic": "coco_panoptic",
}


def _samples(fx: Path) -> list[tuple[Path, str]]:
    names = {s.name for s in registry.all_formats()}
    out = []
    for folder, fmt in EXPECTED.items():
        if fmt not in names:
            continue
        out += [(s, fmt) for s in sorted((fx / folder).iterdir()) if s.is_dir()]
    return out


def test_every_fixture_detected(fx: Path) -> None:
    samples = _samples(fx)
    assert len(samples) >= 24  # coco 10, voc 4, yolo 11 at least
    wrong = []
    for path, fmt in samples:
        name, conf, reason = detect_format(path)
        if name != fmt:
            wrong.append((path.name, fmt, name, detect_all(path)[:3]))
        assert reason and 0.3 <= conf <= 1.0
    assert not wrong


@pytest.mark.parametrize(
    ("rel", "fmt"),
    [
        ("coco_keypoints/mmpose-coco/test_coco.json", "coco"),
        ("coco_results/mmpose-coco_det_results/test_coco_det_AP_H_56.json", "coco"),
        ("yolo/cvat-datumaro-yolov8_pose/data.yaml", "yolo"),
        ("yolo/datumaro-yolo_strict/obj.data", "yolo"),
        ("voc/datumaro-voc_dataset3/Annotations/2007_000001.xml", "voc"),
    ],
)
def test_single_files(fx: Path, rel: str, fmt: str) -> None:
    assert detect_format(fx / rel)[0] == fmt


def test_mit_labelme_xml_is_not_labelme_json(fx: Path) -> None:
    path = fx / "labelme_mit_xml/datumaro-labelme_dataset"
    scores = dict((n, c) for n, c, _ in detect_all(path))
    assert scores.get("labelme", 0.0) == 0.0
    assert scores.get("voc", 0.0) == 0.0  # <annotation> with <polygon>, not <bndbox>
    names = {s.name for s in registry.all_formats()}
    if "labelme_mit" in names:
        assert detect_format(path)[0] == "labelme_mit"
    else:
        with pytest.raises(BadInputError, match=r"LabelMe 3\.0 XML"):
            detect_format(path)


def test_unknown_and_missing(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello world\n")
    with pytest.raises(BadInputError, match="cannot tell the annotation format"):
        detect_format(tmp_path)
    with pytest.raises(BadInputError, match="not found"):
        detect_format(tmp_path / "nope")


def test_registry_lists_formats_and_aliases() -> None:
    names = [s.name for s in registry.all_formats()]
    assert names[:3] == ["coco", "yolo", "voc"]
    assert registry.get("Ultralytics").name == "yolo"
    assert registry.get("pascal-voc").name == "voc"
    from lightable.formats.registry import UnknownFormatError

    with pytest.raises(UnknownFormatError, match=r"unknown format 'nope'; known formats: .*coco"):
        registry.get("nope")
