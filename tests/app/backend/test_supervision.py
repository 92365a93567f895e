"""Liveness tells the truth about the background threads; metrics show their state."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app.backend.supervision import Supervised
from tests.app.backend.conftest import wait_until


# The thread is meant to end with an unhandled SystemExit here.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_supervised_loop_outlives_exceptions_but_not_system_exit() -> None:
    stop = threading.Event()
    calls: list[str] = []

    def loop() -> None:
        calls.append("run")
        if len(calls) < 3:
            raise ValueError("boom")
        raise SystemExit  # not an Exception: nothing may swallow it

    worker = Supervised("test", loop, stop, min_backoff=0.01)
    worker.start()
    wait_until(lambda: not worker.alive, 5, "thread ended")
    assert calls == ["run", "run", "run"]
    assert worker.errors == 2
    assert worker.last_error == "ValueError"
    assert worker.state == "dead"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_health_fails_when_a_thread_is_gone(app_factory, tiny_model: Path) -> None:
    client = app_factory(model_path=tiny_model)
    runtime = client.app.state.runtime
    assert client.get("/health").status_code == 200
    assert 'rp_background_thread_up{thread="flusher"} 1.0' in client.get("/metrics").text

    def die() -> None:
        raise SystemExit

    runtime.flusher.thread.loop = die  # the next restart of the loop ends the thread
    runtime.flusher.database.ping = lambda: (_ for _ in ()).throw(RuntimeError("bug"))
    runtime.flusher.healthy = False
    runtime.flusher.thread.min_backoff = 0.01
    wait_until(lambda: runtime.flusher.thread.state == "dead", 5, "flusher thread gone")
    health = client.get("/health")
    assert health.status_code == 503
    assert health.json() == {"status": "failing", "threads": {"flusher": "dead"}}
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["status"] == "failing"
    metrics = client.get("/metrics").text
    assert 'rp_background_thread_up{thread="flusher"} 0.0' in metrics
    assert 'rp_background_thread_errors_total{thread="flusher"} 1.0' in metrics


def test_health_answers_while_a_maximal_batch_is_scored(app_factory, tiny_model: Path) -> None:
    """The batch runs on a worker thread: /health is answered meanwhile (no timing asserted;
    bench/serve.py measures the latency)."""
    client = app_factory(model_path=tiny_model)
    done = threading.Event()

    def batch() -> None:
        client.post("/predict/batch", json={"texts": ["great fun " * 390] * 256})
        done.set()

    worker = threading.Thread(target=batch)
    worker.start()
    answered_during = 0
    while not done.is_set():
        if client.get("/health").status_code == 200 and not done.is_set():
            answered_during += 1
        time.sleep(0.01)
    worker.join()
    assert answered_during > 0
