"""`import lightable.ml` and the modules the GUI/CLI load at start-up must not import torch."""

from __future__ import annotations

import subprocess
import sys

LIGHT = [
    "lightable.ml",
    "lightable.ml.tasks",
    "lightable.ml.mapping",
    "lightable.ml.uncertainty",
    "lightable.ml.matching",
    "lightable.ml.mistakes",
    "lightable.ml.registry",
    "lightable.ml.devices",
    "lightable.ml.runtime",
    "lightable.ml.custom",
    "lightable.ml.torchvision_models",
    "lightable.ml.postprocess",
    "lightable.ml.loader",
    "lightable.ml.safe_load",
    "lightable.jobs.prelabel",
    "lightable.jobs.scoring",
    "lightable.store.predictions",
    "lightable.store.scores",
    "lightable.cli.ml_cmds",
]


def test_no_torch_on_import() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in LIGHT)
        + "bad = [m for m in ('torch', 'torchvision', 'PySide6') if m in sys.modules]\n"
        + "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
