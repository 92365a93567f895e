"""The database schema (SQLAlchemy Core). Alembic migrations in ``migrations/`` create it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
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
