"""The recent window of stored predictions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from ml.store import predictions

WINDOW_COLUMNS = (
    "text",
    "text_length",
    "label",
    "positive_probability",
    "model_version",
    "feedback_label",
)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    frame: pd.DataFrame  # WINDOW_COLUMNS, one row per stored prediction

    @property
    def size(self) -> int:
        return len(self.frame)


def read_window(engine: Engine, start: datetime, end: datetime) -> Window:
    """Predictions stored in [start, end), oldest first."""
    query = (
        select(*(predictions.c[name] for name in WINDOW_COLUMNS))
        .where(predictions.c.created_at >= start, predictions.c.created_at < end)
        .order_by(predictions.c.created_at, predictions.c.id)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    frame = pd.DataFrame(rows, columns=list(WINDOW_COLUMNS))
    frame["positive_probability"] = frame["positive_probability"].astype(np.float64)
    frame["text_length"] = frame["text_length"].astype(np.int64)
    return Window(start, end, frame)
