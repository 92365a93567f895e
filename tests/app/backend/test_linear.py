"""The compiled scorer gives the pipeline's own probabilities, or is not used, and says why."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer
from sklearn.svm import LinearSVC

from app.backend import linear
from app.backend.linear import PROBES, compile_scorer
from app.backend.model import load_folder
from ml.features import NaiveBayesWeighter
from ml.text import TOKEN_PATTERN, model_text
from tests.app.backend.conftest import NEGATIVE, POSITIVE

REVIEWS = [
    "An absolute delight from start to finish.",
    "Not good at all, I did not enjoy a minute of it.",
    "<b>Terrible</b> acting.<br /><br />A waste of time!",
    "It's fine. Nothing special, nothing awful.",
    "great great great great awful",
    "",
]
LABELS = [1] * len(POSITIVE) + [0] * len(NEGATIVE)


def _fit(vectorizer: object = None, middle: object = None, classifier: object = None) -> Pipeline:
    """The project's pipeline shape on the tiny data, with one part swapped."""
    pipeline = Pipeline(
        [
            (
                "tfidf",
                vectorizer or TfidfVectorizer(preprocessor=model_text, token_pattern=TOKEN_PATTERN),
            ),
            ("nb", middle or NaiveBayesWeighter(alpha=0.5)),
            ("clf", classifier or LogisticRegression(C=10.0)),
        ]
    )
    return pipeline.fit(POSITIVE + NEGATIVE, LABELS)


def test_tiny_model_scores_match_predict_proba(tiny_model: Path) -> None:
    predictor = load_folder(tiny_model)
    assert predictor.fast_path
    expected = predictor.pipeline.predict_proba(np.array(REVIEWS, dtype=object))[:, 1]
    np.testing.assert_allclose(predictor.positive_probabilities(REVIEWS), expected, atol=1e-6)


def test_raw_term_frequencies_are_reproduced() -> None:
    pipeline = _fit(
        TfidfVectorizer(preprocessor=model_text, token_pattern=TOKEN_PATTERN, sublinear_tf=False)
    )
    choice = compile_scorer(pipeline)
    assert choice.fast_path, choice.reason
    expected = pipeline.predict_proba(np.array(REVIEWS, dtype=object))[:, 1]
    actual = [choice.scorer.positive_probability(text) for text in REVIEWS]
    np.testing.assert_allclose(actual, expected, atol=1e-6)


def _vectorizer(**settings: object) -> TfidfVectorizer:
    return TfidfVectorizer(preprocessor=model_text, token_pattern=TOKEN_PATTERN, **settings)


@pytest.mark.parametrize(
    ("pipeline", "named"),
    [
        (lambda: _fit(_vectorizer(binary=True)), "TfidfVectorizer binary=True"),
        (lambda: _fit(_vectorizer(norm="l1")), "TfidfVectorizer norm='l1'"),
        (lambda: _fit(_vectorizer(norm=None)), "TfidfVectorizer norm=None"),
        (lambda: _fit(_vectorizer(use_idf=False)), "TfidfVectorizer use_idf=False"),
        (
            lambda: _fit(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4))),
            "TfidfVectorizer analyzer='char_wb'",
        ),
        (
            lambda: _fit(TfidfVectorizer(analyzer="char", ngram_range=(2, 3))),
            "TfidfVectorizer analyzer='char'",
        ),
        (lambda: _fit(middle=Normalizer()), "step 2 is sklearn.preprocessing._data.Normalizer"),
        (lambda: _fit(classifier=LinearSVC()), "step 3 is LinearSVC"),
        (
            lambda: Pipeline([("tfidf", _vectorizer()), ("clf", LogisticRegression())]).fit(
                POSITIVE + NEGATIVE, LABELS
            ),
            "the pipeline has 2 steps",
        ),
    ],
    ids=["binary", "l1", "no-norm", "no-idf", "char_wb", "char", "normalizer", "svm", "2-steps"],
)
def test_every_setting_it_does_not_reproduce_is_refused_by_name(pipeline, named: str) -> None:
    choice = compile_scorer(pipeline())
    assert not choice.fast_path
    assert choice.reason.startswith("not reproduced: ")
    assert named in choice.reason


def test_the_repeated_word_probes_catch_binary_counts_on_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Even if the settings check missed binary counts, the probes would refuse the scorer."""
    pipeline = _fit(_vectorizer(binary=True))
    monkeypatch.setattr(linear, "unsupported_settings", lambda _: [])
    choice = compile_scorer(pipeline)
    assert not choice.fast_path
    assert choice.reason.startswith("disagrees with predict_proba by")


def test_the_probes_cover_repetition_length_and_negation(tiny_model: Path) -> None:
    pipeline = load_folder(tiny_model).pipeline
    vectorizer, weighter, classifier = (step for _, step in pipeline.steps)
    weights = weighter.log_count_ratio_ * classifier.coef_[0]
    probes = linear._probes(vectorizer, weights)
    analyzer = vectorizer.build_analyzer()
    assert any(max(pd.Series(analyzer(p)).value_counts(), default=0) >= 4 for p in probes)
    assert max(len(p) for p in probes) == linear.LONG_PROBE_CHARACTERS
    assert sum("not_" in " ".join(analyzer(p)) for p in PROBES) >= 3


def test_a_disagreeing_scorer_is_refused(tiny_model: Path) -> None:
    pipeline = load_folder(tiny_model).pipeline
    original = pipeline.predict_proba
    # A pipeline whose predict_proba no longer matches its own weights: the compiled scorer
    # would serve different numbers, so it must not be used.
    pipeline.predict_proba = lambda texts: 1 - original(texts)  # type: ignore[method-assign]
    choice = compile_scorer(pipeline)
    assert not choice.fast_path
    assert "disagrees with predict_proba" in choice.reason
    assert choice.worst_difference is not None and choice.worst_difference > linear.TOLERANCE


@pytest.mark.integration
def test_exported_model_agrees_on_the_hold_out(exported_model: Path, repo_root: Path) -> None:
    predictor = load_folder(exported_model)
    assert predictor.fast_path
    test_csv = exported_model.parent.parent / "data" / "test.csv"
    reviews = pd.read_csv(test_csv)["review"].astype(str).tolist()[:1000]
    fast = np.array(predictor.positive_probabilities(reviews))
    slow = predictor.pipeline.predict_proba(np.array(reviews, dtype=object))[:, 1]
    assert np.abs(fast - slow).max() < 1e-6
    assert ((fast >= 0.5) == (slow >= 0.5)).all()
    # The inlined terms (word_ngrams) serve, and change not one float against the analyzer.
    scorer = predictor.scorer.scorer
    assert scorer is not None and scorer._terms is not scorer._analyzer
    plain = linear.LinearTextScorer(
        scorer._analyzer, scorer._vocabulary, scorer._idf, scorer._weights, scorer._intercept,
        sublinear_tf=scorer._sublinear_tf,
    )  # fmt: skip
    assert fast.tolist() == [plain.positive_probability(review) for review in reviews]


@pytest.mark.parametrize("ngram_max", [1, 2, 3])
def test_inlined_terms_are_the_analyzers(ngram_max: int) -> None:
    vectorizer = TfidfVectorizer(
        preprocessor=model_text, token_pattern=TOKEN_PATTERN, ngram_range=(1, ngram_max)
    )
    analyzer = vectorizer.build_analyzer()
    terms = linear.word_ngrams(model_text, TOKEN_PATTERN, ngram_max)
    for text in [*REVIEWS, *PROBES, *POSITIVE, *NEGATIVE, "one", "one two"]:
        assert list(terms(text)) == analyzer(text)


def test_inlined_terms_change_no_probability() -> None:
    """The scorer with the inlined terms gives bit-identical floats to the analyzer's."""
    pipeline = _fit(TfidfVectorizer(preprocessor=model_text, token_pattern=TOKEN_PATTERN,
                                    ngram_range=(1, 2), sublinear_tf=True))  # fmt: skip
    fast = compile_scorer(pipeline).scorer
    assert fast is not None and fast._terms is not fast._analyzer
    plain = linear.LinearTextScorer(
        fast._analyzer, fast._vocabulary, fast._idf, fast._weights, fast._intercept,
        sublinear_tf=True,
    )  # fmt: skip
    for text in [*REVIEWS, *PROBES, *POSITIVE, *NEGATIVE]:
        assert fast.positive_probability(text) == plain.positive_probability(text)


def test_settings_it_does_not_inline_keep_the_analyzer() -> None:
    pipeline = _fit(TfidfVectorizer(preprocessor=model_text, token_pattern=TOKEN_PATTERN,
                                    ngram_range=(2, 2)))  # fmt: skip
    choice = compile_scorer(pipeline)
    assert choice.scorer is not None
    assert choice.scorer._terms is choice.scorer._analyzer
