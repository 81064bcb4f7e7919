"""Alembic environment: runs on the connection the project hands over."""

from __future__ import annotations

from alembic import context

from lightable.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only for the alembic command line
    from sqlalchemy import create_engine

    connection = create_engine(context.config.get_main_option("sqlalchemy.url")).connect()

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER needs batch mode
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
