"""Naive Bayes feature weighting (Wang & Manning's NBSVM idea) as a scikit-learn transformer."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted


class NaiveBayesWeighter(TransformerMixin, BaseEstimator):
    """Scale each feature by its smoothed log-count ratio between the positive and negative class.

    Features that separate the classes get large weights before the linear model sees them,
    which lifts a plain TF-IDF + logistic regression by about one accuracy point on IMDB.
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def fit(self, features: sparse.spmatrix, labels: Any) -> Self:  # noqa: ANN401 - array-like
        labels = np.asarray(labels)
        if set(np.unique(labels)) - {0, 1}:
            raise ValueError("NaiveBayesWeighter needs binary 0/1 labels")
        positive = self.alpha + np.asarray(features[labels == 1].sum(axis=0)).ravel()
        negative = self.alpha + np.asarray(features[labels == 0].sum(axis=0)).ravel()
        ratio = np.log((positive / positive.sum()) / (negative / negative.sum()))
        self.log_count_ratio_ = ratio.astype(np.float32)
        self.n_features_in_ = features.shape[1]
        return self

    def transform(self, features: sparse.spmatrix) -> sparse.csr_matrix:
        check_is_fitted(self, "log_count_ratio_")
        return sparse.csr_matrix(features.multiply(self.log_count_ratio_))
