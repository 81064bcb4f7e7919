"""Two windows (two connections) editing one SQLite project at the same time."""

from __future__ import annotations

import threading
from pathlib import Path

from lightable.core import commands as C
from lightable.core.geometry import Box
from lightable.core.model import Annotation, Image, Label
from lightable.store.edits import EditSession
from lightable.store.project import Project


def test_two_writers_wait_for_each_other_instead_of_failing(tmp_path: Path) -> None:
    folder = tmp_path / "proj"
    with Project.create(folder) as p:
        root = p.add_root(tmp_path)
        p.images.insert_many([Image("a.jpg", root, 100, 100), Image("b.jpg", root, 100, 100)])
        label = p.labels.add(Label("cat")).id
        images = p.images.ordered_ids()

    errors: list[BaseException] = []
    added: dict[int, list[int]] = {}

    def work(image_id: int) -> None:
        project = Project.open(folder)  # its own engine: like a second window
        try:
            doc = EditSession(project).open_document(image_id)
            mine = added.setdefault(image_id, [])
            for k in range(120):
                (new,) = doc.do(C.AddAnnotation(Annotation(image_id, label, Box(k, 0, 2, 2)))).added
                mine.append(new)
                # Read-then-write commands are the ones a deferred transaction loses.
                doc.do(C.MoveAnnotations([mine[k // 2]], 1, 0, at=10.0 * k))
        except BaseException as exc:
            errors.append(exc)
        finally:
            project.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in images]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Project.open(folder) as p:
        for image_id in images:
            stored = {a.id for a in p.annotations.for_image(image_id)}
            assert stored == set(added[image_id]) and len(stored) == 120
