"""Tables of the project database (SQLAlchemy Core metadata).

Changing anything here needs an Alembic migration in ``store/migrations``;
``tests/store/test_migrations.py`` fails when the two disagree.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)

# Deterministic constraint names so migrations behave the same on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", JSON, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("role", String(20), nullable=False, server_default="labeler"),
    Column("created_at", DateTime, nullable=False, server_default=func.now()),
)

roots = Table(
    "roots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("path", Text, nullable=False, unique=True),  # absolute, or relative to the project
)

images = Table(
    "images",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("root_id", ForeignKey("roots.id", ondelete="CASCADE"), nullable=False),
    Column("path", Text, nullable=False),  # relative to the root, forward slashes
    Column("folder", Text, nullable=False, server_default=""),  # dirname of path
    Column("width", Integer, nullable=False, server_default="0"),
    Column("height", Integer, nullable=False, server_default="0"),
    Column("orientation", Integer, nullable=False, server_default="1"),
    Column("file_size", BigInteger, nullable=False, server_default="0"),
    Column("mtime_ns", BigInteger, nullable=False, server_default="0"),
    Column("checksum", String(64)),
    Column("split", String(50)),
    Column("status", String(20), nullable=False, server_default="new"),
    Column("error", Text),  # why the file could not be read (status 'broken')
    Column("missing", Boolean, nullable=False, server_default="0"),  # gone from disk
    Column("assignee_id", ForeignKey("users.id", ondelete="SET NULL")),
    Column("added_at", DateTime, nullable=False, server_default=func.now()),
    UniqueConstraint("root_id", "path"),
    # Sort keys of the browser; (key, id) makes keyset pagination exact.
    Index(None, "path", "id"),
    Index(None, "folder", "path", "id"),
    Index(None, "mtime_ns", "id"),
    Index(None, "file_size", "id"),
    Index(None, "status", "path", "id"),
    Index(None, "split"),
)

labels = Table(
    "labels",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("color", String(7), nullable=False),
    Column("kind", String(20), nullable=False, server_default="any"),
    Column("shortcut", String(20)),
    Column("parent_id", ForeignKey("labels.id", ondelete="SET NULL")),
    Column("attributes", JSON, nullable=False, default=dict),
    Column("skeleton", JSON),
    Column("position", Integer, nullable=False, server_default="0"),
    sqlite_autoincrement=True,
)

model_runs = Table(
    "model_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("model", String(500), nullable=False),
    Column("task", String(40), nullable=False, server_default="detection"),
    Column("weights_sha256", String(64)),
    Column("params", JSON, nullable=False, default=dict),
    Column("device", String(50)),
    Column("status", String(20), nullable=False, server_default="running"),
    Column("images_done", Integer, nullable=False, server_default="0"),
    Column("timings", JSON, nullable=False, default=dict),
    Column("started_at", DateTime, nullable=False, server_default=func.now()),
    Column("finished_at", DateTime),
)

predictions = Table(
    "predictions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("model_runs.id", ondelete="CASCADE"), nullable=False),
    Column("image_id", ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    Column("label_id", ForeignKey("labels.id", ondelete="SET NULL")),
    Column("class_name", String(200), nullable=False, server_default=""),
    Column("kind", String(20), nullable=False),
    Column("geometry", JSON, nullable=False),
    Column("score", Float, nullable=False),
    Column("attributes", JSON, nullable=False, default=dict),
    Column("x", Float),
    Column("y", Float),
    Column("w", Float),
    Column("h", Float),
    Index(None, "run_id", "image_id"),
    Index(None, "image_id"),
)

annotations = Table(
    "annotations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("image_id", ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    Column("label_id", ForeignKey("labels.id", ondelete="RESTRICT"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("geometry", JSON, nullable=False),
    # Bounding box and area, denormalised so the dashboard and spatial queries stay in SQL.
    Column("x", Float),
    Column("y", Float),
    Column("w", Float),
    Column("h", Float),
    Column("area", Float),
    Column("attributes", JSON, nullable=False, default=dict),
    Column("source", String(20), nullable=False, server_default="human"),
    Column("author_id", ForeignKey("users.id", ondelete="SET NULL")),
    Column("prediction_id", ForeignKey("predictions.id", ondelete="SET NULL")),
    Column("z", Integer, nullable=False, server_default="0"),
    Column("hidden", Boolean, nullable=False, server_default="0"),
    Column("locked", Boolean, nullable=False, server_default="0"),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_at", DateTime, nullable=False, server_default=func.now()),
    Column("updated_at", DateTime, nullable=False, server_default=func.now()),
    Index(None, "image_id", "z"),
    Index(None, "label_id", "kind"),
    # SQLite must never hand an id out twice, or undoing a delete could collide with
    # a row added meanwhile (PostgreSQL sequences never reuse ids anyway).
    sqlite_autoincrement=True,
)

image_scores = Table(
    "image_scores",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("model_runs.id", ondelete="CASCADE"), nullable=False),
    Column("image_id", ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    Column("uncertainty", Float),
    Column("mistakenness", Float),
    Column("details", JSON, nullable=False, default=dict),
    UniqueConstraint("run_id", "image_id"),
    Index(None, "run_id", "uncertainty"),
    Index(None, "run_id", "mistakenness"),
)

escalations = Table(
    "escalations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("image_id", ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    Column("annotation_id", ForeignKey("annotations.id", ondelete="SET NULL")),
    Column("region", JSON),  # optional box the question is about
    Column("question", Text, nullable=False),
    Column("status", String(20), nullable=False, server_default="open"),
    Column("created_by", ForeignKey("users.id", ondelete="SET NULL")),
    Column("assigned_to", ForeignKey("users.id", ondelete="SET NULL")),
    Column("label_id", ForeignKey("labels.id", ondelete="SET NULL")),  # guidance for this label
    Column("answer", Text),  # the lead's answer, shown as guidance once resolved
    Column("created_at", DateTime, nullable=False, server_default=func.now()),
    Column("resolved_at", DateTime),
    Index(None, "status", "created_at"),
    Index(None, "image_id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "escalation_id",
        ForeignKey("escalations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("author_id", ForeignKey("users.id", ondelete="SET NULL")),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime, nullable=False, server_default=func.now()),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, nullable=False, server_default=func.now()),
    Column("user_id", ForeignKey("users.id", ondelete="SET NULL")),
    Column("kind", String(50), nullable=False),  # e.g. annotation.add, images.index
    Column("entity", String(30)),
    Column("entity_id", Integer),
    Column("image_id", Integer),
    Column("payload", JSON, nullable=False, default=dict),
    Index(None, "image_id", "id"),
)
