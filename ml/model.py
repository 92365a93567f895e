"""The sentiment pipeline: cleaning, TF-IDF n-grams, naive Bayes weighting, logistic regression."""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from ml.features import NaiveBayesWeighter
from ml.params import TrainParams
from ml.text import TOKEN_PATTERN, model_text

POSITIVE = 1
LABEL_NAMES = {0: "negative", 1: "positive"}


def build_pipeline(params: TrainParams) -> Pipeline:
    """An unfitted pipeline that takes raw review strings and predicts 0/1."""
    return Pipeline(
        steps=[
            (
                "tfidf",
                TfidfVectorizer(
                    preprocessor=model_text,
                    token_pattern=TOKEN_PATTERN,
                    ngram_range=(1, params.ngram_max),
                    min_df=params.min_df,
                    max_df=params.max_df,
                    sublinear_tf=True,
                    dtype=np.float32,
                ),
            ),
            ("nb", NaiveBayesWeighter(alpha=params.nb_alpha)),
            (
                "clf",
                LogisticRegression(C=params.C, max_iter=params.max_iter, solver="liblinear"),
            ),
        ]
    )
