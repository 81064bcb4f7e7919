from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lightable.cli import main


def test_init_and_info_json(tmp_path: Path, capsys) -> None:
    assert main(["init", str(tmp_path / "p")]) == 0
    capsys.readouterr()
    assert main(["info", str(tmp_path / "p"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["images"]["total"] == 0 and info["labels"] == 0


def test_errors_are_one_line_and_nonzero(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "lightable", "info", str(tmp_path / "nope"), "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "not a Lightable project" in r.stderr
