"""Escalations: a labeler's question about an image or region, a lead's answer.

Life cycle: open -> answered (a lead replied) -> resolved (closed). A resolved
escalation with an answer becomes guidance: labelers opening an image of the
same label (or the same image) see it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from lightable.core.errors import ValidationError
from lightable.core.model import EscalationStatus
from lightable.store import schema

if TYPE_CHECKING:
    from lightable.store.project import Project

E, M, U, IM = schema.escalations, schema.messages, schema.users, schema.images


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class EscalationRepo:
    def __init__(self, project: Project) -> None:
        self.p = project

    def create(
        self,
        image_id: int,
        question: str,
        *,
        created_by: int | None = None,
        annotation_id: int | None = None,
        region: tuple[float, float, float, float] | None = None,
        label_id: int | None = None,
    ) -> int:
        question = question.strip()
        if not question:
            raise ValidationError("escalation: the question is empty")
        with self.p.engine.begin() as conn:
            eid = conn.execute(
                E.insert().values(
                    image_id=image_id,
                    question=question,
                    created_by=created_by,
                    annotation_id=annotation_id,
                    region=list(region) if region else None,
                    label_id=label_id,
                    status=str(EscalationStatus.OPEN),
                )
            ).inserted_primary_key[0]
            conn.execute(M.insert().values(escalation_id=eid, author_id=created_by, body=question))
            self._event(conn, "escalation.open", int(eid), image_id, created_by)
        self._changed(image_id)
        return int(eid)

    def reply(self, esc_id: int, body: str, author_id: int | None = None) -> None:
        """A message in the thread; from a lead it also marks the escalation answered."""
        body = body.strip()
        if not body:
            raise ValidationError("escalation: the message is empty")
        with self.p.engine.begin() as conn:
            row = self._row(conn, esc_id)
            conn.execute(M.insert().values(escalation_id=esc_id, author_id=author_id, body=body))
            if row.status == EscalationStatus.OPEN and self._is_lead(conn, author_id):
                conn.execute(
                    E.update().where(E.c.id == esc_id).values(status="answered", answer=body)
                )
            self._event(conn, "escalation.reply", esc_id, row.image_id, author_id)
        self._changed(row.image_id)

    def resolve(self, esc_id: int, by: int | None = None, answer: str | None = None) -> None:
        with self.p.engine.begin() as conn:
            row = self._row(conn, esc_id)
            values: dict[str, Any] = {"status": "resolved", "resolved_at": _now()}
            if answer:
                values["answer"] = answer.strip()
                conn.execute(M.insert().values(escalation_id=esc_id, author_id=by, body=answer))
            conn.execute(E.update().where(E.c.id == esc_id).values(**values))
            self._event(conn, "escalation.resolve", esc_id, row.image_id, by)
        self._changed(row.image_id)

    def reopen(self, esc_id: int, by: int | None = None) -> None:
        with self.p.engine.begin() as conn:
            row = self._row(conn, esc_id)
            conn.execute(E.update().where(E.c.id == esc_id).values(status="open", resolved_at=None))
            self._event(conn, "escalation.reopen", esc_id, row.image_id, by)
        self._changed(row.image_id)

    def list(self, status: str | None = None, image_id: int | None = None) -> list[dict[str, Any]]:
        q = (
            select(E, IM.c.path.label("image_path"), U.c.name.label("author"))
            .join(IM, IM.c.id == E.c.image_id)
            .outerjoin(U, U.c.id == E.c.created_by)
            .order_by(E.c.created_at.desc(), E.c.id.desc())
        )
        if status:
            q = q.where(E.c.status == status)
        if image_id is not None:
            q = q.where(E.c.image_id == image_id)
        with self.p.engine.connect() as conn:
            return [_as_dict(r) for r in conn.execute(q)]

    def messages(self, esc_id: int) -> list[dict[str, Any]]:
        q = (
            select(M.c.id, M.c.body, M.c.created_at, U.c.name.label("author"))
            .outerjoin(U, U.c.id == M.c.author_id)
            .where(M.c.escalation_id == esc_id)
            .order_by(M.c.id)
        )
        with self.p.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def guidance(self, image_id: int, label_ids: list[int] | None = None) -> list[dict[str, Any]]:
        """Resolved answers that apply to this image or to these labels: what a labeler should see."""
        cond = E.c.image_id == image_id
        if label_ids:
            cond = or_(cond, E.c.label_id.in_(label_ids))
        q = (
            select(E, IM.c.path.label("image_path"), U.c.name.label("author"))
            .join(IM, IM.c.id == E.c.image_id)
            .outerjoin(U, U.c.id == E.c.created_by)
            .where(E.c.status == "resolved", E.c.answer.is_not(None), cond)
            .order_by(E.c.resolved_at.desc())
        )
        with self.p.engine.connect() as conn:
            return [_as_dict(r) for r in conn.execute(q)]

    # -- helpers ---------------------------------------------------------------------
    def _row(self, conn: Any, esc_id: int) -> Any:
        row = conn.execute(select(E).where(E.c.id == esc_id)).first()
        if row is None:
            raise ValidationError(f"escalation {esc_id} does not exist")
        return row

    def _is_lead(self, conn: Any, user_id: int | None) -> bool:
        if user_id is None:
            return False
        role = conn.execute(select(U.c.role).where(U.c.id == user_id)).scalar()
        return role in ("lead", "admin")

    def _event(self, conn: Any, kind: str, esc_id: int, image_id: int, user_id: int | None) -> None:
        conn.execute(
            schema.events.insert().values(
                kind=kind,
                entity="escalation",
                entity_id=esc_id,
                image_id=image_id,
                user_id=user_id,
                payload={},
            )
        )

    def _changed(self, image_id: int) -> None:
        from lightable.store.project import Change

        self.p.notify(Change("escalations.changed", (image_id,)))


def _as_dict(r: Any) -> dict[str, Any]:
    d = dict(r._mapping)
    for k in ("created_at", "resolved_at"):
        if d.get(k) is not None:
            d[k] = d[k].isoformat(sep=" ", timespec="seconds")
    return d
