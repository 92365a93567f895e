"""The feedback data version: the training pool plus the snapshot's usable reviews."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from ml.data.prepare import PreparedData
from ml.errors import PipelineError
from ml.feedback.compose import FeedbackCounts, compose
from ml.feedback.snapshot import read_snapshot
from ml.params import FeedbackParams


class TooFewFeedbackError(PipelineError):
    """Not enough usable feedback yet: nothing is wrong, and nothing was written."""

    exit_code = 3


def require_min_rows(counts: FeedbackCounts, min_rows: int) -> None:
    if counts.usable_reviews >= min_rows:
        return
    raise TooFewFeedbackError(
        f"{counts.usable_reviews} usable feedback reviews, fewer than the minimum {min_rows} "
        f"(params.yaml feedback.min_rows); from {counts.exported_rows} exported verdicts: "
        f"{counts.rows_without_text} without text, {counts.duplicate_verdicts} duplicates, "
        f"{counts.holdout_reviews_dropped} in the hold-out, {counts.pool_reviews_dropped} "
        f"already in the pool, {counts.conflicts_dropped} dropped as conflicts. "
        "Nothing was written."
    )


def add_feedback(
    prepared: PreparedData, data_dir: Path, params: FeedbackParams
) -> tuple[PreparedData, dict[str, Any]]:
    """The pool plus the feedback rows, and the manifest's ``feedback`` entry (the lineage)."""
    export, record = read_snapshot(data_dir)
    rows, counts = compose(export, prepared.train, prepared.test, params.conflict_rule)
    if record.get("conflict_rule") not in (None, params.conflict_rule):
        raise PipelineError(
            f"the snapshot was checked with conflict rule {record.get('conflict_rule')!r} but "
            f"params.yaml says {params.conflict_rule!r}; export it again"
        )
    require_min_rows(counts, params.min_rows)
    train = pd.concat([prepared.train, rows], ignore_index=True)
    lineage = {
        "rows": record["rows"],
        "sha256": record["sha256"],
        "feedback_from": record.get("feedback_from"),
        "feedback_to": record.get("feedback_to"),
        "conflict_rule": params.conflict_rule,
        "counts": counts.as_dict(),
    }
    return replace(prepared, train=train), {"feedback": lineage}
