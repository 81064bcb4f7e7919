"""Kill a labeling process mid-work (SIGKILL, a real subprocess): every edit it
reported as applied is in the database, and the database is intact."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text

from lightable.core.model import Image, Label
from lightable.store import schema
from lightable.store.edits import EditSession
from lightable.store.project import Project

CHILD = Path(__file__).with_name("kill_labeling_child.py")
REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def run_child_and_kill(folder: Path, seed: int, lines_before_kill: int) -> list[dict]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "app"), str(REPO)]))
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(folder), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    reports: list[dict] = []
    try:
        first = proc.stdout.readline()
        assert first, f"child failed to start: {proc.stderr.read() if proc.stderr else ''}"
        while len(reports) < lines_before_kill:
            line = proc.stdout.readline()
            assert line, f"child died: {proc.stderr.read() if proc.stderr else ''}"
            reports.append(json.loads(line))
        os.kill(proc.pid, signal.SIGKILL)  # in the middle of whatever it is doing
        proc.wait(timeout=30)
        # What it had printed before dying still counts: it was on screen.
        for line in proc.stdout.read().splitlines():
            with contextlib.suppress(json.JSONDecodeError):  # a line cut by the kill
                reports.append(json.loads(line))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return reports


def test_sigkill_loses_no_reported_edit(tmp_path: Path) -> None:
    folder = tmp_path / "proj"
    with Project.create(folder) as p:
        root = p.add_root(tmp_path)
        p.images.insert_many([Image(f"im{i}.jpg", root, 640, 480) for i in range(3)])
        p.labels.add(Label("cat"))

    last: dict[int, dict] = {}  # the newest state the children reported per annotation
    rng = random.Random(5)
    for round_ in range(3):
        for r in run_child_and_kill(folder, seed=round_, lines_before_kill=rng.randint(80, 300)):
            last[r["id"]] = r

        with Project.open(folder) as p, p.engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
            t = schema.annotations
            rows = {r.id: r for r in conn.execute(select(t.c.id, t.c.version, t.c.geometry))}
        ahead = []  # annotations changed by the one command that may have committed unreported
        for ann_id, rep in last.items():
            row = rows.get(ann_id)
            if rep.get("deleted"):
                if row is not None:
                    assert row.version > rep["version"], (ann_id, rep, row)
                    ahead.append(ann_id)
            elif row is None or row.version != rep["version"]:
                assert row is None or row.version > rep["version"], (ann_id, rep, row)
                ahead.append(ann_id)
            else:
                assert row.geometry == rep["geometry"], (ann_id, rep, row)
        assert len(ahead) <= 1, ahead  # every child command touches one annotation
        assert len(last) > 20

    # The project is still fine to work in.
    with Project.open(folder) as p:
        doc = EditSession(p).open_document(p.images.ordered_ids()[0])
        if doc.ids():
            from lightable.core.commands import MoveAnnotations

            doc.do(MoveAnnotations([doc.ids()[0]], 1, 1))
            assert doc.undo() is not None
