"""A fast scorer for the project's linear text pipeline, compiled from the fitted pipeline.

The model is TF-IDF -> naive Bayes weights -> logistic regression: all linear after the
analyser, so one review's score is a sum over its n-grams. Scoring that sum directly skips the
sparse-matrix machinery sklearn builds for every call, which costs more than the arithmetic for a
single review. The analyser, vocabulary, idf, weights and intercept are the pipeline's own, and
``compile_scorer`` refuses (returns None) unless the result matches ``predict_proba`` on probe
texts, so the service never serves numbers the model would not give.
"""

from __future__ import annotations

import logging
import math
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# Agreement required with the pipeline's own predict_proba (float32 features there).
TOLERANCE = 1e-5
PROBES = (
    "A moving, beautifully acted film. I loved it.",
    "Dull and far too long; not good at all.",
    "The plot was <br /><br />predictable, but the cast didn't disappoint.",
    "",
    "zzzz qqqq",
)


class LinearTextScorer:
    """P(positive) for raw review strings, computed n-gram by n-gram."""

    def __init__(
        self,
        analyzer: Callable[[str], list[str]],
        vocabulary: dict[str, int],
        idf: Sequence[float],
        weights: Sequence[float],
        intercept: float,
        *,
        sublinear_tf: bool,
    ) -> None:
        self._analyzer = analyzer
        self._vocabulary = vocabulary
        self._idf = idf
        self._weights = weights  # idf-free: NB ratio x LR coefficient per feature
        self._intercept = intercept
        self._sublinear_tf = sublinear_tf

    def positive_probability(self, text: str) -> float:
        vocabulary = self._vocabulary
        counts = Counter(vocabulary[term] for term in self._analyzer(text) if term in vocabulary)
        squared_norm = 0.0
        dot = 0.0
        idf = self._idf
        weights = self._weights
        for index, count in counts.items():
            tf = 1.0 + math.log(count) if self._sublinear_tf else float(count)
            value = tf * idf[index]
            squared_norm += value * value
            dot += value * weights[index]
        score = self._intercept + (dot / math.sqrt(squared_norm) if squared_norm else 0.0)
        # Numerically safe logistic function.
        if score >= 0:
            return 1.0 / (1.0 + math.exp(-score))
        exponential = math.exp(score)
        return exponential / (1.0 + exponential)


def _structure(pipeline: Any) -> tuple[Any, Any, Any] | None:  # noqa: ANN401 - any pipeline
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    steps = getattr(pipeline, "steps", None)
    if not steps or len(steps) != 3:
        return None
    vectorizer, weighter, classifier = (step for _, step in steps)
    if not isinstance(vectorizer, TfidfVectorizer) or not isinstance(
        classifier, LogisticRegression
    ):
        return None
    if (
        not hasattr(weighter, "log_count_ratio_")
        or vectorizer.norm != "l2"
        or not vectorizer.use_idf
    ):
        return None
    if classifier.coef_.shape[0] != 1 or list(classifier.classes_) != [0, 1]:
        return None
    return vectorizer, weighter, classifier


def compile_scorer(pipeline: Any) -> LinearTextScorer | None:  # noqa: ANN401 - any pipeline
    """The fast scorer, or None when the pipeline is not this shape or the results disagree."""
    parts = _structure(pipeline)
    if parts is None:
        return None
    vectorizer, weighter, classifier = parts
    # Compact arrays, not lists: a list of Python floats would cost four times the memory.
    weights = np.asarray(weighter.log_count_ratio_, dtype=np.float64) * classifier.coef_[0]
    scorer = LinearTextScorer(
        vectorizer.build_analyzer(),
        vectorizer.vocabulary_,
        array("d", np.asarray(vectorizer.idf_, dtype=np.float64)),
        array("d", weights),
        float(classifier.intercept_[0]),
        sublinear_tf=bool(vectorizer.sublinear_tf),
    )
    expected = pipeline.predict_proba(np.array(PROBES, dtype=object))[:, 1]
    actual = [scorer.positive_probability(text) for text in PROBES]
    worst = max(abs(a - e) for a, e in zip(actual, expected, strict=True))
    if worst > TOLERANCE:
        log.warning("fast scorer disagrees with the pipeline by %.2e; using predict_proba", worst)
        return None
    return scorer
