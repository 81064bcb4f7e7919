"""Everything that is specific to one database dialect lives here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert


def configure(engine: Engine) -> None:
    """Per-connection settings: SQLite gets WAL, foreign keys and a busy timeout."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy issue BEGIN itself so transactions behave as on PostgreSQL.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL is durable against app crashes
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MB page cache
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


def insert_ignore(engine_or_conn: Any, table: Any) -> Any:
    """An INSERT that skips rows whose unique key already exists."""
    name = engine_or_conn.dialect.name
    if name == "sqlite":
        return sqlite_insert(table).on_conflict_do_nothing()
    if name == "postgresql":
        return pg_insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"insert_ignore: dialect {name}")
