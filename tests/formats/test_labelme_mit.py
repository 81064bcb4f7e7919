"""LabelMe 3.0 XML (MIT CSAIL): its own reader, never mistaken for labelme JSON or VOC."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lightable.core.errors import BadInputError
from lightable.core.geometry import Box, Mask, Polygon
from lightable.formats import cvat, labelme, labelme_mit
from lightable.formats.model import Report
from lightable.imaging import masks as mask_ops

SAMPLE = "labelme_mit_xml/datumaro-labelme_dataset"


def test_fixture(fixtures_dir: Path) -> None:
    report = Report()
    ds = labelme_mit.read(fixtures_dir / SAMPLE, report)
    # 1 XML, 7 <object>s (none deleted), 7 distinct names.
    assert (len(ds.images), ds.object_count(), len(ds.labels)) == (1, 7, 7)
    assert not report.issues
    im = ds.images[0]
    assert (im.path, im.width, im.height) == ("Images/subset1/img1.png", 102, 77)
    kinds = [(o.label, type(o.geometry)) for o in im.objects]
    assert kinds == [
        ("window", Polygon), ("license plate", Mask), ("o1", Polygon), ("q1", Polygon),
        ("b1", Box), ("m1", Mask), ("hg", Polygon),
    ]  # fmt: skip
    by = {o.label: o for o in im.objects}
    assert by["b1"].geometry == Box(13, 19, 10, 11)  # <type>bounding_box</type>
    assert by["o1"].attributes == {"a1": True, "occluded": True}
    # Parts: o1 has parts q1, b1; m1 has part hg -> groups named by the root object's id.
    assert [by[n].group for n in ("o1", "q1", "b1", "m1", "hg", "window")] == [2, 2, 2, 5, 5, None]
    plate = by["license plate"].geometry
    assert isinstance(plate, Mask) and (plate.height, plate.width) == (77, 102)
    assert mask_ops.decode(plate).sum() == plate.area() > 0


def test_single_xml_finds_the_dataset_root(fixtures_dir: Path) -> None:
    ds = labelme_mit.read(fixtures_dir / SAMPLE / "Annotations/subset1/img1.xml", Report())
    assert Path(ds.root) == (fixtures_dir / SAMPLE).resolve()
    assert ds.images[0].path == "Images/subset1/img1.png" and ds.object_count() == 7


def test_detection_trap(fixtures_dir: Path) -> None:
    mit = fixtures_dir / SAMPLE
    assert labelme_mit.detect(mit) > 0.8
    assert labelme.detect(mit) == 0.0 and cvat.detect(mit) == 0.0
    for voc in (fixtures_dir / "voc").iterdir():
        assert labelme_mit.detect(voc) == 0.0, voc  # VOC shares <annotation> but has <bndbox>
        for xml in list(voc.rglob("*.xml"))[:3]:
            assert labelme_mit.detect(xml) == 0.0
    for lm in (fixtures_dir / "labelme").iterdir():
        assert labelme_mit.detect(lm) == 0.0


def test_voc_file_is_refused(fixtures_dir: Path) -> None:
    xml = next((fixtures_dir / "voc").rglob("Annotations/*.xml"))
    with pytest.raises(BadInputError, match=r"not a LabelMe 3\.0 XML"):
        labelme_mit.read(xml, Report())


def test_missing_mask_keeps_box_and_deleted_objects(fixtures_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "d"
    shutil.copytree(fixtures_dir / SAMPLE, root)
    (root / "Masks/subset1/img1_mask_5.png").unlink()
    xml = root / "Annotations/subset1/img1.xml"
    xml.write_text(
        xml.read_text().replace(
            "<deleted>0</deleted><verified>0</verified><occluded>no</occluded><attributes/>",
            "<deleted>1</deleted><verified>0</verified><occluded>no</occluded><attributes/>",
            1,
        )
    )
    report = Report()
    ds = labelme_mit.read(root, report)
    by = {o.label: o for o in ds.images[0].objects}
    assert "license plate" not in by  # deleted
    assert by["m1"].geometry == Box(56, 14, 14, 9)
    assert "not found; kept its box" in report.warnings[0].problem
    assert ds.object_count() == 6


@pytest.mark.parametrize(
    ("xml", "problem"),
    [
        (
            "<annotation><filename>a.png</filename><object><name>x</name><polygon><pt><x>nan</x><y>1</y></pt></polygon></object></annotation>",
            "not a finite number",
        ),
        (
            "<annotation><filename>a.png</filename><object><name>x</name><polygon><pt><x>1</x><y>1</y></pt></polygon></object></annotation>",
            "needs 3",
        ),
        (
            "<annotation><filename>a.png</filename><object><name></name><polygon/></object></annotation>",
            "no <name>",
        ),
        (
            "<annotation><filename>../../a.png</filename><object><name>x</name><polygon/></object></annotation>",
            "escapes the import root",
        ),
    ],
)
def test_bad_objects(tmp_path: Path, xml: str, problem: str) -> None:
    (tmp_path / "a.xml").write_text(xml)
    (tmp_path / "b.xml").write_text(
        "<annotation><filename>b.png</filename><object><name>y</name><polygon><pt><x>1</x><y>1</y></pt><pt><x>2</x><y>1</y></pt><pt><x>2</x><y>2</y></pt></polygon></object></annotation>"
    )
    report = Report()
    ds = labelme_mit.read(tmp_path, report)
    assert problem in report.errors[0].problem and report.errors[0].file == str(tmp_path / "a.xml")
    assert ds.object_count() == 1 and np.isclose(ds.images[-1].objects[0].geometry.area(), 0.5)


def test_entities_refused(tmp_path: Path) -> None:
    p = tmp_path / "a.xml"
    p.write_text('<!DOCTYPE a [<!ENTITY e "x">]><annotation><filename>&e;</filename></annotation>')
    with pytest.raises(BadInputError, match="DOCTYPE"):
        labelme_mit.read(p, Report())


def test_auto_detect_and_import(project: Any, fixtures_dir: Path) -> None:
    from lightable.formats.project_io import import_path

    summary = import_path(project, fixtures_dir / SAMPLE, "auto")
    assert summary.format == "labelme_mit"
    assert (summary.images_added, summary.annotations, summary.labels_created) == (1, 7, 7)
    assert "detected format labelme_mit" in summary.report.infos[0].problem
