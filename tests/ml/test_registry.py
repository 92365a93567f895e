"""Train, register, gate and export against a real MLflow tracking server.

One flow, in order, because each step builds on the registry state the previous one left:
a good first candidate is promoted, a deliberately weak one is refused, the champion is exported
and loaded from elsewhere, and a candidate scored on another hold-out is refused unscored.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from ml import integrity
from ml.gate.behaviour import check_names
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
    "model_sha256",
    "code_sha256",
    "code_files",
    "gate",
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
    _ok(run_module("ml.tune", cwd=workdir, env=server_env))
    _ok(run_module("ml.train", cwd=workdir, env=server_env))

    version = client.get_model_version_by_alias(MODEL, "candidate")
    assert version.tags["data_md5"] == file_digest(workdir / "data" / "train.csv")
    assert version.tags["test_md5"] == file_digest(workdir / "data" / "test.csv")
    assert version.tags["data_version"] == str(GOOD_VERSION)
    assert version.tags["train_rows"] == "3000"
    assert version.tags["git_sha"]
    run = client.get_run(version.run_id)
    assert {"accuracy", "f1", "roc_auc", "fit_seconds", "cv_accuracy"} <= set(run.data.metrics)
    assert {"recall_negative", "recall_positive"} <= set(run.data.metrics)
    tuned = json.loads((workdir / "reports" / "tune.json").read_text())
    assert run.data.params["C"] == str(tuned["best"]["settings"]["C"])
    assert version.tags["tune_run_id"] == tuned["mlflow_run_id"]
    # The server proxies artifacts: no path of this machine leaks into the run.
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")
    artifacts = {a.path for a in client.list_artifacts(version.run_id, "plots")}
    assert artifacts == {"plots/confusion_matrix.png", "plots/roc.png"}
    report = json.loads((workdir / "reports" / "train.json").read_text())
    assert report["model_version"] == str(version.version)


def test_train_records_the_digests_of_what_the_registry_stores(
    mlflow_server: str, client: MlflowClient, tmp_path: Path
) -> None:
    version = client.get_model_version_by_alias(MODEL, "candidate")
    mlflow.set_tracking_uri(mlflow_server)
    mlflow.set_registry_uri(mlflow_server)
    stored = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{MODEL}/{version.version}", dst_path=str(tmp_path)
        )
    )
    assert version.tags["model_sha256"] == file_digest(stored / "model.pkl", "sha256")
    code = integrity.read_code(stored / "code" / "ml")
    assert sorted(code) == ["__init__.py", "features.py", "text.py"]
    assert version.tags["code_sha256"] == integrity.code_digest(code)
    assert json.loads(version.tags["code_files"]) == integrity.file_manifest(code)


def test_tuning_is_tracked_with_a_run_per_candidate(workdir: Path, client: MlflowClient) -> None:
    tuned = json.loads((workdir / "reports" / "tune.json").read_text())
    parent = client.get_run(tuned["mlflow_run_id"])
    assert parent.data.params["folds"] == "3"
    assert parent.data.metrics["best_cv_accuracy"] == tuned["best"]["cv_mean"]
    children = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    assert sorted(c.data.params["C"] for c in children) == ["100.0", "30.0"]
    assert all(
        len(client.get_metric_history(c.info.run_id, "fold_accuracy")) == 3 for c in children
    )


def test_first_candidate_is_promoted(workdir: Path, server_env: dict, client: MlflowClient) -> None:
    result = run_module("ml.promote", cwd=workdir, env=server_env)
    _ok(result)
    champion = client.get_model_version_by_alias(MODEL, "champion")
    candidate = client.get_model_version_by_alias(MODEL, "candidate")
    assert champion.version == candidate.version
    assert champion.tags["gate_status"] == "passed"
    assert "promoted version" in result.stderr
    report = client.download_artifacts(champion.run_id, "gate/report.md", str(workdir / "dl"))
    text = Path(report).read_text()
    assert "Verdict: **passed**" in text and "## Behavioural checks" in text
    assert "none (first candidate" in text

    again = run_module("ml.promote", cwd=workdir, env=server_env)
    _ok(again)
    assert "already @champion" in again.stderr


def test_weak_candidate_is_refused_and_champion_stays(
    workdir: Path, server_env: dict, client: MlflowClient
) -> None:
    champion_before = client.get_model_version_by_alias(MODEL, "champion").version
    _ok(run_module("ml.data", "--version", str(WEAK_VERSION), cwd=workdir, env=server_env))
    _ok(run_module("ml.tune", cwd=workdir, env=server_env))
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
    assert "is not shown to be within 0.0050 of the champion's accuracy" in result.stderr
    assert "Traceback" not in result.stderr
    assert client.get_model_version_by_alias(MODEL, "champion").version == champion_before
    refused = client.get_model_version(MODEL, weak.version)
    assert refused.tags["gate_status"] == "failed"
    assert refused.tags["gate_vs_champion"].endswith(")")
    gate = json.loads((workdir / "reports" / "gate.json").read_text())
    assert gate["passed"] is False and gate["reasons"]
    assert gate["paired"]["champion_only"] > gate["paired"]["candidate_only"]
    assert "Verdict: **refused**" in (workdir / "reports" / "gate.md").read_text()


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
    assert card["model_sha256"] == champion.tags["model_sha256"]
    assert card["code_sha256"] == champion.tags["code_sha256"]
    assert card["verified_against"] == f"registry tags of {MODEL} version {champion.version}"
    assert (out / "code" / "ml" / "text.py").is_file()
    assert card["gate"]["passed"] is True and card["gate"]["report"] == "gate_report.md"
    assert set(card["gate"]["behaviour"]) == set(check_names())
    assert "# Gate report" in (out / "gate_report.md").read_text()
    model = mlflow.pyfunc.load_model(str(out))
    assert np.asarray(model.predict(np.array(["Brilliant and moving."])))[0, 1] > 0.5

    # Exporting again swaps the folder whole and leaves nothing behind.
    _ok(run_module("ml.export", "--out", "build/model", cwd=workdir, env=server_env))
    assert sorted(p.name for p in (workdir / "build").iterdir()) == ["model"]


def test_export_of_a_missing_alias_names_the_aliases(workdir: Path, server_env: dict) -> None:
    result = run_module("ml.export", "--alias", "staging", cwd=workdir, env=server_env)
    assert result.returncode == 2
    assert f"model '{MODEL}' has no alias 'staging' (aliases: candidate, champion)" in result.stderr


def test_a_candidate_scored_on_another_hold_out_is_refused_unscored(
    workdir: Path, server_env: dict, client: MlflowClient
) -> None:
    champion = client.get_model_version_by_alias(MODEL, "champion")
    write_params(workdir, data={"seed": 43})
    _ok(run_module("ml.data", "--version", str(GOOD_VERSION), cwd=workdir, env=server_env))
    _ok(run_module("ml.tune", cwd=workdir, env=server_env))
    _ok(run_module("ml.train", cwd=workdir, env=server_env))
    candidate = client.get_model_version_by_alias(MODEL, "candidate")

    result = run_module("ml.promote", cwd=workdir, env=server_env)

    assert result.returncode == 1
    assert (
        f"candidate version {candidate.version} (test_md5 {candidate.tags['test_md5']}) and "
        f"champion version {champion.version} (test_md5 {champion.tags['test_md5']}) were "
        "scored on different hold-outs" in result.stderr
    )
    gate = json.loads((workdir / "reports" / "gate.json").read_text())
    assert gate["candidate"] is None and gate["paired"] is None
    assert client.get_model_version_by_alias(MODEL, "champion").version == champion.version


def test_unreachable_server_fails_fast_naming_it(workdir: Path, subprocess_env: dict) -> None:
    from tests.support.network import free_port

    url = f"http://127.0.0.1:{free_port()}"
    env = {**subprocess_env, "MLFLOW_TRACKING_URI": url}
    # The timeout is the assertion: a client that retried for minutes would blow it.
    result = run_module("ml.train", cwd=workdir, env=env, timeout=60)
    assert result.returncode == 2
    assert f"MLflow tracking server {url} cannot be reached" in result.stderr
