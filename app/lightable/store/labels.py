"""The label taxonomy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from lightable.core.errors import ValidationError
from lightable.core.model import Label, LabelKind, Skeleton, palette_color
from lightable.store import schema

if TYPE_CHECKING:
    from lightable.store.project import Project

T = schema.labels


def row_to_label(r: Any) -> Label:
    return Label(
        id=r.id,
        name=r.name,
        color=r.color,
        kind=LabelKind(r.kind),
        shortcut=r.shortcut,
        parent_id=r.parent_id,
        attributes=dict(r.attributes or {}),
        skeleton=Skeleton.from_dict(r.skeleton),
        position=r.position,
    )


def label_row(lb: Label) -> dict[str, Any]:
    return {
        "name": lb.name,
        "color": lb.color,
        "kind": str(lb.kind),
        "shortcut": lb.shortcut,
        "parent_id": lb.parent_id,
        "attributes": lb.attributes,
        "skeleton": lb.skeleton.to_dict() if lb.skeleton else None,
        "position": lb.position,
    }


class LabelRepo:
    def __init__(self, project: Project) -> None:
        self.p = project

    def all(self) -> list[Label]:
        with self.p.engine.connect() as conn:
            rows = conn.execute(select(T).order_by(T.c.position, T.c.id))
            return [row_to_label(r) for r in rows]

    def get(self, label_id: int) -> Label | None:
        with self.p.engine.connect() as conn:
            r = conn.execute(select(T).where(T.c.id == label_id)).first()
        return row_to_label(r) if r else None

    def by_name(self, name: str) -> Label | None:
        with self.p.engine.connect() as conn:
            r = conn.execute(select(T).where(T.c.name == name)).first()
        return row_to_label(r) if r else None

    def add(self, label: Label, conn: Any = None) -> Label:
        """Insert a label (id kept if given, so undo can restore it); returns it with its id."""
        row = label_row(label)
        if label.id is not None:
            row["id"] = label.id
        if conn is None:
            with self.p.engine.begin() as c:
                return self.add(label, c)
        if conn.execute(select(T.c.id).where(T.c.name == label.name)).first():
            raise ValidationError(f"label {label.name!r} already exists")
        if not label.position:
            row["position"] = (conn.execute(select(func.max(T.c.position))).scalar() or 0) + 1
        label.id = int(conn.execute(T.insert().values(**row)).inserted_primary_key[0])
        label.position = row["position"]
        self._changed()
        return label

    def ensure(self, name: str, color: str | None = None, kind: LabelKind = LabelKind.ANY) -> Label:
        """The label called ``name``, created with the next palette colour if missing."""
        existing = self.by_name(name)
        if existing:
            return existing
        n = len(self.all())
        return self.add(Label(name=name, color=color or palette_color(n), kind=kind))

    def update(self, label: Label) -> None:
        if label.id is None:
            raise ValidationError("label has no id")
        with self.p.engine.begin() as conn:
            clash = conn.execute(
                select(T.c.id).where(T.c.name == label.name, T.c.id != label.id)
            ).first()
            if clash:
                raise ValidationError(f"label {label.name!r} already exists")
            conn.execute(T.update().where(T.c.id == label.id).values(**label_row(label)))
        self._changed()

    def delete(self, label_id: int) -> None:
        with self.p.engine.begin() as conn:
            used = conn.execute(
                select(func.count())
                .select_from(schema.annotations)
                .where(schema.annotations.c.label_id == label_id)
            ).scalar()
            if used:
                raise ValidationError(f"label is used by {used} annotations; relabel them first")
            conn.execute(T.delete().where(T.c.id == label_id))
        self._changed()

    def _changed(self) -> None:
        from lightable.store.project import Change

        self.p.notify(Change("labels.changed"))
