"""The audit log: who did what, when (the ``events`` table).

Writers pass the open connection so the event commits in the same transaction
as the change it describes; readers get ``Event`` records, newest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from lightable.store import schema

if TYPE_CHECKING:
    from lightable.store.project import Project

T = schema.events


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    at: datetime
    kind: str  # dotted noun.verb: annotation.add, annotation.update, label.delete, image.status
    entity: str | None = None  # annotation, label, image
    entity_id: int | None = None
    image_id: int | None = None
    user_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def record(
    conn: Any,
    kind: str,
    *,
    entity: str | None = None,
    entity_id: int | None = None,
    image_id: int | None = None,
    user_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> int:
    """Append one event inside the caller's transaction; returns its id."""
    res = conn.execute(
        T.insert().values(
            kind=kind,
            entity=entity,
            entity_id=entity_id,
            image_id=image_id,
            user_id=user_id,
            payload=payload or {},
        )
    )
    return int(res.inserted_primary_key[0])


def record_many(conn: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Append many events (dicts with the ``record`` keywords plus ``kind``) in one executemany."""
    if rows:
        keys = ("kind", "entity", "entity_id", "image_id", "user_id", "payload")
        conn.execute(T.insert(), [{k: r.get(k) for k in keys} for r in rows])


def recent(
    project: Project,
    image_id: int | None = None,
    limit: int = 100,
    kinds: Sequence[str] | None = None,
    entity_id: int | None = None,
    before_id: int | None = None,
) -> list[Event]:
    """The newest events, newest first; narrowed to an image, kinds or an entity id.

    ``before_id`` pages further back (pass the last id of the previous page).
    """
    q = select(T)
    if image_id is not None:
        q = q.where(T.c.image_id == image_id)
    if kinds:
        q = q.where(T.c.kind.in_(list(kinds)))
    if entity_id is not None:
        q = q.where(T.c.entity_id == entity_id)
    if before_id is not None:
        q = q.where(T.c.id < before_id)
    q = q.order_by(T.c.id.desc()).limit(limit)
    with project.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [_event(r) for r in rows]


def _event(r: Any) -> Event:
    return Event(
        id=r.id,
        at=r.at,
        kind=r.kind,
        entity=r.entity,
        entity_id=r.entity_id,
        image_id=r.image_id,
        user_id=r.user_id,
        payload=dict(r.payload or {}),
    )
