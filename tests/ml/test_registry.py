"""Train, register, gate and export against a real MLflow tracking server.

One flow, in order, because each step builds on the registry state the previous one left:
a good first candidate is promoted, a deliberately weak one is refused, and the champion is
exported and loaded from elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from ml.lineage import file_digest
from tests.ml.conftest import GOOD_VERSION, WEAK_VERSION, run_module, write_params

pytestmark = pytest.mark.integration

# Its own registered model, so other suites sharing the server cannot disturb the sequence.
MODEL = "imdb-sentiment-registry-test"
CARD_KEYS = {
    "name",
    "version",
    "run_id",
    "git_sha",
    "data_md5",
    "data_version",
    "metrics",
    "trained_at",
}


@pytest.fixture(scope="module")
def server_env(mlflow_server: str, subprocess_env: dict[str, str]) -> dict[str, str]:
    return {**subprocess_env, "MLFLOW_TRACKING_URI": mlflow_server, "RP_MODEL_NAME": MODEL}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("project")
    write_params(project)
    return project


@pytest.fixture(scope="module")
def client(mlflow_server: str) -> MlflowClient:
    return MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)


def _ok(result) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


def test_alias_lookup_before_any_training_is_a_clear_error(workdir: Path, server_env: dict) -> None:
    result = run_module("ml.promote", cwd=workdir, env=server_env)
    assert result.returncode == 2
    assert f"registered model '{MODEL}' does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_train_registers_a_candidate_with_lineage(
    workdir: Path, server_env: dict, client: MlflowClient
) -> None:
    _ok(run_module("ml.data", "--version", str(GOOD_VERSION), cwd=workdir, env=server_env))
    _ok(run_module("ml.train", cwd=workdir, env=server_env))

    version = client.get_model_version_by_alias(MODEL, "candidate")
    assert version.tags["data_md5"] == file_digest(workdir / "data" / "train.csv")
    assert version.tags["data_version"] == str(GOOD_VERSION)
    assert version.tags["train_rows"] == "3000"
    assert version.tags["git_sha"]
    run = client.get_run(version.run_id)
    assert {"accuracy", "f1", "roc_auc", "fit_seconds"} <= set(run.data.metrics)
    assert run.data.params["C"] == "100.0"
    # The server proxies artifacts: no path of this machine leaks into the run.
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")
    artifacts = {a.path for a in client.list_artifacts(version.run_id, "plots")}
    assert artifacts == {"plots/confusion_matrix.png", "plots/roc.png"}
    report = json.loads((workdir / "reports" / "train.json").read_text())
    assert report["model_version"] == str(version.version)


def test_first_candidate_is_promoted(workdir: Path, server_env: dict, client: MlflowClient) -> None:
    result = run_module("ml.promote", cwd=workdir, env=server_env)
    _ok(result)
    champion = client.get_model_version_by_alias(MODEL, "champion")
    candidate = client.get_model_version_by_alias(MODEL, "candidate")
    assert champion.version == candidate.version
    assert champion.tags["gate_status"] == "passed"
    assert "promoted version" in result.stderr

    again = run_module("ml.promote", cwd=workdir, env=server_env)
    _ok(again)
    assert "already @champion" in again.stderr


def test_weak_candidate_is_refused_and_champion_stays(
    workdir: Path, server_env: dict, client: MlflowClient
) -> None:
    champion_before = client.get_model_version_by_alias(MODEL, "champion").version
    _ok(run_module("ml.data", "--version", str(WEAK_VERSION), cwd=workdir, env=server_env))
    _ok(run_module("ml.train", cwd=workdir, env=server_env))
    weak = client.get_model_version_by_alias(MODEL, "candidate")
    assert weak.version != champion_before

    result = run_module("ml.promote", cwd=workdir, env=server_env)

    assert result.returncode == 1
    assert (
        f"candidate version {weak.version} refused; champion stays at {champion_before}"
        in result.stderr
    )
    assert "accuracy" in result.stderr and "below the minimum 0.8500" in result.stderr
    assert "Traceback" not in result.stderr
    assert client.get_model_version_by_alias(MODEL, "champion").version == champion_before
    assert client.get_model_version(MODEL, weak.version).tags["gate_status"] == "failed"
    gate = json.loads((workdir / "reports" / "gate.json").read_text())
    assert gate["passed"] is False and gate["reasons"]


def test_champion_loads_by_alias_from_another_directory(
    mlflow_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(mlflow_server)
    (tmp_path / "dl").mkdir()
    model = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion", dst_path=str(tmp_path / "dl"))
    probabilities = np.asarray(
        model.predict(np.array(["An excellent, moving film.", "Awful. A total waste of time."]))
    )
    assert probabilities.shape == (2, 2)
    assert probabilities[0, 1] > 0.5 > probabilities[1, 1]


def test_export_writes_a_loadable_model_and_a_complete_card(
    workdir: Path, server_env: dict, client: MlflowClient
) -> None:
    out = workdir / "build" / "model"
    _ok(
        run_module(
            "ml.export", "--alias", "champion", "--out", "build/model", cwd=workdir, env=server_env
        )
    )

    card = json.loads((out / "model_card.json").read_text())
    champion = client.get_model_version_by_alias(MODEL, "champion")
    assert set(card) >= CARD_KEYS
    assert card["version"] == str(champion.version)
    assert card["run_id"] == champion.run_id
    assert card["data_md5"] == champion.tags["data_md5"]
    assert set(card["metrics"]) >= {"accuracy", "f1", "roc_auc"}
    assert card["model_sha256"] == file_digest(out / "model.pkl", "sha256")
    assert (out / "code" / "ml" / "text.py").is_file()
    model = mlflow.pyfunc.load_model(str(out))
    assert np.asarray(model.predict(np.array(["Brilliant and moving."])))[0, 1] > 0.5

    # Exporting again swaps the folder whole and leaves nothing behind.
    _ok(run_module("ml.export", "--out", "build/model", cwd=workdir, env=server_env))
    assert sorted(p.name for p in (workdir / "build").iterdir()) == ["model"]


def test_export_of_a_missing_alias_names_the_aliases(workdir: Path, server_env: dict) -> None:
    result = run_module("ml.export", "--alias", "staging", cwd=workdir, env=server_env)
    assert result.returncode == 2
    assert f"model '{MODEL}' has no alias 'staging' (aliases: candidate, champion)" in result.stderr


def test_unreachable_server_fails_fast_naming_it(workdir: Path, subprocess_env: dict) -> None:
    from tests.support.network import free_port

    url = f"http://127.0.0.1:{free_port()}"
    env = {**subprocess_env, "MLFLOW_TRACKING_URI": url}
    # The timeout is the assertion: a client that retried for minutes would blow it.
    result = run_module("ml.train", cwd=workdir, env=env, timeout=60)
    assert result.returncode == 2
    assert f"MLflow tracking server {url} cannot be reached" in result.stderr
