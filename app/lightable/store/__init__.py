"""Persistence with SQLAlchemy 2: schema, migrations, queries.

SQLite file by default (a project is a folder holding ``project.db``); a
PostgreSQL URL for teams. SQLite-only SQL lives in ``store.dialect`` alone.
"""

from lightable.store.project import Project

__all__ = ["Project"]
