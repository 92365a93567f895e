"""Every endpoint against the embedded sqlite database and a small real pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.app.backend.conftest import wait_until


def test_predict_and_store(client: TestClient) -> None:
    response = client.post("/predict", json={"text": "a wonderful film, I loved it"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "label", "probability", "positive_probability", "model_version", "request_id",
    }  # fmt: skip
    assert body["label"] == "positive"
    assert body["probability"] == pytest.approx(body["positive_probability"])
    assert body["model_version"] == "7"
    assert len(body["request_id"]) == 32

    negative = client.post("/predict", json={"text": "awful, boring, terrible"}).json()
    assert negative["label"] == "negative"
    assert negative["probability"] == pytest.approx(1 - negative["positive_probability"])

    runtime = client.app.state.runtime
    wait_until(lambda: runtime.spool.depth == 0, 5, "spool drained")
    listed = client.get("/predictions", params={"limit": 5}).json()
    assert [p["request_id"] for p in listed] == [negative["request_id"], body["request_id"]]
    assert all(p["stored"] for p in listed)
    assert listed[1]["text"] == "a wonderful film, I loved it"
    assert listed[1]["model_version"] == "7"
    assert listed[1]["latency_ms"] > 0


def test_feedback_round_trip(client: TestClient) -> None:
    request_id = client.post("/predict", json={"text": "great"}).json()["request_id"]
    response = client.post(
        "/feedback", json={"request_id": request_id, "correct_label": "negative"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "recorded"
    runtime = client.app.state.runtime
    wait_until(lambda: runtime.spool.depth == 0, 5, "spool drained")
    (row,) = [p for p in client.get("/predictions").json() if p["request_id"] == request_id]
    assert row["feedback_label"] == "negative"
    assert row["feedback_at"]


def test_batch(client: TestClient) -> None:
    texts = ["loved it, brilliant", "hated it, awful", "excellent"]
    response = client.post("/predict/batch", json={"texts": texts})
    assert response.status_code == 200
    labels = [item["label"] for item in response.json()]
    assert labels == ["positive", "negative", "positive"]


def test_store_text_off_keeps_only_hash(app_factory, tiny_model: Path) -> None:
    client = app_factory(model_path=tiny_model, store_text=False)
    request_id = client.post("/predict", json={"text": "secret review"}).json()["request_id"]
    runtime = client.app.state.runtime
    wait_until(lambda: runtime.spool.depth == 0, 5, "spool drained")
    (row,) = client.get("/predictions").json()
    assert row["request_id"] == request_id
    assert row["text"] is None
    assert row["text_length"] == len("secret review")
    assert len(row["text_sha256"]) == 64


def test_ops_endpoints(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "threads": {"flusher": "running"}}
    ready = client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["threads"] == {"flusher": "running"}
    assert body["model"] == {"status": "loaded", "name": "imdb-sentiment", "version": "7"}
    assert body["log_shipper"] == {"status": "disabled"}
    wait_until(lambda: client.get("/ready").json()["database"]["status"] == "ok", 5, "db ok")
    card = client.get("/version").json()
    assert card["version"] == "7"
    assert len(card["model_sha256"]) == 64

    client.post("/predict", json={"text": "great"})
    client.post("/predict", json={"text": ""})
    metrics = client.get("/metrics").text
    assert 'rp_http_requests_total{method="POST",route="/predict",status="200"} 1.0' in metrics
    assert 'rp_http_requests_total{method="POST",route="/predict",status="422"} 1.0' in metrics
    assert "rp_http_request_duration_seconds_bucket" in metrics
    assert 'rp_predictions_total{label="positive"} 1.0' in metrics
    assert "rp_prediction_records_spooled_total 1.0" in metrics
    assert "rp_log_records_dropped_total 0.0" in metrics


def test_no_model_is_503(app_factory, caplog: pytest.LogCaptureFixture) -> None:
    client = app_factory()
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["model"] == {"status": "not loaded", "reason": "not configured"}
    assert ready.json()["status"] == "no model"
    assert any("MODEL_PATH" in record.getMessage() for record in caplog.records)
    response = client.post("/predict", json={"text": "great"})
    assert response.status_code == 503
    assert "model not loaded (not configured)" in response.json()["detail"]
    assert client.post("/predict/batch", json={"texts": ["great"]}).status_code == 503
    assert client.get("/version").status_code == 503
    assert client.get("/health").status_code == 200


def test_missing_folder_is_not_ready(
    app_factory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = app_factory(model_path=tmp_path / "nowhere")
    assert client.get("/ready").status_code == 503
    assert "load failed" in client.post("/predict", json={"text": "x"}).json()["detail"]
    assert any("no model.pkl" in record.getMessage() for record in caplog.records)


def test_checksum_mismatch_refuses_to_start(app_factory, tiny_model: Path, tmp_path: Path) -> None:
    import shutil

    from app.backend.model import ModelIntegrityError

    tampered = tmp_path / "tampered"
    shutil.copytree(tiny_model, tampered)
    card = json.loads((tampered / "model_card.json").read_text())
    card["model_sha256"] = "0" * 64
    (tampered / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelIntegrityError, match=r"model_card\.json model_sha256 is 0{64}"):
        app_factory(model_path=tampered)


def test_api_key(app_factory, tiny_model: Path) -> None:
    client = app_factory(model_path=tiny_model, api_key="s3cret")
    assert client.post("/predict", json={"text": "great"}).status_code == 401
    wrong = client.post("/predict", json={"text": "great"}, headers={"X-API-Key": "nope"})
    assert wrong.status_code == 401
    assert "X-API-Key" in wrong.json()["detail"]
    ok = client.post("/predict", json={"text": "great"}, headers={"X-API-Key": "s3cret"})
    assert ok.status_code == 200
    assert client.get("/predictions").status_code == 401
    assert client.get("/version").status_code == 401
    for path in ("/health", "/ready", "/metrics", "/docs", "/openapi.json"):
        assert client.get(path).status_code == 200, path


def test_api_key_off_by_default(client: TestClient) -> None:
    assert client.post("/predict", json={"text": "great"}).status_code == 200


def test_migrations_on_sqlite_from_empty(tmp_path: Path) -> None:
    from app.backend.storage import Database

    database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    database.migrate()
    database.migrate()  # idempotent
    with create_engine(f"sqlite:///{tmp_path / 'fresh.db'}").connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == "0002"
        assert connection.execute(text("SELECT count(*) FROM predictions")).scalar() == 0
    database.dispose()


def test_spooled_records_survive_restart(app_factory, tiny_model: Path, tmp_path: Path) -> None:
    """Records written while the database is unusable stay spooled and flush on the next start."""
    data = tmp_path / "shared"
    not_a_file = tmp_path / "a-directory"
    not_a_file.mkdir()
    bad = app_factory(model_path=tiny_model, data_dir=data, database_url=f"sqlite:///{not_a_file}")
    ids = [bad.post("/predict", json={"text": "great"}).json()["request_id"] for _ in range(3)]
    wait_until(
        lambda: bad.get("/ready").json()["database"]["status"] == "degraded", 5, "outage seen"
    )
    ready = bad.get("/ready").json()
    assert ready["database"]["spooled"] == 3
    listed = bad.get("/predictions").json()
    assert {p["request_id"] for p in listed} == set(ids)
    assert not any(p["stored"] for p in listed)
    bad.__exit__(None, None, None)

    good = app_factory(model_path=tiny_model, data_dir=data)
    runtime = good.app.state.runtime
    wait_until(lambda: runtime.spool.depth == 0, 5, "spool drained after restart")
    assert runtime.database.count() == 3


def test_predict_answers_alike_on_both_paths(client: TestClient) -> None:
    """application/json takes routes/predict_fast.py; another JSON type takes FastAPI's route.
    Same body shape, same numbers, both recorded, both logged and counted under /predict."""
    text = "a wonderful film, I loved it"
    fast = client.post("/predict", content=json.dumps({"text": text}),
                       headers={"Content-Type": "application/json; charset=utf-8"})  # fmt: skip
    routed = client.post("/predict", content=json.dumps({"text": text}),
                         headers={"Content-Type": "application/vnd.review+json"})  # fmt: skip
    assert fast.status_code == routed.status_code == 200
    assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
    ours, theirs = fast.json(), routed.json()
    assert list(ours) == list(theirs)
    assert ours["request_id"] != theirs["request_id"]
    assert {k: v for k, v in ours.items() if k != "request_id"} == {
        k: v for k, v in theirs.items() if k != "request_id"
    }
    runtime = client.app.state.runtime
    wait_until(lambda: runtime.spool.depth == 0, 5, "spool drained")
    stored = {p["request_id"] for p in client.get("/predictions", params={"limit": 5}).json()}
    assert {ours["request_id"], theirs["request_id"]} <= stored
    metrics = client.get("/metrics").text
    assert 'rp_http_requests_total{method="POST",route="/predict",status="200"} 2.0' in metrics


@pytest.mark.parametrize(
    "body",
    [b'{"text": ""}', b'{"text": "ok", "extra": 1}', b'{"text": 5}', b"[]", b"", b'{"text": "a'],
)
def test_predict_refusals_are_fastapis(client: TestClient, body: bytes) -> None:
    """What the fast path declines gets FastAPI's own 422, whatever the content type says."""
    answers = [
        client.post("/predict", content=body, headers={"Content-Type": content_type})
        for content_type in ("application/json", "application/vnd.review+json")
    ]
    assert [a.status_code for a in answers] == [422, 422]
    assert answers[0].json() == answers[1].json()


@pytest.mark.parametrize(
    "body",
    [
        b'{"text": "bad\\u0000", "text": "fine"}',  # duplicate keys: the last one counts
        b'{"text": "fine", "text": "bad\\u0000"}',
        b'\xef\xbb\xbf{"text": "fine"}',  # a BOM: Python's parser skips it, the fast path declines
        b'{"text": "fine"}\n',
        b'{"text": "fine", "explain": 0}',
        b'{"text": "a\\ud800"}',
    ],
)
def test_both_paths_decide_alike(client: TestClient, body: bytes) -> None:
    answers = [
        client.post("/predict", content=body, headers={"Content-Type": content_type})
        for content_type in ("application/json", "application/vnd.review+json")
    ]
    assert answers[0].status_code == answers[1].status_code, [a.text for a in answers]
    if answers[0].status_code == 200:
        ours, theirs = answers[0].json(), answers[1].json()
        assert ours["positive_probability"] == theirs["positive_probability"]
    else:
        assert answers[0].json() == answers[1].json()
