"""The live signals on /metrics: confidence and length histograms and the positive share.

The values are checked against known predictions: first fed straight to Metrics, then served by
the real app, where the expected buckets come from the probabilities the API returned.
"""

from __future__ import annotations

import math
from bisect import bisect_left

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.backend.metrics import CONFIDENCE_BUCKETS, LENGTH_BUCKETS, Metrics


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def _expected_cumulative(values: list[float], bounds: tuple[float, ...]) -> list[int]:
    counts = [0] * (len(bounds) + 1)
    for value in values:
        counts[bisect_left(bounds, value)] += 1
    return [sum(counts[: index + 1]) for index in range(len(counts))]


def test_before_any_prediction_the_signals_are_empty() -> None:
    metrics = Metrics()
    assert _value(metrics, "rp_prediction_confidence_count") == 0
    assert _value(metrics, "rp_review_length_chars_count") == 0
    share = _value(metrics, "rp_prediction_positive_share")
    assert share is not None and math.isnan(share)


def test_known_predictions_fill_the_buckets_the_share_and_the_label_counts() -> None:
    metrics = Metrics()
    metrics.observe_predictions([("positive", 0.97, 40), ("negative", 0.52, 1200)])
    metrics.observe_predictions([("positive", 0.6, 100)])
    metrics.observe_predictions([("positive", 1.0, 20000)])

    confidence = {
        le: _value(metrics, "rp_prediction_confidence_bucket", le=le)
        for le in ("0.55", "0.6", "0.95", "0.99", "1.0", "+Inf")
    }
    # le is inclusive: 0.6 falls in the 0.6 bucket, 1.0 in the 1.0 one.
    assert confidence == {"0.55": 1, "0.6": 2, "0.95": 2, "0.99": 3, "1.0": 4, "+Inf": 4}
    assert _value(metrics, "rp_prediction_confidence_count") == 4
    assert _value(metrics, "rp_prediction_confidence_sum") == pytest.approx(0.97 + 0.52 + 0.6 + 1.0)

    length = {
        le: _value(metrics, "rp_review_length_chars_bucket", le=le)
        for le in ("50.0", "100.0", "1000.0", "1500.0", "10000.0", "+Inf")
    }
    assert length == {"50.0": 1, "100.0": 2, "1000.0": 2, "1500.0": 3, "10000.0": 3, "+Inf": 4}
    assert _value(metrics, "rp_review_length_chars_sum") == 40 + 1200 + 100 + 20000

    assert _value(metrics, "rp_prediction_positive_share") == pytest.approx(3 / 4)
    assert _value(metrics, "rp_predictions_total", label="positive") == 3
    assert _value(metrics, "rp_predictions_total", label="negative") == 1


def test_the_served_predictions_are_what_metrics_shows(client: TestClient) -> None:
    single = ["a wonderful film, great acting", "awful, boring and bad"]
    batch = ["loved it, brilliant", "the worst movie, a waste of time", "great fun, superb cast"]
    outputs = [client.post("/predict", json={"text": text}).json() for text in single]
    response = client.post("/predict/batch", json={"texts": batch})
    assert response.status_code == 200
    outputs += response.json()
    # Refused requests are not predictions and add nothing.
    assert client.post("/predict", json={"text": ""}).status_code == 422
    texts = single + batch

    samples = _samples(client.get("/metrics").text)
    probabilities = [output["probability"] for output in outputs]
    for name, values, bounds in (
        ("rp_prediction_confidence", probabilities, CONFIDENCE_BUCKETS),
        ("rp_review_length_chars", [len(text) for text in texts], LENGTH_BUCKETS),
    ):
        shown = [
            samples[(f"{name}_bucket", (("le", le),))]
            for le in [repr(float(bound)) for bound in bounds] + ["+Inf"]
        ]
        assert shown == _expected_cumulative(values, bounds), name
        assert samples[(f"{name}_count", ())] == len(texts)
        assert samples[(f"{name}_sum", ())] == pytest.approx(sum(values))

    positives = sum(output["label"] == "positive" for output in outputs)
    assert 0 < positives < len(outputs), [output["label"] for output in outputs]
    assert samples[("rp_prediction_positive_share", ())] == pytest.approx(positives / len(texts))
