"""``lightable add-images`` / ``thumbnails`` / ``init --images`` end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lightable.cli import main
from lightable.store.project import Project
from tests.imaging import image_factory as f

LIGHTABLE = Path(sys.executable).parent / "lightable"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    d = tmp_path / "photos"
    f.jpeg(d / "a.jpg", 64, 48)
    f.png(d / "nested" / "b.png", 30, 20)
    (d / "nested" / "notes.jpg").write_text("not a picture")
    return d


def test_add_images_json(tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proj = tmp_path / "proj"
    Project.create(proj).close()
    assert main(["add-images", str(proj), str(data), "--json", "--workers", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["added"] == 3
    assert out["broken"] == [{"path": "nested/notes.jpg", "reason": "not an image"}]
    assert main(["add-images", str(proj), str(data), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["added"], again["unchanged"]) == (0, 3)
    with Project.open(proj) as p:
        assert p.info()["images"]["total"] == 3


def test_add_images_summary_line(
    tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = tmp_path / "proj"
    Project.create(proj).close()
    assert main(["add-images", str(proj), str(data)]) == 0
    cap = capsys.readouterr()
    assert cap.out.startswith("indexed 1 folder: 3 added, 0 updated, 0 unchanged, 1 broken")
    assert "nested/notes.jpg: not an image" in cap.err
    assert "\x1b[K" not in cap.err  # no progress bar when stderr is not a terminal


def test_nonexistent_folder_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = tmp_path / "proj"
    Project.create(proj).close()
    assert main(["add-images", str(proj), str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"lightable add-images: error: {tmp_path / 'nope'}: no such folder"


def test_not_a_project(tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["add-images", str(tmp_path / "nothing"), str(data)]) == 2
    assert "not a Lightable project" in capsys.readouterr().err


def test_thumbnails_command(tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proj = tmp_path / "proj"
    Project.create(proj).close()
    main(["add-images", str(proj), str(data), "--json"])
    capsys.readouterr()
    assert main(["thumbnails", str(proj), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["written"], out["cached"]) == (3, 3)
    assert Path(out["cache"]) == proj / "cache" / "thumbnails.db"
    assert main(["thumbnails", str(proj)]) == 0
    assert capsys.readouterr().out.startswith("0 thumbnails made")


def test_init_with_images(tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proj = tmp_path / "proj"
    assert main(["init", str(proj), "--images", str(data)]) == 0
    assert "3 added" in capsys.readouterr().out
    with Project.open(proj) as p:
        assert p.images.count() == 3


@pytest.mark.skipif(not LIGHTABLE.exists(), reason="lightable script not installed in the venv")
def test_subprocess_end_to_end(tmp_path: Path, data: Path) -> None:
    proj = tmp_path / "proj"
    env = {**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning:lightable"}
    run = subprocess.run(
        [str(LIGHTABLE), "init", str(proj)], capture_output=True, text=True, env=env, timeout=60
    )
    assert run.returncode == 0, run.stderr
    run = subprocess.run(
        [str(LIGHTABLE), "add-images", str(proj), str(data), "--json"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["added"] == 3
    bad = subprocess.run(
        [str(LIGHTABLE), "add-images", str(proj), str(tmp_path / "missing")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "no such folder" in bad.stderr
