"""``lightable import`` / ``lightable export`` through the real command line entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lightable.cli import main
from tests.formats.conftest import counts


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    assert main(["init", str(tmp_path / "p")]) == 0
    return tmp_path / "p"


def test_import_auto_json_and_export(proj: Path, fx: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    capsys.readouterr()
    rc = main(
        ["import", str(proj), str(fx / "coco_keypoints/mmpose-coco/test_coco.json"), "--json"]
    )
    out = capsys.readouterr()
    assert rc == 0
    summary = json.loads(out.out)
    assert (summary["format"], summary["images_added"], summary["annotations"]) == ("coco", 4, 28)
    assert "detected format coco" in out.err
    rc = main(["export", str(proj), "--format", "yolo", str(tmp_path / "y"), "--json"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0 and res["images"] == 4 and res["objects"] == 28
    assert (tmp_path / "y" / "data.yaml").is_file()
    assert "kpt_shape: [17, 3]" in (tmp_path / "y" / "data.yaml").read_text()


def test_dry_run_writes_nothing(proj: Path, fx: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rc = main(
        ["import", str(proj), "-f", "voc", str(fx / "voc/labelme-bbox_detection-voc"), "--dry-run"]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "would import voc" in out and "annotations  9" in out
    from lightable.store.project import Project

    with Project.open(proj) as p:
        assert counts(p)["images"] == 0


def test_strict_error_is_one_line_exit_2(proj: Path, fx: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = fx / "coco_instances/mmdetection-tests-data/coco_wrong_format_sample.json"
    rc = main(["import", str(proj), "--format", "coco", str(bad), "--strict"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert (
        err[-1].startswith("lightable import: error: ") and "duplicate annotation id 1" in err[-1]
    )
    assert "nothing was written" in err[-1]
    rc = main(["import", str(proj), "--format", "coco", str(bad)])
    captured = capsys.readouterr()
    assert rc == 0 and "duplicate annotation id 1" in captured.err
    assert "skipped      1" in captured.out


def test_unreadable_input_exit_2(proj: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "x.json"
    f.write_text("{not json")
    assert main(["import", str(proj), "-f", "coco", str(f)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "malformed JSON" in err and str(f) in err
    assert main(["import", str(proj), "-f", "nope", str(f)]) == 2
    assert "unknown format 'nope'" in capsys.readouterr().err


def test_export_filters_and_run(proj: Path, fx: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    main(["import", str(proj), str(fx / "coco_keypoints/mmpose-coco/test_coco.json")])
    main(
        [
            "import",
            str(proj),
            str(fx / "coco_results/mmpose-coco_det_results/test_coco_det_AP_H_56.json"),
        ]
    )
    capsys.readouterr()
    out = tmp_path / "r"
    rc = main(
        ["export", str(proj), "-f", "coco", str(out), "--run", "1", "--threshold", "0.9", "--json"]
    )
    assert rc == 0
    dets = json.loads((out / "annotations" / "results_default.json").read_text())
    assert dets and all(d["score"] >= 0.9 for d in dets)
    rc = main(["export", str(proj), "-f", "coco", str(tmp_path / "l"), "--label", "nobody"])
    assert rc == 2 and "no label called 'nobody'" in capsys.readouterr().err
    rc = main(["export", str(proj), "-f", "voc", str(tmp_path / "v"), "--split", "none"])
    assert rc == 0 and (tmp_path / "v" / "labelmap.txt").is_file()
