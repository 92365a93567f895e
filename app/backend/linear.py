"""A fast scorer for the project's linear text pipeline, compiled from the fitted pipeline.

The model is TF-IDF -> naive Bayes weights -> logistic regression: all linear after the
analyser, so one review's score is a sum over its n-grams. Scoring that sum directly skips the
sparse-matrix machinery sklearn builds for every call, which costs more than the arithmetic for a
single review. The analyser, vocabulary, idf, weights and intercept are the pipeline's own.

The scorer reproduces exactly one shape of pipeline. ``compile_scorer`` first refuses, naming
it, every setting it does not reproduce (binary counts, another norm, no idf, a character
analyser, another middle step, ...), then checks that its probabilities match ``predict_proba``
on probe texts chosen to expose what a setting changes: repeated words (binary or raw counts),
long reviews (norms), negation scopes, markup, and texts made of the model's own strongest
n-grams. When it refuses, the service serves ``predict_proba`` and says so on ``/version`` and
``/metrics`` (``rp_model_fast_path``).

Because the score is that sum, ``LinearTextScorer.explain`` splits it exactly: each n-gram's
share of the logit plus the intercept is the logit itself, the number ``positive_probability``
passes through the logistic function. Explanations exist only where the scorer does.
"""

from __future__ import annotations

import logging
import math
import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain, islice
from operator import is_not
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
# True for a vocabulary index (0 included), False for a miss (None): a C-level filter.
_is_index = partial(is_not, None)

# Agreement required with the pipeline's own predict_proba (float32 features there).
TOLERANCE = 1e-5
PROBES = (
    "A moving, beautifully acted film. I loved it.",
    "Dull and far too long; not good at all.",
    "The plot was <br /><br />predictable, but the cast didn't disappoint.",
    "",
    "zzzz qqqq",
    # Repeated words: binary and raw counts score these differently from sublinear tf.
    "good good good good good bad bad boring boring boring boring boring boring",
    "Great great great GREAT. Awful. Great!",
    # Negation scopes: opened by not / never / n't, closed by punctuation.
    "Not good, not bad, never boring; I didn't hate it, but I wouldn't watch it again.",
    "It isn't a masterpiece and it never tries to be. Still, not once was I bored!",
)
# How many of the model's strongest n-grams the vocabulary probes use, and the long probe's size.
VOCABULARY_PROBE_TERMS = 400
LONG_PROBE_CHARACTERS = 20_000


@dataclass(frozen=True)
class Explanation:
    """One review's logit, split: ``intercept + sum(contributions.values())`` is the logit.

    ``contributions`` holds every in-vocabulary n-gram of the review, spelled as the model sees
    it (lower-cased, negation-marked like ``not_good``), with its signed share of the logit:
    above zero pushes toward positive, below toward negative.
    """

    intercept: float
    contributions: dict[str, float]

    @property
    def logit(self) -> float:
        return self.intercept + math.fsum(self.contributions.values())

    def strongest(self, count: int) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """The ``count`` terms pushing hardest toward positive, then toward negative."""
        ranked = sorted(self.contributions.items(), key=lambda item: (-item[1], item[0]))
        positive = [item for item in ranked[:count] if item[1] > 0]
        negative = [item for item in reversed(ranked[-count:]) if item[1] < 0]
        return positive, negative


@dataclass(frozen=True)
class ScorerChoice:
    """The compiled scorer, or None and why the service uses predict_proba instead."""

    scorer: LinearTextScorer | None
    reason: str
    worst_difference: float | None = None

    @property
    def fast_path(self) -> bool:
        return self.scorer is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "fast_path": self.fast_path,
            "reason": self.reason,
            "max_probe_difference": self.worst_difference,
        }


def word_ngrams(
    preprocessor: Callable[[str], str], token_pattern: str, ngram_max: int
) -> Callable[[str], Iterable[str]]:
    """sklearn's word analyzer (preprocessor, token pattern, n-grams 1..ngram_max, no stop
    words) as an iterator of the same terms in the same order, built without its per-call
    wrappers and with the n-grams joined in C (``map`` over ``zip``) rather than a Python loop.

    ``compile_scorer`` uses it only when it yields exactly the analyzer's list on every probe.
    """
    findall = re.compile(token_pattern).findall
    join = " ".join

    def terms(text: str) -> Iterable[str]:
        tokens = findall(preprocessor(text))
        grams = [tokens]
        for n in range(2, min(ngram_max, len(tokens)) + 1):
            # The i-th shifted copy is i tokens shorter: zip stops at the last whole n-gram.
            shifted = (islice(tokens, i, None) for i in range(n))
            grams.append(map(join, zip(*shifted, strict=False)))
        return chain.from_iterable(grams)

    return terms


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
        terms: Callable[[str], Iterable[str]] | None = None,
    ) -> None:
        self._analyzer = analyzer
        # The same terms as the analyzer, in the same order, cheaper (``word_ngrams``).
        self._terms = terms or analyzer
        self._vocabulary = vocabulary
        self._idf = idf
        self._weights = weights  # idf-free: NB ratio x LR coefficient per feature
        self._intercept = intercept
        self._sublinear_tf = sublinear_tf

    def positive_probability(self, text: str) -> float:
        # Vocabulary indices in order of first appearance, looked up and counted in C: the
        # per-feature sums below then run in the very order they always did (same floats).
        counts = Counter(filter(_is_index, map(self._vocabulary.get, self._terms(text))))
        squared_norm = 0.0
        dot = 0.0
        idf = self._idf
        weights = self._weights
        ln = math.log
        sublinear = self._sublinear_tf
        for index, count in counts.items():
            tf = 1.0 + ln(count) if sublinear else float(count)
            value = tf * idf[index]
            squared_norm += value * value
            dot += value * weights[index]
        score = self._intercept + (dot / math.sqrt(squared_norm) if squared_norm else 0.0)
        # Numerically safe logistic function.
        if score >= 0:
            return 1.0 / (1.0 + math.exp(-score))
        exponential = math.exp(score)
        return exponential / (1.0 + exponential)

    def explain(self, text: str) -> Explanation:
        """Each n-gram's exact share of the logit ``positive_probability`` computes.

        Kept apart from ``positive_probability`` so that scoring without an explanation does no
        extra work: this one keeps the terms' spellings, which that one never looks at.
        """
        vocabulary = self._vocabulary
        counts = Counter(term for term in self._analyzer(text) if term in vocabulary)
        idf = self._idf
        weights = self._weights
        values: dict[str, tuple[float, float]] = {}
        squared_norm = 0.0
        for term, count in counts.items():
            index = vocabulary[term]
            tf = 1.0 + math.log(count) if self._sublinear_tf else float(count)
            value = tf * idf[index]
            squared_norm += value * value
            values[term] = (value, weights[index])
        norm = math.sqrt(squared_norm)
        contributions = (
            {term: value * weight / norm for term, (value, weight) in values.items()}
            if norm
            else {}
        )
        return Explanation(self._intercept, contributions)


def _vectorizer_problems(vectorizer: Any) -> list[str]:  # noqa: ANN401 - a fitted vectorizer
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not isinstance(vectorizer, TfidfVectorizer):
        return [f"step 1 is {type(vectorizer).__name__}, not TfidfVectorizer"]
    wanted = {
        "analyzer": "word",
        "input": "content",
        "binary": False,
        "norm": "l2",
        "use_idf": True,
    }
    problems = [
        f"TfidfVectorizer {name}={getattr(vectorizer, name)!r} (the scorer reproduces {value!r})"
        for name, value in wanted.items()
        if getattr(vectorizer, name) != value
    ]
    if not problems and len(vectorizer.idf_) != len(vectorizer.vocabulary_):
        problems.append("TfidfVectorizer idf_ and vocabulary_ differ in size")
    return problems


def _weighter_problems(weighter: Any, features: int) -> list[str]:  # noqa: ANN401 - any step
    kind = type(weighter)
    if kind.__name__ != "NaiveBayesWeighter" or not kind.__module__.endswith(".features"):
        return [f"step 2 is {kind.__module__}.{kind.__name__}, not ml.features.NaiveBayesWeighter"]
    ratio = getattr(weighter, "log_count_ratio_", None)
    if ratio is None or np.shape(ratio) != (features,):
        return [f"NaiveBayesWeighter log_count_ratio_ does not have {features} features"]
    return []


def _classifier_problems(classifier: Any, features: int) -> list[str]:  # noqa: ANN401 - any step
    from sklearn.linear_model import LogisticRegression

    if not isinstance(classifier, LogisticRegression):
        return [f"step 3 is {type(classifier).__name__}, not LogisticRegression"]
    if [int(c) for c in classifier.classes_] != [0, 1]:
        return [
            f"LogisticRegression classes_ {list(classifier.classes_)} (the scorer needs [0, 1])"
        ]
    if classifier.coef_.shape != (1, features):
        return [f"LogisticRegression coef_ shape {classifier.coef_.shape} (needs (1, {features}))"]
    return []


def unsupported_settings(pipeline: Any) -> list[str]:  # noqa: ANN401 - any pipeline
    """Every setting of ``pipeline`` the scorer does not reproduce, named; empty when none."""
    steps = getattr(pipeline, "steps", None)
    if not steps or len(steps) != 3:
        count = len(steps) if steps else 0
        return [f"the pipeline has {count} steps (the scorer needs tfidf -> nb -> clf)"]
    vectorizer, weighter, classifier = (step for _, step in steps)
    problems = _vectorizer_problems(vectorizer)
    if problems:
        return problems
    features = len(vectorizer.vocabulary_)
    return _weighter_problems(weighter, features) + _classifier_problems(classifier, features)


def _probes(vectorizer: Any, weights: np.ndarray) -> list[str]:  # noqa: ANN401 - a vectorizer
    """Fixed probes, plus texts made of the model's strongest n-grams, repeated, and a long one."""
    terms = sorted(vectorizer.vocabulary_.items(), key=lambda item: -abs(weights[item[1]]))
    strongest = [term for term, _ in terms[:VOCABULARY_PROBE_TERMS]]
    repeated = [
        " ".join(term for i, term in enumerate(strongest[start::7]) for _ in range(1 + i % 4))
        for start in range(7)
    ]
    sentence = ". ".join(", ".join(strongest[i : i + 5]) for i in range(0, len(strongest), 5))
    long = (sentence + ". ") * (LONG_PROBE_CHARACTERS // max(len(sentence), 1) + 1)
    return [*PROBES, *repeated, long[:LONG_PROBE_CHARACTERS]]


def _terms_like(
    vectorizer: Any,  # noqa: ANN401 - a fitted TfidfVectorizer
    analyzer: Callable[[str], list[str]],
    probes: list[str],
) -> Callable[[str], Iterable[str]] | None:
    """``word_ngrams`` for this vectorizer when it yields exactly ``analyzer``'s terms on every
    probe; None (the scorer calls the analyzer itself) for settings it does not inline."""
    low, high = vectorizer.ngram_range
    if (
        not callable(vectorizer.preprocessor)
        or vectorizer.tokenizer is not None
        or vectorizer.stop_words is not None
        or low != 1
        or re.compile(vectorizer.token_pattern).groups > 1
    ):
        return None
    terms = word_ngrams(vectorizer.preprocessor, vectorizer.token_pattern, high)
    if any(list(terms(probe)) != analyzer(probe) for probe in probes):
        log.warning("the inlined analyzer differs from the pipeline's: using the pipeline's")
        return None
    return terms


def compile_scorer(pipeline: Any) -> ScorerChoice:  # noqa: ANN401 - any pipeline
    """The fast scorer when the pipeline is the shape it reproduces and it agrees on the probes."""
    problems = unsupported_settings(pipeline)
    if problems:
        return ScorerChoice(None, "not reproduced: " + "; ".join(problems))
    vectorizer, weighter, classifier = (step for _, step in pipeline.steps)
    # Compact arrays, not lists: a list of Python floats would cost four times the memory.
    weights = np.asarray(weighter.log_count_ratio_, dtype=np.float64) * classifier.coef_[0]
    analyzer = vectorizer.build_analyzer()
    probes = _probes(vectorizer, weights)
    scorer = LinearTextScorer(
        analyzer,
        vectorizer.vocabulary_,
        array("d", np.asarray(vectorizer.idf_, dtype=np.float64)),
        array("d", weights),
        float(classifier.intercept_[0]),
        sublinear_tf=bool(vectorizer.sublinear_tf),
        terms=_terms_like(vectorizer, analyzer, probes),
    )
    expected = pipeline.predict_proba(np.array(probes, dtype=object))[:, 1]
    actual = [scorer.positive_probability(text) for text in probes]
    differences = [abs(a - e) for a, e in zip(actual, expected, strict=True)]
    worst = max(differences)
    if worst > TOLERANCE:
        probe = probes[differences.index(worst)]
        return ScorerChoice(
            None,
            f"disagrees with predict_proba by {worst:.2e} (> {TOLERANCE}) on the probe "
            f"{probe[:60]!r}",
            worst,
        )
    return ScorerChoice(
        scorer, f"matches predict_proba within {worst:.1e} on {len(probes)} probes", worst
    )
