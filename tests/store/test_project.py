from __future__ import annotations

from pathlib import Path

import pytest

from lightable.core.errors import ProjectError
from lightable.core.geometry import Box, Polygon
from lightable.core.model import Annotation, Image, ImageStatus
from lightable.store.images import ImageQuery, SortKey
from lightable.store.project import Project, safe_join


def test_create_open_and_pragmas(tmp_path: Path) -> None:
    p = Project.create(tmp_path / "p", name="demo")
    p.close()
    q = Project.open(tmp_path / "p")
    assert q.name == "demo"
    with q.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
    q.close()


def test_open_missing_project_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="not a Lightable project"):
        Project.open(tmp_path)


def test_create_twice_refused(tmp_path: Path) -> None:
    Project.create(tmp_path / "p").close()
    with pytest.raises(ProjectError, match="already exists"):
        Project.create(tmp_path / "p")


def test_safe_join_refuses_escape(tmp_path: Path) -> None:
    assert safe_join(tmp_path, "a/b.jpg") == tmp_path / "a" / "b.jpg"
    for bad in ("../x.jpg", "a/../../x.jpg", "/etc/passwd"):
        with pytest.raises(ProjectError):
            safe_join(tmp_path, bad)


def _seed(p: Project, n: int) -> int:
    root = p.add_root(p.folder / "imgs")  # type: ignore[operator]
    p.images.insert_many(
        [
            Image(
                path=f"f{i % 3}/img{i:04d}.jpg",
                root_id=root,
                width=10,
                height=10,
                file_size=1000 - i,
                mtime_ns=i,
            )
            for i in range(n)
        ]
    )
    return root


def test_order_filter_and_neighbors(project: Project) -> None:
    _seed(project, 30)
    q = ImageQuery()
    ids = project.images.ordered_ids(q)
    assert len(ids) == 30 == project.images.count(q)
    first = project.images.get(ids[0])
    assert first is not None
    nxt = project.images.neighbor(q, first, +1)
    assert nxt is not None and nxt.id == ids[1]
    assert project.images.neighbor(q, nxt, -1).id == ids[0]  # type: ignore[union-attr]
    assert project.images.neighbor(q, first, -1) is None
    # Folder order and a text filter
    fq = ImageQuery(sort=SortKey.FOLDER, folder="f1")
    fids = project.images.ordered_ids(fq)
    assert len(fids) == 10
    paths = [project.images.get(i).path for i in fids]  # type: ignore[union-attr]
    assert paths == sorted(paths) and all(p.startswith("f1/") for p in paths)
    assert project.images.count(ImageQuery(text="IMG002")) == 10  # case-insensitive substring
    # size descending: smallest file last
    sq = ImageQuery(sort=SortKey.SIZE, descending=True)
    sids = project.images.ordered_ids(sq)
    walked = [sids[0]]
    cur = project.images.get(sids[0])
    while (cur := project.images.neighbor(sq, cur, +1)) is not None:  # type: ignore[arg-type]
        walked.append(cur.id)  # type: ignore[arg-type]
    assert walked == sids
    # keyset pages cover everything once
    seen: list[int] = []
    last = None
    while page := project.images.page(fq, last, limit=4):
        seen += [i.id for i in page]  # type: ignore[misc]
        last = page[-1]
    assert seen == fids


def test_status_and_annotations_roundtrip(project: Project) -> None:
    _seed(project, 3)
    ids = project.images.ordered_ids()
    project.images.set_status(ids[:1], ImageStatus.DONE)
    assert project.images.count(ImageQuery(status=ImageStatus.DONE)) == 1
    lb = project.labels.ensure("cat")
    a = project.annotations.add(
        Annotation(image_id=ids[0], label_id=lb.id, geometry=Box(1, 2, 3, 4))
    )  # type: ignore[arg-type]
    b = project.annotations.add(
        Annotation(
            image_id=ids[0], label_id=lb.id, geometry=Polygon.from_points([(0, 0), (4, 0), (0, 3)])
        )  # type: ignore[arg-type]
    )
    got = project.annotations.for_image(ids[0])
    assert [g.geometry for g in got] == [a.geometry, b.geometry]
    info = project.info()
    assert info["annotations"]["by_kind"] == {"box": 1, "polygon": 1}
    assert info["images"]["total"] == 3 and info["labels"] == 1
    assert project.images.count(ImageQuery(label_id=lb.id)) == 1


def test_score_queue_order_and_neighbors(project: Project) -> None:
    from lightable.store import schema

    _seed(project, 6)
    ids = project.images.ordered_ids()
    with project.engine.begin() as conn:
        run = conn.execute(
            schema.model_runs.insert().values(name="r", model="m", params={}, timings={})
        ).inserted_primary_key[0]
        scores = [0.1, 0.9, None, 0.5, 0.7, 0.3]
        conn.execute(
            schema.image_scores.insert(),
            [
                {"run_id": run, "image_id": i, "uncertainty": s, "mistakenness": s, "details": {}}
                for i, s in zip(ids, scores, strict=True)
                if s is not None
            ],
        )
    q = ImageQuery(sort=SortKey.UNCERTAINTY, score_run=run)
    queue = project.images.ordered_ids(q)
    assert queue == [ids[1], ids[4], ids[3], ids[5], ids[0], ids[2]]  # best first, unscored last
    cur = project.images.get(queue[0])
    walked = [queue[0]]
    while (cur := project.images.neighbor(q, cur, +1)) is not None:  # type: ignore[arg-type]
        walked.append(cur.id)  # type: ignore[arg-type]
    assert walked == queue
    back = project.images.neighbor(q, project.images.get(queue[2]), -1)  # type: ignore[arg-type]
    assert back is not None and back.id == queue[1]
    assert project.images.ordered_ids(
        ImageQuery(sort=SortKey.MISTAKENNESS, score_run=run, min_score=0.5)
    ) == [ids[1], ids[4], ids[3]]
    # no annotations and status new: all unlabeled
    assert len(project.images.ordered_ids(ImageQuery(unlabeled=True))) == 6
