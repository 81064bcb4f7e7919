"""The Alembic migrations and store/schema.py must describe the same database."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from lightable.store import project as project_mod
from lightable.store.project import Project
from lightable.store.schema import metadata


def test_schema_revision_is_alembic_head() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(project_mod.MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == project_mod.SCHEMA_REVISION


def test_migrated_database_matches_schema(tmp_path: Path) -> None:
    p = Project.create(tmp_path / "p")
    with p.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    p.close()
    assert diff == [], f"schema.py and the migrations differ: {diff}"
