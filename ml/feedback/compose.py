"""The rules that turn exported verdicts into training rows.

1. A verdict whose review text is missing (the service ran with ``STORE_TEXT=false``) or empty
   after cleaning cannot be learned from: dropped and counted.
2. Reviews are identified by the sha256 of their cleaned text (HTML stripped, whitespace
   collapsed: the same cleaning ``ml.data`` applies), so copies that differ only in markup are
   one review. Each further verdict on a review is a duplicate, counted.
3. A review that is in the hold-out is dropped and counted: the hold-out never changes and no
   version trains on it.
4. A review already in the training pool keeps the pool's label; the verdict is dropped and
   counted.
5. A review whose verdicts contradict each other is resolved by the conflict rule:
   ``majority`` keeps the label most verdicts gave and drops a tie; ``drop`` drops it.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Literal

import pandas as pd

from ml.feedback.rows import LABELS
from ml.text import clean_text

ConflictRule = Literal["majority", "drop"]


@dataclass(frozen=True)
class FeedbackCounts:
    exported_rows: int
    rows_without_text: int
    duplicate_verdicts: int
    reviews: int
    holdout_reviews_dropped: int
    pool_reviews_dropped: int
    conflicting_reviews: int
    conflicts_resolved_by_majority: int
    conflicts_dropped: int
    usable_reviews: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def text_key(review: str) -> str:
    """A review's identity: the sha256 of its cleaned text."""
    return hashlib.sha256(clean_text(review).encode("utf-8")).hexdigest()


def _keys(reviews: pd.Series) -> set[str]:
    return set(reviews.map(text_key))


def compose(
    export: pd.DataFrame, pool: pd.DataFrame, holdout: pd.DataFrame, rule: ConflictRule
) -> tuple[pd.DataFrame, FeedbackCounts]:
    """Training rows (review, label) from the verdicts, in order of first verdict, and counts."""
    cleaned = export["review"].map(clean_text)
    with_text = export.assign(review=cleaned)[cleaned != ""]
    with_text = with_text.assign(key=with_text["review"].map(text_key))
    votes = with_text.assign(
        positive=(with_text["feedback_label"] == "positive").astype(int),
        negative=(with_text["feedback_label"] == "negative").astype(int),
    )
    per_review = votes.groupby("key", sort=False).agg(
        review=("review", "first"), positive=("positive", "sum"), negative=("negative", "sum")
    )
    in_holdout = per_review.index.isin(list(_keys(holdout["review"])))
    in_pool = per_review.index.isin(list(_keys(pool["review"]))) & ~in_holdout
    candidates = per_review[~in_holdout & ~in_pool]

    conflicting = (candidates["positive"] > 0) & (candidates["negative"] > 0)
    tie = candidates["positive"] == candidates["negative"]
    keep = ~conflicting | (~tie if rule == "majority" else False)
    kept = candidates[keep]
    labels = (kept["positive"] > kept["negative"]).map(
        {True: LABELS["positive"], False: LABELS["negative"]}
    )
    rows = pd.DataFrame({"review": kept["review"], "label": labels.astype("int64")})
    resolved = int((conflicting & keep).sum())
    counts = FeedbackCounts(
        exported_rows=len(export),
        rows_without_text=len(export) - len(with_text),
        duplicate_verdicts=len(with_text) - len(per_review),
        reviews=len(per_review),
        holdout_reviews_dropped=int(in_holdout.sum()),
        pool_reviews_dropped=int(in_pool.sum()),
        conflicting_reviews=int(conflicting.sum()),
        conflicts_resolved_by_majority=resolved,
        conflicts_dropped=int(conflicting.sum()) - resolved,
        usable_reviews=len(rows),
    )
    return rows.reset_index(drop=True), counts
