"""The sentiment pipeline: cleaning, TF-IDF n-grams, naive Bayes weighting, logistic regression."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from ml.features import NaiveBayesWeighter
from ml.params import TrainParams
from ml.text import TOKEN_PATTERN, model_text, plain_model_text

POSITIVE = 1
LABEL_NAMES = {0: "negative", 1: "positive"}
# TF-IDF settings that ml.tune does not search; it reproduces them exactly (ml/tune.py).
SUBLINEAR_TF = True
SOLVER = "liblinear"


def preprocessor(params: TrainParams) -> Callable[[str], str]:
    """The text function the vectoriser applies first (with or without negation marking)."""
    return model_text if params.negation else plain_model_text


def build_vectorizer(params: TrainParams) -> TfidfVectorizer:
    return TfidfVectorizer(
        preprocessor=preprocessor(params),
        token_pattern=TOKEN_PATTERN,
        ngram_range=(1, params.ngram_max),
        min_df=params.min_df,
        max_df=params.max_df,
        sublinear_tf=SUBLINEAR_TF,
        dtype=np.float32,
    )


def build_classifier(params: TrainParams) -> LogisticRegression:
    return LogisticRegression(C=params.C, max_iter=params.max_iter, solver=SOLVER)


def build_pipeline(params: TrainParams) -> Pipeline:
    """An unfitted pipeline that takes raw review strings and predicts 0/1."""
    return Pipeline(
        steps=[
            ("tfidf", build_vectorizer(params)),
            ("nb", NaiveBayesWeighter(alpha=params.nb_alpha)),
            ("clf", build_classifier(params)),
        ]
    )
