"""MODEL_URI: the service resolves a registry alias on a real MLflow server and serves it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.ml.conftest import run_module, write_params

pytestmark = pytest.mark.integration

# Its own registered model, so other suites sharing the server cannot disturb it.
MODEL = "imdb-sentiment-uri-test"


@pytest.fixture(scope="module")
def champion(
    mlflow_server: str, tmp_path_factory: pytest.TempPathFactory, subprocess_env: dict[str, str]
) -> str:
    project = tmp_path_factory.mktemp("uri-project")
    write_params(project)
    env = {**subprocess_env, "MLFLOW_TRACKING_URI": mlflow_server, "RP_MODEL_NAME": MODEL}
    for module, *args in (
        ("ml.data", "--version", "1"),
        ("ml.tune",),
        ("ml.train",),
        ("ml.promote",),
    ):
        result = run_module(module, *args, cwd=project, env=env)
        assert result.returncode == 0, f"{module}: {result.stderr}"
    return mlflow_server


def test_alias_is_resolved_downloaded_and_served(
    champion: str, app_factory: Callable[..., TestClient]
) -> None:
    client = app_factory(model_uri=f"models:/{MODEL}@champion", mlflow_tracking_uri=champion)
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.text
    card = client.get("/version").json()
    assert card["name"] == MODEL
    assert card["version"] == "1"
    assert card["alias"] == "champion"
    answer = client.post("/predict", json={"text": "A wonderful, moving film. I loved it."})
    assert answer.status_code == 200
    assert answer.json()["label"] == "positive"
    assert answer.json()["model_version"] == "1"


def test_unknown_alias_is_not_ready_with_a_reason(
    champion: str, app_factory: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = app_factory(model_uri=f"models:/{MODEL}@staging", mlflow_tracking_uri=champion)
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["model"] == {"status": "not loaded", "reason": "load failed"}
    # /ready has states only; the reason is in the log.
    assert any("staging" in record.getMessage() for record in caplog.records)
    refused = client.post("/predict", json={"text": "Fine."})
    assert refused.status_code == 503
    assert refused.json()["detail"]
