from __future__ import annotations

from pathlib import Path

from lightable.core.geometry import Box
from lightable.core.model import Annotation, Image, Label, Prediction
from lightable.store.predictions import PredictionRepo, ScoreRow
from lightable.store.scores import ScoreRepo


def _setup(project, tmp_path: Path, n: int) -> list[int]:
    rid = project.add_root(tmp_path)
    project.images.insert_many(
        [Image(path=f"{i}.jpg", root_id=rid, width=10, height=10) for i in range(n)]
    )
    return project.images.ordered_ids()


def test_uncertainty_queue_unlabeled_first_and_next(project, tmp_path: Path) -> None:
    ids = _setup(project, tmp_path, 5)
    repo = PredictionRepo(project)
    run = repo.create_run("r", "m", "detection", None, {}, "cpu")
    u = [0.9, 0.5, 0.7, 0.5, None]
    repo.write_batch(run, [], [ScoreRow(i, x) for i, x in zip(ids, u, strict=True)])
    lab = project.labels.add(Label("cat"))
    project.annotations.add(Annotation(ids[0], lab.id, Box(0, 0, 1, 1)))  # most uncertain, labeled
    s = ScoreRepo(project)
    assert s.ranked(run) == [ids[2], ids[1], ids[3], ids[0]]
    assert s.ranked(run, unlabeled_only=True) == [ids[2], ids[1], ids[3]]
    assert s.ranked(run, unlabeled_first=False, limit=2) == [ids[0], ids[2]]
    q = [s.next_in_queue(run, None)]
    while q[-1] is not None:
        q.append(s.next_in_queue(run, q[-1]))
    assert q == [ids[2], ids[1], ids[3], None]  # ties by id; the labeled image is skipped
    assert s.next_in_queue(run, ids[0]) == ids[2]  # from an image outside the queue
    assert repo.done_image_ids(run) == set(ids)
    assert repo.get_run(run).images_done == 5


def test_mistakenness_merge_keeps_uncertainty_details(project, tmp_path: Path) -> None:
    ids = _setup(project, tmp_path, 3)
    repo = PredictionRepo(project)
    run = repo.create_run("r", "m", "detection", None, {}, "cpu")
    repo.write_batch(
        run,
        [(Prediction(run, ids[0], Box(1, 2, 3, 4), 0.5, class_name="cat"), None)],
        [ScoreRow(ids[0], 0.2, None, {"share": 0.5})],
    )
    s = ScoreRepo(project)
    s.set_mistakenness(run, [(ids[0], 0.8, {"objects": [{"verdict": "x"}]}), (ids[1], 0.1, {})])
    row = s.get(run, ids[0])
    assert row.uncertainty == 0.2 and row.mistakenness == 0.8
    assert row.details == {"share": 0.5, "objects": [{"verdict": "x"}]}
    assert s.get(run, ids[1]).mistakenness == 0.1
    assert s.ranked(run, "mistakenness") == [ids[0], ids[1]]
    assert s.next_in_queue(run, ids[0], "mistakenness") == ids[1]
    assert s.objects(run, ids[0]) == [{"verdict": "x"}]
    p = repo.for_image(ids[0], run)[0]
    assert p.geometry == Box(1, 2, 3, 4) and p.class_name == "cat" and p.score == 0.5
    repo.delete_run(run)
    assert repo.get_run(run) is None and repo.count() == 0 and s.get(run, ids[0]) is None
