"""The preStop drain (python -m app.backend.drain): out of readiness at once, then waits for
the spool to empty while the database comes back; a timeout leaves the records in the file."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.backend.drain import drain
from app.backend.main import create_app
from tests.app.backend.conftest import PostgresCluster, make_settings, wait_until

pytestmark = pytest.mark.integration


def test_drain_waits_for_the_database_and_empties_the_spool(
    tiny_model: Path, postgres: PostgresCluster, pg_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, model_path=tiny_model, database_url=pg_url, db_connect_timeout_seconds=1
    )
    with TestClient(create_app(settings)) as client:
        runtime = client.app.state.runtime
        wait_until(lambda: runtime.flusher.healthy, 10, "database up")
        postgres.stop()
        try:
            for _ in range(40):
                assert client.post("/predict", json={"text": "great fun"}).status_code == 200
            wait_until(lambda: not runtime.flusher.healthy, 15, "outage noticed")
            result: dict[str, tuple[int, int]] = {}
            worker = threading.Thread(target=lambda: result.update(left=drain(settings, 60)))
            started = time.monotonic()
            worker.start()
            wait_until(lambda: client.get("/ready").status_code == 503, 5, "out of readiness")
            ready = client.get("/ready").json()
            assert ready["status"] == "draining"
            assert ready["database"]["spooled"] == 40
            assert client.get("/health").status_code == 200  # alive: no restart while draining
            time.sleep(2)
            assert worker.is_alive()  # still waiting for the database
        finally:
            postgres.start()
        worker.join(timeout=60)
        assert result["left"] == (0, 0)
        assert time.monotonic() - started < 45
        assert runtime.database.count() == 40


def test_drain_timeout_leaves_the_records_and_a_restart_clears_the_marker(
    tiny_model: Path, tmp_path: Path, repo_root: Path, subprocess_env: dict[str, str]
) -> None:
    not_a_file = tmp_path / "a-directory"
    not_a_file.mkdir()
    settings = make_settings(
        tmp_path, model_path=tiny_model, database_url=f"sqlite:///{not_a_file}"
    )
    with TestClient(create_app(settings)) as client:
        for _ in range(3):
            client.post("/predict", json={"text": "great"})
        env = {**subprocess_env, "DATA_DIR": str(tmp_path), "DRAIN_TIMEOUT_SECONDS": "1"}
        finished = subprocess.run(
            [sys.executable, "-m", "app.backend.drain"], cwd=repo_root, env=env,
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert finished.returncode == 0, finished.stderr
        assert '"events":3' in finished.stdout
        assert "drain timed out" in finished.stdout
        assert client.get("/ready").json()["status"] == "draining"
    with TestClient(create_app(settings)) as client:  # a new container on the same volume
        assert client.get("/ready").json()["status"] == "ready"
        assert client.app.state.runtime.spool.depth == 3
