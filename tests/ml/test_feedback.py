"""ml.feedback for real: the service's schema on sqlite and PostgreSQL, the command, data v3.

The store is migrated with the service's own Alembic migrations and filled with a constructed
feedback set (tests/ml/feedback_data.py) whose outcome is known rule by rule.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from ml.feedback.compose import text_key
from ml.params import load_params
from ml.text import clean_text
from tests.ml.conftest import FEEDBACK_VERSION, run_module, write_params
from tests.ml.feedback_data import EXPECTED_COUNTS, build_feedback_set, pool_and_holdout
from tests.support.network import free_port
from tests.support.postgres import PostgresCluster, throwaway_cluster
from tests.support.prediction_store import StoredPrediction, migrated_store, store_predictions

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with throwaway_cluster("rp-feedback-pg-") as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'predictions.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database()
    migrated_store(url)
    return url


def _feedback(project: Path, env: dict[str, str], url: str, *args: str):
    return run_module("ml.feedback", *args, cwd=project, env={**env, "DATABASE_URL": url})


def _assert_nothing_written(project: Path) -> None:
    assert not (project / "data" / "feedback.csv").exists()
    assert not (project / "data" / "feedback.json").exists()


def test_export_then_data_v3(project: Path, store_url: str, subprocess_env: dict[str, str]) -> None:
    params = load_params(project / "params.yaml")
    pool, holdout = pool_and_holdout(params.data, FEEDBACK_VERSION)
    feedback = build_feedback_set(pool, holdout)
    store_predictions(store_url, feedback.items)
    # Predictions without a verdict are not exported.
    store_predictions(
        store_url, [StoredPrediction("unjudged review", 0.9, feedback.items[0].created_at)]
    )

    result = _feedback(project, subprocess_env, store_url)
    assert result.returncode == 0, result.stderr
    record = json.loads((project / "data" / "feedback.json").read_text())
    assert json.loads(result.stdout) == record
    assert record["counts"] == EXPECTED_COUNTS
    assert record["rows"] == EXPECTED_COUNTS["exported_rows"]
    rows = (project / "data" / "feedback.csv").read_bytes()
    assert record["sha256"] == hashlib.sha256(rows).hexdigest()
    times = sorted(item.created_at for item in feedback.items)
    assert record["feedback_from"].startswith(times[0].strftime("%Y-%m-%dT%H:%M"))
    assert record["feedback_to"].startswith(times[-1].strftime("%Y-%m-%dT%H:%M"))
    assert "unjudged review" not in rows.decode()

    # The same export again changes nothing (the record has no time stamp of its own).
    assert _feedback(project, subprocess_env, store_url).returncode == 0
    assert json.loads((project / "data" / "feedback.json").read_text()) == record

    v2 = run_module("ml.data", "--version", "2", cwd=project, env=subprocess_env)
    assert v2.returncode == 0, v2.stderr
    holdout_bytes = (project / "data" / "test.csv").read_bytes()
    pool_rows = len(pd.read_csv(project / "data" / "train.csv"))

    v3 = run_module("ml.data", "--version", str(FEEDBACK_VERSION), cwd=project, env=subprocess_env)
    assert v3.returncode == 0, v3.stderr
    assert (project / "data" / "test.csv").read_bytes() == holdout_bytes  # hold-out unchanged
    train = pd.read_csv(project / "data" / "train.csv", keep_default_na=False)
    assert len(train) == pool_rows + EXPECTED_COUNTS["usable_reviews"]
    assert train["review"].map(text_key).is_unique
    added = train.iloc[pool_rows:].reset_index(drop=True)
    expected = feedback.new_reviews.assign(review=feedback.new_reviews["review"].map(clean_text))
    pd.testing.assert_frame_equal(added, expected, check_dtype=False)
    holdout_keys = set(pd.read_csv(project / "data" / "test.csv")["review"].map(text_key))
    assert not holdout_keys & set(train["review"].map(text_key))
    manifest = json.loads((project / "data" / "manifest.json").read_text())
    assert manifest["data_version"] == FEEDBACK_VERSION
    assert manifest["train_rows"] == len(train)
    assert manifest["feedback"]["sha256"] == record["sha256"]
    assert manifest["feedback"]["counts"] == EXPECTED_COUNTS


def test_drop_rule_drops_every_contradicted_review(
    project: Path, store_url: str, subprocess_env: dict[str, str]
) -> None:
    write_params(project, feedback={"conflict_rule": "drop"})
    params = load_params(project / "params.yaml")
    feedback = build_feedback_set(*pool_and_holdout(params.data, FEEDBACK_VERSION))
    store_predictions(store_url, feedback.items)
    result = _feedback(project, subprocess_env, store_url, "--check")
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout)["counts"]
    assert counts["conflicts_resolved_by_majority"] == 0
    assert counts["conflicts_dropped"] == EXPECTED_COUNTS["conflicting_reviews"]
    assert counts["usable_reviews"] == EXPECTED_COUNTS["usable_reviews"] - 3
    _assert_nothing_written(project)  # --check writes nothing


def test_too_few_rows_names_the_count_and_minimum(
    project: Path, store_url: str, subprocess_env: dict[str, str]
) -> None:
    write_params(project, feedback={"min_rows": 41})
    params = load_params(project / "params.yaml")
    store_predictions(store_url, build_feedback_set(*pool_and_holdout(params.data, 3)).items)
    result = _feedback(project, subprocess_env, store_url)
    assert result.returncode == 3  # not enough yet: distinct from bad input
    assert "40 usable feedback reviews, fewer than the minimum 41" in result.stderr
    assert "4 in the hold-out" in result.stderr
    _assert_nothing_written(project)


def test_empty_store(project: Path, store_url: str, subprocess_env: dict[str, str]) -> None:
    result = _feedback(project, subprocess_env, store_url)
    assert result.returncode == 3
    assert "0 feedback rows in the store, fewer than the minimum 20" in result.stderr
    _assert_nothing_written(project)


def test_unknown_label_names_the_rows_and_value(
    project: Path, store_url: str, subprocess_env: dict[str, str]
) -> None:
    items = [
        StoredPrediction(f"review {index}", 0.8, pd.Timestamp("2026-11-02", tz="UTC"), label)
        for index, label in enumerate(["positive"] * 30 + ["neutral"] * 3 + ["Positive"])
    ]
    store_predictions(store_url, items)
    result = _feedback(project, subprocess_env, store_url)
    assert result.returncode == 2
    assert "4 of 34 feedback rows have an unknown label" in result.stderr
    assert "3 rows have the label 'neutral'" in result.stderr
    assert "1 rows have the label 'Positive'" in result.stderr
    _assert_nothing_written(project)


def test_unreachable_postgres_hides_the_password(
    project: Path, subprocess_env: dict[str, str]
) -> None:
    marker = "pw-must-not-show-7f3a"
    port = free_port()
    url = f"postgresql+psycopg://operator:{marker}@127.0.0.1:{port}/predictions"
    result = _feedback(project, subprocess_env, url)
    assert result.returncode == 2
    assert (
        f"cannot reach the prediction store at postgresql+psycopg://operator:***@127.0.0.1:{port}/predictions"
        in result.stderr
    )
    assert marker not in result.stderr + result.stdout
    _assert_nothing_written(project)


def test_missing_sqlite_file_and_unset_url(
    project: Path, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    missing = tmp_path / "nowhere" / "predictions.db"
    result = _feedback(project, subprocess_env, f"sqlite:///{missing}")
    assert result.returncode == 2
    assert f"no prediction store at sqlite:///{missing}: the file does not exist" in result.stderr
    assert not missing.exists()
    unset = run_module("ml.feedback", cwd=project, env=subprocess_env)
    assert unset.returncode == 2
    assert "no prediction store: set DATABASE_URL" in unset.stderr
    _assert_nothing_written(project)


def test_a_database_without_the_table(project: Path, postgres: PostgresCluster, subprocess_env):
    url = postgres.create_database()
    result = _feedback(project, subprocess_env, url)
    assert result.returncode == 2
    assert "has no predictions table" in result.stderr
    _assert_nothing_written(project)


def test_data_v3_needs_a_matching_snapshot(project: Path, subprocess_env: dict[str, str]) -> None:
    data = project / "data"
    data.mkdir()
    (data / "feedback.json").write_text(json.dumps({"rows": 0, "sha256": None}))
    result = run_module("ml.data", "--version", "3", cwd=project, env=subprocess_env)
    assert result.returncode == 2
    assert "records no feedback snapshot; run python -m ml.feedback" in result.stderr
    (data / "feedback.csv").write_text("request_id,review,feedback_label,feedback_at,created_at\n")
    (data / "feedback.json").write_text(json.dumps({"rows": 1, "sha256": "0" * 64}))
    result = run_module("ml.data", "--version", "3", cwd=project, env=subprocess_env)
    assert result.returncode == 2
    assert "is not the snapshot" in result.stderr
    assert not (data / "train.csv").exists()


def test_v3_through_dvc_carries_the_snapshot_lineage(
    tmp_path: Path, repo_root: Path, subprocess_env: dict[str, str]
) -> None:
    """dvc repro prepares v3 from the snapshot, ml.train tags it, dvc push stores it."""
    from mlflow import MlflowClient

    from ml.lineage import file_digest
    from tests.support.project import make_dvc_project, run

    remote = tmp_path / "remote"
    project = make_dvc_project(tmp_path / "project", repo_root, remote, subprocess_env)
    url = f"sqlite:///{tmp_path / 'predictions.db'}"
    migrated_store(url)
    params = load_params(project / "params.yaml")
    store_predictions(url, build_feedback_set(*pool_and_holdout(params.data, 3)).items)
    assert _feedback(project, subprocess_env, url).returncode == 0
    record = json.loads((project / "data" / "feedback.json").read_text())

    write_params(project, data={"version": FEEDBACK_VERSION})
    output = run("dvc", "repro", cwd=project, env=subprocess_env)
    assert "Running stage 'train'" in output
    manifest = json.loads((project / "data" / "manifest.json").read_text())
    assert manifest["feedback"]["sha256"] == record["sha256"]
    store = f"sqlite:///{project / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=store, registry_uri=store)
    tags = client.get_model_version_by_alias("imdb-sentiment", "candidate").tags
    assert tags["data_version"] == str(FEEDBACK_VERSION)
    assert tags["data_md5"] == file_digest(project / "data" / "train.csv")
    assert tags["feedback_sha256"] == record["sha256"]
    assert tags["feedback_rows"] == str(record["rows"])
    assert tags["feedback_used_rows"] == str(EXPECTED_COUNTS["usable_reviews"])
    assert tags["feedback_from"] == record["feedback_from"]

    # v3's candidate goes through the same gate as any other.
    gate = run_module("ml.promote", cwd=project, env=subprocess_env)
    assert gate.returncode == 0, gate.stderr
    assert "to @champion" in gate.stderr

    run("dvc", "push", cwd=project, env=subprocess_env)
    md5 = tags["data_md5"]
    assert (remote / "files" / "md5" / md5[:2] / md5[2:]).is_file()  # v3 is in the remote
    # A second repro with the same snapshot has nothing to do.
    assert "Data and pipelines are up to date" in run(
        "dvc", "repro", cwd=project, env=subprocess_env
    )
