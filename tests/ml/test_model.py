"""The pipeline itself: fits, predicts probabilities, survives pickling, checks its labels."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy import sparse

from ml.features import NaiveBayesWeighter
from ml.gate.behaviour import run_checks
from ml.metrics import evaluate
from tests.ml.conftest import TEST_PARAMS


def test_scores_well_above_chance_on_the_hold_out(fitted) -> None:
    pipeline, prepared = fitted
    scores = evaluate(pipeline, prepared.test).scores
    assert scores.accuracy > 0.85
    assert scores.roc_auc > 0.9


def test_raw_html_input_is_cleaned_inside_the_model(fitted) -> None:
    pipeline, _ = fitted
    plain, marked_up = pipeline.predict_proba(
        np.array(["A wonderful film. Loved it.", "A <b>wonderful</b> film.<br /><br />Loved it."])
    )
    np.testing.assert_allclose(plain, marked_up)


def test_pickle_round_trip_predicts_identically(fitted) -> None:
    pipeline, prepared = fitted
    texts = prepared.test["review"].to_numpy(dtype=str)[:50]
    restored = pickle.loads(pickle.dumps(pipeline))  # noqa: S301 - our own object
    np.testing.assert_array_equal(pipeline.predict_proba(texts), restored.predict_proba(texts))


def test_behaviour_checks_pass_for_a_reasonable_model(fitted) -> None:
    pipeline, _ = fitted
    minimum = TEST_PARAMS["gate"]["behaviour"]
    results = {r.name: r for r in run_checks(pipeline)}
    assert set(results) == set(minimum)
    below = {n: r.failures for n, r in results.items() if r.pass_rate < minimum[n]}
    assert not below


def test_nb_weighter_scales_discriminative_features() -> None:
    features = sparse.csr_matrix(np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]))
    weighter = NaiveBayesWeighter(alpha=1.0).fit(features, np.array([1, 1, 0, 0]))
    ratio = weighter.log_count_ratio_
    assert ratio[0] > 0 > ratio[1]
    np.testing.assert_allclose(weighter.transform(features).toarray()[1], [ratio[0], 0.0])


def test_nb_weighter_refuses_non_binary_labels() -> None:
    with pytest.raises(ValueError, match="binary"):
        NaiveBayesWeighter().fit(sparse.csr_matrix(np.eye(3)), np.array([0, 1, 2]))
