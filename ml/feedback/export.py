"""Read the labelled predictions out of the store."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Engine, select

from ml.feedback.rows import EXPORT_COLUMNS
from ml.store import predictions


def _utc(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:  # sqlite hands back naive datetimes; the service writes UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def read_feedback(engine: Engine) -> pd.DataFrame:
    """Every prediction that received a verdict, oldest first, as strings (EXPORT_COLUMNS)."""
    query = (
        select(
            predictions.c.request_id,
            predictions.c.text,
            predictions.c.feedback_label,
            predictions.c.feedback_at,
            predictions.c.created_at,
        )
        .where(predictions.c.feedback_label.is_not(None))
        .order_by(predictions.c.id)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return pd.DataFrame(
        [
            (request_id, text or "", label, _utc(feedback_at), _utc(created_at))
            for request_id, text, label, feedback_at, created_at in rows
        ],
        columns=EXPORT_COLUMNS,
        dtype=str,
    )
