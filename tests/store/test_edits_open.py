"""Opening a document reads the image's rows in one pass (boxes from the x/y/w/h
columns, JSON parsed once): what it builds must equal the repository's reading."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sqlalchemy import update

from lightable.core.geometry import Box, Polygon
from lightable.core.model import Annotation, Source
from lightable.store import schema
from lightable.store.edits import EditSession, image_annotations
from lightable.store.project import Project
from tests.core.editing_world import make_world
from tests.store.test_edits import assert_doc_matches_store


@pytest.fixture
def world(project: Project) -> dict[str, Any]:
    """An image with one shape of every kind (a mask too), opened in a session."""
    from lightable.core.commands import AddAnnotation
    from lightable.core.geometry import Keypoints, Tag
    from lightable.imaging import masks

    w = make_world(project)
    img, cat = w["images"][0], w["labels"][0]
    session = EditSession(project)
    doc = session.open_document(img)
    m = np.zeros((480, 640), np.uint8)
    m[100:150, 200:260] = 1
    shapes = [
        Box(10.5, 20.25, 30, 40),
        Polygon.from_points([(0, 0), (50.1, 0), (50.1, 30.7)]),
        Keypoints(((5, 5, 2), (9, 9, 1), (0, 0, 0))),
        masks.encode(m),
        Tag(),
    ]
    for z, g in enumerate(shapes):
        doc.do(AddAnnotation(Annotation(img, cat, g, attributes={"n": [z]}, z=z)))
    return {"session": session, "img": img, "cat": cat}


def test_open_document_equals_the_stored_rows(world: dict[str, Any], project: Project) -> None:
    img, cat = world["img"], world["cat"]
    extra = project.annotations.add(
        Annotation(
            img,
            cat,
            Polygon.from_points([(1, 2), (30, 2.5), (12, 40)]),
            attributes={"_opacity": 0.4, "note": "é ✓", "nested": {"a": [1, 2.5, None]}},
            source=Source.IMPORT,
            z=-3,
            hidden=True,
            locked=True,
        )
    )
    doc = EditSession(project).open_document(img)
    assert_doc_matches_store(doc, project)
    got = doc.annotation(extra.id)
    assert got.source is Source.IMPORT and got.hidden is True and got.locked is True
    assert got.attributes == {"_opacity": 0.4, "note": "é ✓", "nested": {"a": [1, 2.5, None]}}
    assert doc.annotations()[0].id == extra.id  # lowest z first
    # The drawing order and the box index agree with the geometry.
    ids, xywh = doc.bboxes()
    for i, bb in zip(ids.tolist(), xywh, strict=True):
        assert tuple(bb) == pytest.approx(doc.annotation(i).geometry.bbox())


def test_rows_without_box_columns_fall_back_to_the_geometry(
    world: dict[str, Any], project: Project
) -> None:
    img, cat = world["img"], world["cat"]
    a = project.annotations.add(Annotation(img, cat, Box(7, 8, 9, 10)))
    with project.engine.begin() as conn:
        conn.execute(
            update(schema.annotations)
            .where(schema.annotations.c.id == a.id)
            .values(x=None, y=None, w=None, h=None)
        )
    anns, boxes = image_annotations(project, img)
    row = next(i for i, x in enumerate(anns) if x.id == a.id)
    assert tuple(boxes[row]) == (7.0, 8.0, 9.0, 10.0)
    assert not np.isnan(boxes).any()
    doc = EditSession(project).open_document(img)
    ids, xywh = doc.bboxes()
    assert tuple(xywh[ids.tolist().index(a.id)]) == (7.0, 8.0, 9.0, 10.0)


def test_reload_reads_the_same_way(world: dict[str, Any], project: Project) -> None:
    session, img, cat = world["session"], world["img"], world["cat"]
    doc = session.document
    outside = project.annotations.add(Annotation(img, cat, Box(1, 1, 5, 5), z=99))
    events = []
    doc.subscribe(events.append)
    session.reload_document()
    assert outside.id in events[-1].added
    assert_doc_matches_store(doc, project)
    # Edits after a reload keep the box index in step.
    from lightable.core.commands import MoveAnnotations

    doc.do(MoveAnnotations([outside.id], 10, 0))
    assert_doc_matches_store(doc, project)


def test_empty_image_opens(project: Project) -> None:
    from lightable.core.model import Image

    root = project.add_root(project.folder)
    project.images.insert_many([Image("none.png", root, 10, 10)])
    img = project.images.ordered_ids()[0]
    doc = EditSession(project).open_document(img)
    assert len(doc) == 0
    ids, xywh = doc.bboxes()
    assert ids.shape == (0,) and xywh.shape == (0, 4)
