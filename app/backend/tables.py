"""The database schema (SQLAlchemy Core). Alembic migrations in ``migrations/`` create it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

predictions = Table(
    "predictions",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("request_id", String(32), nullable=False),
    Column("text", Text, nullable=True),
    Column("text_sha256", String(64), nullable=False),
    Column("text_length", Integer, nullable=False),
    Column("label", String(8), nullable=False),
    Column("probability", Float, nullable=False),
    Column("positive_probability", Float, nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("feedback_label", String(8), nullable=True),
    Column("feedback_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("request_id", name="uq_predictions_request_id"),
    Index("ix_predictions_created_at", "created_at"),
)

# Spool events the database refused for their content (poison), set aside by the flusher so the
# others flow on; listed and replayed by ``python -m app.backend.deadletters``.
dead_letters = Table(
    "dead_letters",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    # sha256 of kind, request_id and payload: setting the same event aside twice (a crash between
    # the database commit and the spool delete) keeps one row.
    Column("event_key", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("request_id", String(64), nullable=False),
    # The spooled JSON bytes exactly as they were: bytes store whatever text could not.
    Column("payload", LargeBinary, nullable=False),
    Column("error", Text, nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("event_key", name="uq_dead_letters_event_key"),
)
