"""A prediction store like the service's: the real migrations, rows written as the service does.

For the tests and benchmarks of ml.feedback and ml.monitor: they read the store, and these
helpers fill it without running the web application.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, insert

from app.backend import migrate
from app.backend.tables import predictions


@dataclass(frozen=True)
class StoredPrediction:
    text: str
    positive_probability: float
    created_at: datetime
    feedback_label: str | None = None
    model_version: str = "1"
    # False: stored as the service does with STORE_TEXT=false (sha256 and length, no text).
    keep_text: bool = True

    @property
    def label(self) -> str:
        return "positive" if self.positive_probability >= 0.5 else "negative"


def migrated_store(url: str) -> None:
    """Bring the database at ``url`` to the service's schema (alembic upgrade head)."""
    engine = create_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def _row(item: StoredPrediction) -> dict[str, object]:
    probability = max(item.positive_probability, 1 - item.positive_probability)
    return {
        "request_id": uuid.uuid4().hex,
        "text": item.text if item.keep_text else None,
        "text_sha256": hashlib.sha256(item.text.encode()).hexdigest(),
        "text_length": len(item.text),
        "label": item.label,
        "probability": probability,
        "positive_probability": item.positive_probability,
        "model_name": "imdb-sentiment",
        "model_version": item.model_version,
        "latency_ms": 1.0,
        "created_at": item.created_at,
        "feedback_label": item.feedback_label,
        "feedback_at": item.created_at + timedelta(seconds=30) if item.feedback_label else None,
    }


def store_predictions(url: str, items: Iterable[StoredPrediction], chunk: int = 5000) -> int:
    """Insert the predictions in chunks; returns how many were written."""
    engine = create_engine(url)
    written = 0
    batch: list[dict[str, object]] = []
    try:
        with engine.begin() as connection:
            for item in items:
                batch.append(_row(item))
                if len(batch) >= chunk:
                    connection.execute(insert(predictions), batch)
                    written += len(batch)
                    batch = []
            if batch:
                connection.execute(insert(predictions), batch)
                written += len(batch)
    finally:
        engine.dispose()
    return written


def spread_over(count: int, hours: float, end: datetime | None = None) -> Sequence[datetime]:
    """``count`` times evenly spread over the ``hours`` before ``end`` (now, UTC)."""
    end = end or datetime.now(UTC)
    step = timedelta(hours=hours) / max(count, 1)
    return [end - step * (count - index) for index in range(count)]


def scored_predictions(
    pipeline: object,
    reviews: Sequence[str],
    times: Sequence[datetime],
    true_labels: Sequence[int] | None = None,
    *,
    model_version: str = "1",
) -> list[StoredPrediction]:
    """The predictions the service would store for ``reviews``, scored by ``pipeline``.

    With ``true_labels``, each prediction also carries the user's verdict (the true label).
    """
    import numpy as np

    positive = pipeline.predict_proba(np.asarray(reviews, dtype=object))[:, 1]  # type: ignore[attr-defined]
    verdicts: Sequence[str | None] = (
        ["positive" if label == 1 else "negative" for label in true_labels]
        if true_labels is not None
        else [None] * len(reviews)
    )
    return [
        StoredPrediction(review, float(probability), moment, verdict, model_version)
        for review, probability, moment, verdict in zip(
            reviews, positive, times, verdicts, strict=True
        )
    ]
