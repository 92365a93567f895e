"""Prometheus metrics, in a registry per app (no process globals).

- ``rp_http_requests_total{route,method,status}`` and
  ``rp_http_request_duration_seconds{route,method,status}`` (histogram);
- ``rp_predictions_total{label}``;
- the live signals ml.monitor watches, cheap enough for every prediction:
  ``rp_prediction_confidence`` (histogram of the returned label's probability, 0.5 to 1),
  ``rp_prediction_positive_share`` (positive predictions over all served since start; NaN before
  the first) and ``rp_review_length_chars`` (histogram of the review's length in characters);
- ``rp_prediction_records_spooled_total``, ``rp_prediction_records_flushed_total`` (stored in the
  database), ``rp_spool_pending`` (events not yet stored), ``rp_spool_bytes`` and
  ``rp_spool_max_bytes`` (the bound), ``rp_spool_refused_total`` (events refused: spool full),
  ``rp_database_up``;
- ``rp_dead_letters`` (in the dead-letter table), ``rp_dead_lettered_total`` (set aside here);
- ``rp_log_records_dropped_total``, ``rp_log_records_shipped_total``;
- ``rp_background_thread_up{thread}`` (1 running, 0 stopped or dead) and
  ``rp_background_thread_errors_total{thread}`` (exceptions its supervisor caught);
- ``rp_model_loaded{version}``, ``rp_model_fast_path`` (1: the compiled linear scorer serves
  predictions; 0: sklearn's predict_proba, about twice as slow; /version says why).
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# The probability of the returned label is at least 0.5; a model growing unsure moves mass down.
CONFIDENCE_BUCKETS = (0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99, 1.0)
# IMDB reviews run from a sentence to a few thousand characters (median about 970).
LENGTH_BUCKETS = (50, 100, 200, 400, 700, 1000, 1500, 2500, 5000, 10000)


# (type, name, help, key in the runtime values): read at scrape time, not on the request path.
_RUNTIME_METRICS = (
    (CounterMetricFamily, "rp_prediction_records_spooled", "Records appended to the local spool",
     "spooled"),
    (CounterMetricFamily, "rp_prediction_records_flushed", "Records stored in the database",
     "flushed"),
    (GaugeMetricFamily, "rp_spool_pending", "Spool events not yet in the database", "pending"),
    (GaugeMetricFamily, "rp_spool_bytes", "Bytes the pending spool events count", "spool_bytes"),
    (GaugeMetricFamily, "rp_spool_max_bytes", "SPOOL_MAX_BYTES", "spool_max_bytes"),
    (CounterMetricFamily, "rp_spool_refused", "Events refused because the spool was full",
     "spool_refused"),
    (GaugeMetricFamily, "rp_dead_letters", "Rows in the dead-letter table (last count)",
     "dead_letters"),
    (CounterMetricFamily, "rp_dead_lettered", "Events this process set aside as dead letters",
     "dead_lettered"),
    (GaugeMetricFamily, "rp_database_up", "1 when the last database contact succeeded",
     "database_up"),
    (CounterMetricFamily, "rp_log_records_dropped",
     "Log records the Elasticsearch shipper dropped", "log_dropped"),
    (CounterMetricFamily, "rp_log_records_shipped", "Log records Elasticsearch accepted",
     "log_shipped"),
)  # fmt: skip


class _RuntimeCollector(Collector):
    """Values owned by the spool, flusher and shipper, read at scrape time."""

    def __init__(self, read: Callable[[], dict[str, Any]]) -> None:
        self.read = read

    def collect(self) -> Iterator[Any]:
        values = self.read()
        for family, name, documentation, key in _RUNTIME_METRICS:
            yield family(name, documentation, value=values.get(key, 0))
        up = GaugeMetricFamily(
            "rp_background_thread_up", "1 while the thread runs", labels=["thread"]
        )
        for thread, state in values.get("threads", {}).items():
            up.add_metric([thread], 1 if state == "running" else 0)
        yield up
        errors = CounterMetricFamily(
            "rp_background_thread_errors",
            "Unexpected exceptions the thread's supervisor caught",
            labels=["thread"],
        )
        for thread, count in values.get("thread_errors", {}).items():
            errors.add_metric([thread], count)
        yield errors
        model = GaugeMetricFamily("rp_model_loaded", "1 when a model is loaded", labels=["version"])
        model.add_metric([str(values.get("model_version", ""))], values.get("model_loaded", 0))
        yield model
        yield GaugeMetricFamily(
            "rp_model_fast_path",
            "1 when the compiled linear scorer serves predictions, 0 on sklearn's predict_proba",
            value=values.get("model_fast_path", 0),
        )


class _Distribution:
    """Cumulative bucket counts and a sum, turned into a histogram family at scrape time.

    The caller holds the lock of the signals it belongs to; there is no per-sample lock (the
    prometheus_client Histogram takes two per observation).
    """

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.total = 0.0

    def add(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        cumulative: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip((*self.bounds, math.inf), self.counts, strict=True):
            running += count
            cumulative.append(("+Inf" if bound == math.inf else repr(float(bound)), running))
        return HistogramMetricFamily(name, documentation, buckets=cumulative, sum_value=self.total)


class _PredictionSignals(Collector):
    """Label counts, confidence, positive share and review length of every prediction served.

    Updated once per request under one lock (cheaper than the prometheus_client Counter the label
    counts were before: it locks on every increment); the families are built only when /metrics
    is scraped.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._confidence = _Distribution(CONFIDENCE_BUCKETS)
        self._length = _Distribution(LENGTH_BUCKETS)
        self._positive = 0
        self._negative = 0

    def add(self, predictions: Iterable[tuple[str, float, int]]) -> None:
        with self._lock:
            for label, confidence, length in predictions:
                self._confidence.add(confidence)
                self._length.add(length)
                if label == "positive":
                    self._positive += 1
                else:
                    self._negative += 1

    def collect(self) -> Iterator[Any]:
        with self._lock:
            positive, negative = self._positive, self._negative
            confidence = self._confidence.family(
                "rp_prediction_confidence", "Probability of the returned label, per prediction"
            )
            length = self._length.family(
                "rp_review_length_chars", "Length of the reviewed text in characters"
            )
        served = positive + negative
        labels = CounterMetricFamily(
            "rp_predictions", "Predictions served, by label", labels=["label"]
        )
        labels.add_metric(["positive"], positive)
        labels.add_metric(["negative"], negative)
        yield labels
        yield confidence
        yield GaugeMetricFamily(
            "rp_prediction_positive_share",
            "Share of positive predictions among all served since start (NaN before the first)",
            value=positive / served if served else math.nan,
        )
        yield length


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "rp_http_requests",
            "HTTP requests",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "rp_http_request_duration_seconds",
            "HTTP request latency",
            ["route", "method", "status"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._signals = _PredictionSignals()
        self.registry.register(self._signals)

    def bind_runtime(self, read: Callable[[], dict[str, Any]]) -> None:
        self.registry.register(_RuntimeCollector(read))

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self._requests.labels(route, method, str(status)),
                self._latency.labels(route, method, str(status)),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_predictions(self, predictions: Iterable[tuple[str, float, int]]) -> None:
        """Adds each (label, probability of that label, review length) to the label counts and
        the confidence, positive-share and length signals."""
        self._signals.add(predictions)
