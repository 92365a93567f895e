"""The exported verdicts as rows: their columns, labels and canonical bytes (no database)."""

from __future__ import annotations

import hashlib

import pandas as pd

from ml.errors import PipelineError

LABELS = {"negative": 0, "positive": 1}
EXPORT_COLUMNS = ["request_id", "review", "feedback_label", "feedback_at", "created_at"]


def check_labels(export: pd.DataFrame) -> None:
    """Refuse the whole export when any verdict is not a known label; name each and its count."""
    unknown = export.loc[~export["feedback_label"].isin(list(LABELS)), "feedback_label"]
    if unknown.empty:
        return
    counts = unknown.value_counts()
    listed = "; ".join(f"{count} rows have the label {value!r}" for value, count in counts.items())
    raise PipelineError(
        f"{len(unknown)} of {len(export)} feedback rows have an unknown label ({listed}); "
        f"expected {' or '.join(LABELS)}. Nothing was written."
    )


def export_bytes(export: pd.DataFrame) -> bytes:
    """The snapshot file's bytes: the rows in store order, UTF-8 CSV with \\n line ends."""
    return export[EXPORT_COLUMNS].to_csv(index=False, lineterminator="\n").encode("utf-8")


def sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def time_range(export: pd.DataFrame) -> tuple[str | None, str | None]:
    """The first and last verdict's time (ISO 8601, UTC); ISO strings of one zone sort as time."""
    times = export.loc[export["feedback_at"] != "", "feedback_at"]
    if times.empty:
        return None, None
    return str(times.min()), str(times.max())
