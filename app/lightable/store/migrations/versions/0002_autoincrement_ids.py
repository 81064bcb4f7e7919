"""Never reuse annotation and label ids on SQLite (AUTOINCREMENT).

Undo restores deleted rows with their old ids; SQLite's default rowid
allocation may hand a freed top id to a new row in the meantime.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # sequences on other databases never reuse ids
    for table in ("labels", "annotations"):
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in ("labels", "annotations"):
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": False}
        ):
            pass
