"""The pipeline itself: fits, predicts probabilities, survives pickling, checks its labels."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy import sparse

from ml.behaviour import run_behaviour_checks
from ml.data.prepare import RawData, prepare
from ml.features import NaiveBayesWeighter
from ml.metrics import evaluate
from ml.model import build_pipeline
from ml.params import DataParams, TrainParams
from tests.ml.conftest import GOOD_VERSION, TEST_PARAMS

TRAIN = TrainParams.model_validate(TEST_PARAMS["train"])


@pytest.fixture(scope="module")
def fitted(embedded_raw: RawData):
    prepared = prepare(embedded_raw, DataParams.model_validate(TEST_PARAMS["data"]), GOOD_VERSION)
    pipeline = build_pipeline(TRAIN)
    pipeline.fit(prepared.train["review"].to_numpy(dtype=str), prepared.train["label"].to_numpy())
    return pipeline, prepared


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
    results = run_behaviour_checks(pipeline)
    assert {r.name for r in results} == {"obvious", "negation", "invariance"}
    assert all(r.pass_rate == 1.0 for r in results), [r.failures for r in results]


def test_nb_weighter_scales_discriminative_features() -> None:
    features = sparse.csr_matrix(np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]))
    weighter = NaiveBayesWeighter(alpha=1.0).fit(features, np.array([1, 1, 0, 0]))
    ratio = weighter.log_count_ratio_
    assert ratio[0] > 0 > ratio[1]
    np.testing.assert_allclose(weighter.transform(features).toarray()[1], [ratio[0], 0.0])


def test_nb_weighter_refuses_non_binary_labels() -> None:
    with pytest.raises(ValueError, match="binary"):
        NaiveBayesWeighter().fit(sparse.csr_matrix(np.eye(3)), np.array([0, 1, 2]))
