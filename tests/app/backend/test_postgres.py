"""Against a real PostgreSQL 15 cluster and the real exported model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text

from app.backend.main import create_app
from tests.app.backend.conftest import PostgresCluster, make_settings, wait_until
from tests.support.network import free_port, wait_for_http

pytestmark = pytest.mark.integration


def test_alembic_upgrade_from_empty_cli(pg_url: str, repo_root: Path, subprocess_env) -> None:
    env = {**subprocess_env, "DATABASE_URL": pg_url}
    for command in (
        [sys.executable, "-m", "app.backend.migrate"],
        [sys.executable, "-m", "alembic", "-c", "app/backend/alembic.ini", "upgrade", "head"],
    ):
        result = subprocess.run(
            command, cwd=repo_root, env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
    engine = create_engine(pg_url)
    with engine.connect() as connection:
        assert (
            connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0002"
        )
    columns = {c["name"] for c in inspect(engine).get_columns("predictions")}
    assert {"request_id", "text", "text_sha256", "text_length", "label", "probability",
            "model_name", "model_version", "latency_ms", "created_at", "feedback_label",
            "feedback_at"} <= columns  # fmt: skip
    engine.dispose()


def test_every_endpoint_on_postgres(exported_model: Path, pg_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, model_path=exported_model, database_url=pg_url)
    with TestClient(create_app(settings)) as client:
        runtime = client.app.state.runtime
        assert client.get("/health").status_code == 200
        wait_until(lambda: client.get("/ready").json()["database"]["status"] == "ok", 10, "db")
        card = client.get("/version").json()
        assert card["name"] == "imdb-sentiment"
        single = client.post("/predict", json={"text": "A brilliant, moving film."}).json()
        assert single["label"] == "positive"
        assert single["model_version"] == card["version"]
        batch = client.post(
            "/predict/batch", json={"texts": ["Not good at all.", "Awful and boring."]}
        ).json()
        assert [item["label"] for item in batch] == ["negative", "negative"]
        feedback = client.post(
            "/feedback", json={"request_id": single["request_id"], "correct_label": "negative"}
        )
        assert feedback.status_code == 200
        wait_until(lambda: runtime.spool.depth == 0, 10, "spool drained")
        listed = client.get("/predictions", params={"limit": 10}).json()
        assert len(listed) == 3
        assert all(p["stored"] for p in listed)
        (row,) = [p for p in listed if p["request_id"] == single["request_id"]]
        assert row["feedback_label"] == "negative"
        unknown = client.post(
            "/feedback", json={"request_id": "f" * 32, "correct_label": "positive"}
        )
        assert unknown.status_code == 404
        assert "rp_prediction_records_flushed_total 3.0" in client.get("/metrics").text
    engine = create_engine(pg_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT label, model_version, latency_ms, feedback_label FROM predictions")
        ).all()
    engine.dispose()
    assert len(rows) == 3
    assert all(r.model_version == card["version"] and r.latency_ms > 0 for r in rows)


def test_database_outage_loses_nothing(
    exported_model: Path,
    postgres: PostgresCluster,
    pg_url: str,
    tmp_path: Path,
    repo_root: Path,
    subprocess_env: dict[str, str],
) -> None:
    """A real uvicorn; PostgreSQL stops mid-stream and comes back: every 200 has exactly one row."""
    port = free_port()
    env = {
        **subprocess_env,
        "MODEL_PATH": str(exported_model),
        "DATABASE_URL": pg_url,
        "DATA_DIR": str(tmp_path / "data"),
        "FLUSH_MAX_BACKOFF_SECONDS": "0.5",
        "DB_CONNECT_TIMEOUT_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "app.backend.main:create_app",
             "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
            cwd=repo_root, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        ok_ids: list[str] = []
        statuses: list[int] = []
        try:
            wait_for_http(f"{base}/ready", 60, server)
            with httpx.Client(base_url=base, timeout=10) as http:

                def send(count: int) -> None:
                    for index in range(count):
                        response = http.post("/predict", json={"text": f"review {index} great"})
                        statuses.append(response.status_code)
                        if response.status_code == 200:
                            ok_ids.append(response.json()["request_id"])

                send(30)
                postgres.stop()
                send(30)
                wait_until(
                    lambda: http.get("/ready").json()["database"]["status"] == "degraded",
                    15,
                    "degraded",
                )
                ready = http.get("/ready")
                assert ready.status_code == 200
                assert ready.json()["database"]["spooled"] > 0
                spooled_id = ok_ids[-1]
                feedback = http.post(
                    "/feedback", json={"request_id": spooled_id, "correct_label": "negative"}
                )
                assert feedback.status_code == 200
                send(30)
                postgres.start()
                send(10)
                wait_until(
                    lambda: (
                        http.get("/ready").json()["database"]["spooled"] == 0
                        and http.get("/ready").json()["database"]["status"] == "ok"
                    ),
                    30,
                    "spool drained after the outage",
                )
        finally:
            server.terminate()
            server.wait(timeout=20)
    assert all(status < 500 for status in statuses), statuses
    assert len(ok_ids) == 100
    engine = create_engine(pg_url)
    with engine.connect() as connection:
        counts = dict(
            connection.execute(
                text("SELECT request_id, count(*) FROM predictions GROUP BY request_id")
            ).all()
        )
        feedback_label = connection.execute(
            text("SELECT feedback_label FROM predictions WHERE request_id = :id"),
            {"id": spooled_id},
        ).scalar()
    engine.dispose()
    assert set(counts) == set(ok_ids)
    assert all(count == 1 for count in counts.values())
    assert feedback_label == "negative"
