"""Explanations: each n-gram's exact share of the logit, through the scorer and the API."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from app.backend.linear import LinearTextScorer, compile_scorer
from app.backend.model import ExplanationUnavailableError, Predictor, load_folder
from app.backend.schemas import EXPLAIN_TOP_TERMS
from ml.features import NaiveBayesWeighter
from ml.text import TOKEN_PATTERN, model_text
from tests.app.backend.conftest import NEGATIVE, POSITIVE, wait_until, write_export

REVIEWS = [
    *POSITIVE,
    *NEGATIVE,
    "Not good, not bad, never boring; I didn't hate it, but I wouldn't watch it again.",
    "<b>Terrible</b> acting.<br /><br />A waste of time!",
    "great great great great awful",
    "zzzz qqqq",
]
# intercept + every term's share against sklearn's own decision_function. The project's
# vectorizer builds float32 features (params.yaml), so sklearn's logit carries float32 rounding
# (about 2e-7 seen on 1,000 hold-out reviews); the scorer works in float64. Against the same
# pipeline computing in float64, only the summation order differs.
LOGIT_TOLERANCE = 1e-6
LOGIT_TOLERANCE_FLOAT64 = 1e-9


def _logistic(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-logit))


def _explanation_matches(
    predictor: Predictor, reviews: list[str], *, float64: bool = False
) -> float:
    """The worst gap between intercept + contributions and the pipeline's decision_function
    (computed with float64 features when ``float64``)."""
    explanations = predictor.explain(reviews)
    pipeline = predictor.pipeline
    if float64:
        pipeline = copy.deepcopy(pipeline)
        pipeline.steps[0][1].dtype = np.float64
    expected = pipeline.decision_function(np.array(reviews, dtype=object))
    actual = np.array([e.intercept + math.fsum(e.contributions.values()) for e in explanations])
    fast = np.array(predictor.positive_probabilities(reviews))
    np.testing.assert_allclose([_logistic(e.logit) for e in explanations], fast, rtol=0, atol=1e-12)
    return float(np.abs(actual - expected).max())


def test_contributions_and_intercept_add_up_to_the_logit(tiny_model: Path) -> None:
    predictor = load_folder(tiny_model)
    assert _explanation_matches(predictor, REVIEWS) < LOGIT_TOLERANCE_FLOAT64


def _negation_aware_scorer() -> LinearTextScorer:
    """The project's pipeline fitted on reviews whose negation scopes carry the sentiment."""
    positive = [*POSITIVE, "not bad at all, never boring", "not once dull, not bad"]
    negative = [*NEGATIVE, "not good, never funny", "not great and not good"]
    pipeline = Pipeline(
        [
            ("tfidf", TfidfVectorizer(preprocessor=model_text, token_pattern=TOKEN_PATTERN)),
            ("nb", NaiveBayesWeighter(alpha=0.5)),
            ("clf", LogisticRegression(C=10.0)),
        ]
    ).fit(positive + negative, [1] * len(positive) + [0] * len(negative))
    choice = compile_scorer(pipeline)
    assert choice.scorer is not None, choice.reason
    return choice.scorer


def test_terms_are_spelled_as_the_model_sees_them() -> None:
    scorer = _negation_aware_scorer()
    text = "Not good. <b>Boring</b> and NOT BAD!"
    explanation = scorer.explain(text)
    assert set(explanation.contributions) <= set(scorer._analyzer(text))
    assert explanation.contributions["not_good"] < 0 < explanation.contributions["not_bad"]
    assert "boring" in explanation.contributions
    assert not any("<" in term or term in {"good", "bad"} for term in explanation.contributions)
    positive, negative = explanation.strongest(EXPLAIN_TOP_TERMS)
    assert "not_good" in dict(negative) and "not_bad" in dict(positive)
    assert [value for _, value in negative] == sorted(value for _, value in negative)


def test_a_review_without_known_terms_is_the_intercept(tiny_model: Path) -> None:
    (explanation,) = load_folder(tiny_model).explain(["zzzz qqqq"])
    assert explanation.contributions == {}
    assert explanation.logit == explanation.intercept


def test_strongest_lists_the_extremes_of_each_sign(tiny_model: Path) -> None:
    (explanation,) = load_folder(tiny_model).explain([" ".join(POSITIVE + NEGATIVE)])
    positive, negative = explanation.strongest(3)
    values = sorted(explanation.contributions.values())
    assert [value for _, value in positive] == values[::-1][:3]
    assert [value for _, value in negative] == values[:3]


def test_predict_explains_only_when_asked(client: TestClient) -> None:
    text = "a wonderful film, great acting, awful script"
    plain = client.post("/predict", json={"text": text}).json()
    assert "explanation" not in plain
    body = client.post("/predict", json={"text": text, "explain": True}).json()
    assert body["positive_probability"] == plain["positive_probability"]
    explanation = body["explanation"]
    assert set(explanation) == {"positive", "negative", "intercept", "other", "logit"}
    positive = [item["contribution"] for item in explanation["positive"]]
    negative = [item["contribution"] for item in explanation["negative"]]
    assert positive and negative
    assert positive == sorted(positive, reverse=True) and min(positive) > 0
    assert negative == sorted(negative) and max(negative) < 0
    assert len(positive) <= EXPLAIN_TOP_TERMS and len(negative) <= EXPLAIN_TOP_TERMS
    listed = {item["term"] for item in explanation["positive"] + explanation["negative"]}
    assert {"wonderful", "awful"} <= listed
    parts = explanation["intercept"] + sum(positive) + sum(negative) + explanation["other"]
    assert parts == pytest.approx(explanation["logit"], abs=1e-12)
    assert _logistic(explanation["logit"]) == pytest.approx(body["positive_probability"], abs=1e-12)


def test_long_reviews_list_the_top_terms_and_sum_the_rest(client: TestClient) -> None:
    text = " ".join(POSITIVE + NEGATIVE)
    explanation = client.post("/predict", json={"text": text, "explain": True}).json()[
        "explanation"
    ]
    assert len(explanation["positive"]) == EXPLAIN_TOP_TERMS
    assert len(explanation["negative"]) == EXPLAIN_TOP_TERMS
    assert explanation["other"] != 0


def test_batch_explains_each_text(client: TestClient) -> None:
    texts = ["loved it, brilliant", "hated it, awful", "zzzz"]
    results = client.post("/predict/batch", json={"texts": texts, "explain": True}).json()
    assert [r["label"] for r in results[:2]] == ["positive", "negative"]
    assert results[0]["explanation"]["positive"][0]["term"] in {"loved", "brilliant", "loved it"}
    assert results[1]["explanation"]["negative"]
    assert results[2]["explanation"]["positive"] == results[2]["explanation"]["negative"] == []
    assert results[2]["explanation"]["logit"] == results[2]["explanation"]["intercept"]
    plain = client.post("/predict/batch", json={"texts": texts}).json()
    assert all("explanation" not in r for r in plain)


def test_the_stored_record_is_the_same_with_or_without_explain(client: TestClient) -> None:
    plain = client.post("/predict", json={"text": "great"}).json()
    explained = client.post("/predict", json={"text": "great", "explain": True}).json()
    runtime = client.app.state.runtime
    wait_until(lambda: runtime.spool.depth == 0, 5, "spool drained")
    records = {r["request_id"]: r for r in client.get("/predictions").json()}
    first, second = records[plain["request_id"]], records[explained["request_id"]]
    assert set(first) == set(second)
    different = {"request_id", "created_at", "latency_ms"}
    assert {k: v for k, v in first.items() if k not in different} == {
        k: v for k, v in second.items() if k not in different
    }


@pytest.mark.parametrize("value", ["yes", 1, None, "true"])
def test_explain_must_be_a_json_boolean(client: TestClient, value: object) -> None:
    response = client.post("/predict", json={"text": "great", "explain": value})
    assert response.status_code == 422
    assert "explain" in response.text


def test_limits_and_text_policy_still_apply_with_explain(client: TestClient) -> None:
    assert client.post("/predict", json={"text": "x" * 20_001, "explain": True}).status_code == 422
    assert client.post("/predict", json={"text": "a\x00b", "explain": True}).status_code == 422
    assert client.post("/predict", json={"text": "   ", "explain": True}).status_code == 422
    too_many = {"texts": ["great"] * 257, "explain": True}
    assert client.post("/predict/batch", json=too_many).status_code == 422


def test_without_the_compiled_scorer_explain_is_501_and_nothing_is_recorded(
    app_factory, tmp_path: Path
) -> None:
    folder = write_export(tmp_path / "binary", binary=True)
    client = app_factory(model_path=folder)
    predictor = client.app.state.runtime.predictor
    with pytest.raises(ExplanationUnavailableError, match="binary=True"):
        predictor.explain(["great"])
    for path, body in (
        ("/predict", {"text": "great", "explain": True}),
        ("/predict/batch", {"texts": ["great", "awful"], "explain": True}),
    ):
        response = client.post(path, json=body)
        assert response.status_code == 501
        detail = response.json()["detail"]
        assert "compiled linear scorer" in detail and "binary=True" in detail
        assert "without explain" in detail
    assert client.get("/predictions").json() == []
    assert client.app.state.runtime.spool.depth == 0
    assert client.post("/predict", json={"text": "great"}).status_code == 200


@pytest.mark.integration
def test_explanations_are_exact_on_hold_out_reviews(exported_model: Path) -> None:
    """The real model on real reviews: intercept + every term = sklearn's decision_function."""
    predictor = load_folder(exported_model)
    test_csv = exported_model.parent.parent / "data" / "test.csv"
    reviews = pd.read_csv(test_csv)["review"].astype(str).tolist()[:1000]
    assert _explanation_matches(predictor, reviews) < LOGIT_TOLERANCE
    assert _explanation_matches(predictor, reviews, float64=True) < LOGIT_TOLERANCE_FLOAT64
    explanations = predictor.explain(reviews[:200])
    assert any(term.startswith("not_") for e in explanations for term in e.contributions)


def test_a_batch_larger_than_a_chunk_keeps_each_explanation_with_its_text(
    client: TestClient,
) -> None:
    texts = [
        POSITIVE[i % len(POSITIVE)] if i % 2 else NEGATIVE[i % len(NEGATIVE)] for i in range(21)
    ]
    results = client.post("/predict/batch", json={"texts": texts, "explain": True}).json()
    assert len(results) == len(texts)
    for result in results:
        explanation = result["explanation"]
        assert _logistic(explanation["logit"]) == pytest.approx(
            result["positive_probability"], abs=1e-12
        )
