"""The Elasticsearch shipper against a local server speaking the _bulk wire format."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.backend.logs import EsShipper
from tests.app.backend.conftest import wait_until
from tests.support.network import free_port


class BulkServer:
    def __init__(self, port: int = 0) -> None:
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                lines = [json.loads(line) for line in body.decode().splitlines() if line]
                outer.requests.append(
                    {
                        "path": self.path,
                        "content_type": self.headers["Content-Type"],
                        "authorization": self.headers.get("Authorization"),
                        "actions": lines[0::2],
                        "docs": lines[1::2],
                        "raw_ends_with_newline": body.endswith(b"\n"),
                    }
                )
                items = [{"create": {"status": 201}} for _ in lines[0::2]]
                answer = json.dumps({"errors": False, "items": items}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def docs(self) -> list[dict]:
        return [doc for request in self.requests for doc in request["docs"]]


@pytest.fixture
def bulk_server() -> Iterator[BulkServer]:
    server = BulkServer()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_batches_index_names_and_auth(bulk_server: BulkServer) -> None:
    shipper = EsShipper(
        bulk_server.url,
        username="elastic",
        password="pw",  # noqa: S106
        batch_size=3,
        flush_seconds=0.1,
    )
    shipper.start()
    for index in range(7):
        day = "2026-01-02" if index < 5 else "2026-01-03"
        shipper.submit({"@timestamp": f"{day}T10:00:00.000Z", "request_id": str(index)})
    wait_until(lambda: len(bulk_server.docs) == 7, 5, "all docs shipped")
    shipper.stop()
    assert all(len(r["docs"]) <= 3 for r in bulk_server.requests)
    first = bulk_server.requests[0]
    assert first["path"] == "/_bulk"
    assert first["content_type"] == "application/x-ndjson"
    assert first["authorization"].startswith("Basic ")
    assert first["raw_ends_with_newline"]
    indices = [a["create"]["_index"] for r in bulk_server.requests for a in r["actions"]]
    assert indices[:5] == ["rotten_potatoes_logs-2026.01.02"] * 5
    assert indices[5:] == ["rotten_potatoes_logs-2026.01.03"] * 2
    assert shipper.state()["status"] == "ok"
    assert shipper.shipped == 7
    assert shipper.dropped == 0


def test_full_queue_drops_and_counts() -> None:
    shipper = EsShipper("http://127.0.0.1:9", queue_size=2)  # never started: nothing drains
    for index in range(5):
        shipper.submit({"request_id": str(index)})
    assert shipper.dropped == 3


def test_requests_ship_their_log_lines(app_factory, tiny_model: Path, bulk_server) -> None:
    client = app_factory(model_path=tiny_model, es_url=bulk_server.url, es_flush_seconds=0.05)
    body = client.post("/predict", json={"text": "wonderful"}).json()
    wait_until(lambda: bulk_server.docs, 5, "a log record shipped")
    doc = bulk_server.docs[0]
    for field in ("@timestamp", "request_id", "route", "method", "status", "latency_ms",
                  "label", "probability", "model_version"):  # fmt: skip
        assert field in doc, field
    assert doc["request_id"] == body["request_id"]
    assert doc["route"] == "/predict"
    assert doc["status"] == 200
    assert client.get("/ready").json()["log_shipper"]["status"] == "ok"


def test_both_predict_paths_ship_the_same_fields(
    app_factory, tiny_model: Path, bulk_server
) -> None:
    """routes/predict_fast.py (application/json) and FastAPI's route log the same record."""
    client = app_factory(model_path=tiny_model, es_url=bulk_server.url, es_flush_seconds=0.05)
    text = "a wonderful film"
    for content_type in ("application/json", "application/vnd.review+json"):
        response = client.post(
            "/predict", content=json.dumps({"text": text}), headers={"Content-Type": content_type}
        )
        assert response.status_code == 200, response.text
    wait_until(lambda: len(bulk_server.docs) >= 2, 5, "both log records shipped")
    fast, routed = bulk_server.docs[:2]
    assert fast["text_length"] == routed["text_length"] == len(text)
    varying = {"@timestamp", "request_id", "latency_ms"}
    assert {k for k in fast if k not in varying} == {k for k in routed if k not in varying}


def test_es_down_never_affects_requests(app_factory, tiny_model: Path) -> None:
    """Records wait (bounded queue, the batch in hand retried with back-off); overflow counts."""
    dead = f"http://127.0.0.1:{free_port()}"
    client = app_factory(model_path=tiny_model, es_url=dead, es_flush_seconds=0.05, es_queue_size=3)
    assert client.post("/predict", json={"text": "great"}).status_code == 200
    runtime = client.app.state.runtime
    wait_until(lambda: runtime.shipper.failing, 5, "shipper noticed")
    for _ in range(10):  # the first batch waits; 3 queue behind it, the others drop
        assert client.post("/predict", json={"text": "great"}).status_code == 200
    ready = client.get("/ready")
    assert ready.status_code == 200
    state = ready.json()["log_shipper"]
    assert state["status"] == "unavailable"
    assert "error" not in state
    assert state["dropped"] >= 10 - 3
    assert 3 < state["queued"] <= 3 + 2
    metrics = client.get("/metrics").text
    dropped = next(
        line for line in metrics.splitlines() if line.startswith("rp_log_records_dropped_total")
    )
    assert float(dropped.split()[-1]) >= 10 - 3


def test_shipper_retries_until_es_returns(bulk_server: BulkServer) -> None:
    """A batch sent while Elasticsearch is down is kept and shipped once it answers again."""
    port = free_port()
    shipper = EsShipper(f"http://127.0.0.1:{port}", flush_seconds=0.05, max_backoff=0.2)
    shipper.start()
    for index in range(4):
        shipper.submit({"@timestamp": "2026-01-02T10:00:00.000Z", "request_id": str(index)})
    wait_until(lambda: shipper.failing, 5, "failure noticed")
    assert shipper.state()["status"] == "unavailable"
    assert shipper.state()["queued"] == 4
    # Elasticsearch comes back on the same address.
    bulk_server.server.server_close()
    revived = BulkServer(port)
    thread = threading.Thread(target=revived.server.serve_forever, daemon=True)
    thread.start()
    try:
        wait_until(lambda: len(revived.docs) == 4, 10, "kept batch shipped")
        # The stand-in holds the documents before its answer reaches the shipper.
        wait_until(lambda: shipper.state()["shipped"] == 4, 5, "answer counted")
        assert shipper.state() == {"status": "ok", "dropped": 0, "shipped": 4, "queued": 0}
    finally:
        shipper.stop()
        revived.server.shutdown()
        revived.server.server_close()


def test_shipper_survives_any_exception(bulk_server: BulkServer) -> None:
    """An unexpected error drops that batch (counted), is logged, and the thread goes on."""
    shipper = EsShipper(bulk_server.url, flush_seconds=0.05)
    shipper.thread.min_backoff = 0.01
    original = shipper.encode
    calls = {"n": 0}

    def broken_once(batch):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug")
        return original(batch)

    shipper.encode = broken_once  # type: ignore[method-assign]
    shipper.start()
    shipper.submit({"request_id": "lost"})
    wait_until(lambda: shipper.thread.errors == 1, 5, "error caught")
    shipper.submit({"request_id": "after"})
    wait_until(lambda: len(bulk_server.docs) == 1, 5, "shipping resumed")
    assert shipper.thread.state == "running"
    assert shipper.dropped == 1
    shipper.stop()
    assert shipper.thread.state == "stopped"
