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


def test_upgrade_from_0001_keeps_data(tmp_path: Path) -> None:
    """A project made by the first release upgrades with its rows and links intact."""
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    from lightable.store import dialect
    from lightable.store.project import upgrade_to

    db = tmp_path / "p" / "project.db"
    db.parent.mkdir()
    engine = create_engine(f"sqlite:///{db}")
    dialect.configure(engine)
    cfg = Config()
    cfg.set_main_option("script_location", str(project_mod.MIGRATIONS))
    upgrade_to(engine, cfg, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO roots (id, path) VALUES (1, '.')"))
        conn.execute(text("INSERT INTO images (id, root_id, path) VALUES (1, 1, 'a.jpg')"))
        conn.execute(
            text(
                "INSERT INTO labels (id, name, color, attributes) VALUES (3, 'cat', '#ff0000', '{}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO annotations (id, image_id, label_id, kind, geometry, attributes) "
                "VALUES (7, 1, 3, 'tag', '{\"type\": \"tag\"}', '{}')"
            )
        )
    engine.dispose()
    p = Project.open(db.parent)
    assert [a.id for a in p.annotations.for_image(1)] == [7]
    assert p.labels.get(3).name == "cat"  # type: ignore[union-attr]
    with p.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert (
            "AUTOINCREMENT"
            in conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name='annotations'"
            ).scalar()
        )
    p.close()
