"""The watched signals of a review: its length and its out-of-vocabulary rate.

A word is out of vocabulary when the served model has no feature for it: rare words (seen in
fewer than ``min_df`` training reviews), and the handful of words so common that they carry no
signal (``max_df``). Both kinds appear in the reference too, so only a change in the rate
matters. Tokens are the ones the model sees (``ml.text.model_text``: lower case, negation
marked).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer


class VocabularyProbe:
    """Counts, per review, the share of the model's tokens it has no feature for."""

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        self._preprocess = vectorizer.build_preprocessor()
        self._tokenize = vectorizer.build_tokenizer()
        self._known = frozenset(term for term in vectorizer.vocabulary_ if " " not in term)

    def oov_rates(self, reviews: Iterable[str]) -> np.ndarray:
        """One rate per review; NaN for a review without a single token."""
        known = self._known
        rates = []
        for review in reviews:
            tokens = self._tokenize(self._preprocess(review))
            if tokens:
                unknown = sum(1 for token in tokens if token not in known)
                rates.append(unknown / len(tokens))
            else:
                rates.append(np.nan)
        return np.asarray(rates, dtype=np.float64)


def confidence(positive_probability: np.ndarray) -> np.ndarray:
    """The probability of the label the model chose: 0.5 (a coin flip) to 1 (certain)."""
    return np.maximum(positive_probability, 1.0 - positive_probability)
