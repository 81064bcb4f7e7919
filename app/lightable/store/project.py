"""A project: one database (a folder's ``project.db`` or a server URL) and its repositories."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from lightable.core.errors import ProjectError
from lightable.store import dialect, schema

PROJECT_DB = "project.db"
# The newest migration; tests/store/test_migrations.py keeps it equal to Alembic's head.
SCHEMA_REVISION = "0002"
MIGRATIONS = Path(__file__).with_name("migrations")


@dataclass(frozen=True, slots=True)
class Change:
    """A change to the store that views may want to reflect.

    ``kind`` is a dotted noun.verb (``images.added``, ``annotations.changed``,
    ``labels.changed``...); ``image_ids`` narrows it where known.
    """

    kind: str
    image_ids: tuple[int, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[Change], None]


def is_url(target: str | os.PathLike[str]) -> bool:
    return "://" in str(target)


class Project:
    """Opened project. Thread-safe: each call takes its own connection from the pool."""

    def __init__(self, engine: Engine, folder: Path | None) -> None:
        self.engine = engine
        self.folder = folder
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        from lightable.store.annotations import AnnotationRepo
        from lightable.store.images import ImageRepo
        from lightable.store.labels import LabelRepo

        self.images = ImageRepo(self)
        self.labels = LabelRepo(self)
        self.annotations = AnnotationRepo(self)

    # -- opening -----------------------------------------------------------------
    @classmethod
    def create(cls, target: str | os.PathLike[str], name: str | None = None) -> Project:
        """Create a new project in an empty or new folder (or an empty database URL)."""
        if is_url(target):
            engine = _engine(str(target))
            project = cls(engine, None)
        else:
            folder = Path(target).expanduser().resolve()
            db = folder / PROJECT_DB
            if db.exists():
                raise ProjectError(f"{folder}: a project already exists here")
            if folder.exists() and not folder.is_dir():
                raise ProjectError(f"{folder}: exists and is not a folder")
            folder.mkdir(parents=True, exist_ok=True)
            project = cls(_engine(f"sqlite:///{db}"), folder)
        project._migrate()
        project.set_meta("name", name or (project.folder.name if project.folder else "project"))
        return project

    @classmethod
    def open(cls, target: str | os.PathLike[str]) -> Project:
        if is_url(target):
            project = cls(_engine(str(target)), None)
        else:
            p = Path(target).expanduser().resolve()
            db = p if p.is_file() else p / PROJECT_DB
            if not db.is_file():
                raise ProjectError(f"{p}: not a Lightable project (no {PROJECT_DB})")
            project = cls(_engine(f"sqlite:///{db}"), db.parent)
        project._migrate()
        return project

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def cache_dir(self) -> Path:
        """Where derived data (thumbnails) lives: inside the project, or per user for URLs."""
        if self.folder is not None:
            d = self.folder / "cache"
        else:
            u = make_url(self.url)
            key = f"{u.host or 'local'}_{u.database or 'db'}".replace("/", "_")
            d = Path.home() / ".cache" / "lightable" / key
        d.mkdir(parents=True, exist_ok=True)
        return d

    # -- schema ------------------------------------------------------------------
    def _current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def _migrate(self) -> None:
        rev = self._current_revision()
        if rev == SCHEMA_REVISION:
            return  # the common case: no Alembic import on start-up
        if rev is not None and not list((MIGRATIONS / "versions").glob(f"{rev}_*.py")):
            raise ProjectError(
                f"{self.url}: database schema {rev!r} is newer than this Lightable knows; upgrade"
            )
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        upgrade_to(self.engine, cfg, "head")

    # -- meta --------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        with self.engine.connect() as conn:
            v = conn.execute(select(schema.meta.c.value).where(schema.meta.c.key == key)).scalar()
        return default if v is None else v

    def set_meta(self, key: str, value: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(schema.meta.delete().where(schema.meta.c.key == key))
            conn.execute(schema.meta.insert().values(key=key, value=value))

    @property
    def name(self) -> str:
        return str(self.get_meta("name", "project"))

    # -- roots -------------------------------------------------------------------
    def add_root(self, folder: str | os.PathLike[str]) -> int:
        """Register an image root; stored relative to the project when inside it."""
        p = Path(folder).expanduser().resolve()
        stored = str(p)
        if self.folder is not None:
            with contextlib.suppress(ValueError):  # outside the project: keep it absolute
                stored = p.relative_to(self.folder).as_posix() or "."
        t = schema.roots
        with self.engine.begin() as conn:
            rid = conn.execute(select(t.c.id).where(t.c.path == stored)).scalar()
            if rid is None:
                rid = conn.execute(t.insert().values(path=stored)).inserted_primary_key[0]
        return int(rid)

    def roots(self) -> dict[int, Path]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.roots.c.id, schema.roots.c.path)).all()
        return {r.id: self._root_path(r.path) for r in rows}

    def _root_path(self, stored: str) -> Path:
        p = Path(stored)
        if not p.is_absolute() and self.folder is not None:
            p = self.folder / p
        return p

    def image_path(self, root_id: int, rel: str) -> Path:
        """Absolute path of an image, refusing paths that escape their root."""
        root = self.roots().get(root_id)
        if root is None:
            raise ProjectError(f"image root {root_id} is not in the project")
        return safe_join(root, rel)

    # -- change notification -------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def notify(self, change: Change) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for fn in listeners:
            fn(change)

    # -- summary -------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        from lightable.store.summary import project_info

        return project_info(self)


def safe_join(root: Path, rel: str) -> Path:
    """Join ``rel`` under ``root``; raises ProjectError when it would escape the root."""
    if os.path.isabs(rel) or rel.startswith(("/", "\\")):
        raise ProjectError(f"{rel}: absolute path where a path relative to {root} was expected")
    joined = os.path.normpath(os.path.join(root, rel))
    root_n = os.path.normpath(root)
    if joined != root_n and not joined.startswith(root_n + os.sep):
        raise ProjectError(f"{rel}: path escapes the data root {root}")
    return Path(joined)


def upgrade_to(engine: Engine, cfg: Any, revision: str) -> None:
    """Run Alembic in one transaction; on SQLite with foreign keys off meanwhile,
    because batch migrations rebuild tables (drop + rename) and would otherwise
    trip ON DELETE actions. The keys are checked before committing."""
    from alembic import command

    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:  # must happen outside a transaction, on the raw connection
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                if sqlite and (bad := conn.exec_driver_sql("PRAGMA foreign_key_check").all()):
                    raise ProjectError(f"{engine.url}: migration broke foreign keys: {bad[:5]}")
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def _engine(url: str) -> Engine:
    try:
        u = make_url(url)
    except Exception as exc:
        raise ProjectError(f"{url}: not a database URL ({exc})") from exc
    kwargs: dict[str, Any] = {}
    if u.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
    engine = create_engine(u, **kwargs)
    dialect.configure(engine)
    return engine
