"""People who label, review and administer."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

from sqlalchemy import select

from lightable.core.model import Role, User
from lightable.store import schema

if TYPE_CHECKING:
    from lightable.store.project import Project

T = schema.users


def current_user_name() -> str:
    try:
        return getpass.getuser() or "labeler"
    except Exception:  # no login name in some containers
        return "labeler"


class UserRepo:
    def __init__(self, project: Project) -> None:
        self.p = project

    def ensure(self, name: str, role: Role = Role.LABELER) -> User:
        with self.p.engine.begin() as conn:
            r = conn.execute(select(T).where(T.c.name == name)).first()
            if r is None:
                uid = conn.execute(
                    T.insert().values(name=name, role=str(role))
                ).inserted_primary_key[0]
                return User(name=name, role=role, id=int(uid))
        return User(name=r.name, role=Role(r.role), id=r.id)

    def all(self) -> list[User]:
        with self.p.engine.connect() as conn:
            return [
                User(name=r.name, role=Role(r.role), id=r.id)
                for r in conn.execute(select(T).order_by(T.c.name))
            ]

    def set_role(self, user_id: int, role: Role) -> None:
        with self.p.engine.begin() as conn:
            conn.execute(T.update().where(T.c.id == user_id).values(role=str(role)))
