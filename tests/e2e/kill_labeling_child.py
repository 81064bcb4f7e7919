"""A labeling process for the crash test: edits in a loop through EditSession.

After each command returns (its transaction committed) it prints one JSON line
per annotation the command touched, with the version and geometry the screen
now shows, and flushes. The parent SIGKILLs it at a random moment.

usage: python kill_labeling_child.py PROJECT_DIR SEED
"""

from __future__ import annotations

import json
import random
import sys

import numpy as np

from lightable.core import commands as C
from lightable.core.geometry import Box, Polygon
from lightable.core.model import Annotation
from lightable.imaging import masks
from lightable.store.edits import EditSession
from lightable.store.project import Project


def main() -> None:
    project = Project.open(sys.argv[1])
    rng = random.Random(int(sys.argv[2]))
    session = EditSession(project)
    images = project.images.ordered_ids()
    label = project.labels.all()[0].id
    doc = session.open_document(images[0])
    print(json.dumps({"ready": True}), flush=True)
    while True:
        if rng.random() < 0.05:
            doc = session.open_document(rng.choice(images))
        ids = doc.ids()
        r = rng.random()
        gone: dict[int, int] = {}
        if r < 0.3 or not ids:
            x, y = rng.uniform(0, 500), rng.uniform(0, 400)
            if rng.random() < 0.2:
                m = np.zeros((doc.image.height, doc.image.width), np.uint8)
                m[int(y) : int(y) + 40, int(x) : int(x) + 60] = 1
                g = masks.encode(m)
            elif rng.random() < 0.5:
                g = Polygon.from_points([(x, y), (x + 30.5, y), (x + 10, y + 20.25)])
            else:
                g = Box(x, y, rng.uniform(1, 50), rng.uniform(1, 50))
            cmd: C.Command = C.AddAnnotation(Annotation(doc.image_id, label, g))
        elif r < 0.55:
            i = rng.choice(ids)
            a = doc.annotation(i)
            if a.kind == "mask":
                patch = np.ones((rng.randint(1, 30), rng.randint(1, 30)), np.uint8)
                cmd = C.PaintMask(i, rng.randint(0, 500), rng.randint(0, 400), None, patch)
            else:
                cmd = C.MoveAnnotations([i], rng.uniform(-3, 3), rng.uniform(-3, 3))
        elif r < 0.65:
            i = rng.choice(ids)
            gone[i] = doc.annotation(i).version
            cmd = C.DeleteAnnotations([i])
        elif r < 0.85 and doc.can_undo():
            cmd = None  # type: ignore[assignment]
        else:
            cmd = C.UpdateAnnotation(rng.choice(ids), attributes={"n": rng.randint(0, 10**6)})
        if cmd is None:
            before = {i: a.version for i, a in ((i, doc.annotation(i)) for i in doc.ids())}
            ev = doc.undo()
            gone = {i: before[i] for i in ev.removed} if ev else {}
        else:
            ev = doc.do(cmd)
        assert ev is not None
        for i in sorted(ev.added | ev.changed):
            a = doc.annotation(i)
            print(json.dumps({"id": i, "version": a.version, "geometry": a.geometry.to_dict()}))
        for i in sorted(ev.removed):
            print(json.dumps({"id": i, "version": gone[i], "deleted": True}))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
