"""The DVC pipeline for real, in a throwaway git repository with a local remote.

``dvc repro`` runs prepare -> tune -> train -> evaluate (tracking in the embedded sqlite MLflow
store), ``dvc push`` stores the outputs, a wiped cache and workspace are restored byte for byte
by ``dvc pull``, and a second ``dvc repro`` has nothing to do.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ml.lineage import file_digest
from tests.ml.conftest import write_params
from tests.support.project import make_dvc_project, run

pytestmark = pytest.mark.integration

OUTPUTS = (
    "data/train.csv",
    "data/test.csv",
    "data/manifest.json",
    "reports/tune.json",
    "reports/train.json",
    "reports/metrics.json",
)


@pytest.fixture
def dvc_project(tmp_path: Path, repo_root: Path, subprocess_env: dict[str, str]) -> Path:
    return make_dvc_project(tmp_path / "project", repo_root, tmp_path / "remote", subprocess_env)


def test_repro_push_pull_round_trip(dvc_project: Path, subprocess_env: dict[str, str]) -> None:
    env = subprocess_env
    first = run("dvc", "repro", cwd=dvc_project, env=env)
    for stage in ("prepare", "tune", "train", "evaluate"):
        assert f"Running stage '{stage}'" in first
    tuned = json.loads((dvc_project / "reports" / "tune.json").read_text())
    trained = json.loads((dvc_project / "reports" / "train.json").read_text())
    assert trained["params"]["C"] == tuned["best"]["settings"]["C"]
    metrics = json.loads((dvc_project / "reports" / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.85
    digests = {name: file_digest(dvc_project / name) for name in OUTPUTS}
    lock = (dvc_project / "dvc.lock").read_text()
    assert digests["data/train.csv"] in lock  # DVC's md5 is the one ml.train records as data_md5

    run("dvc", "push", cwd=dvc_project, env=env)
    shutil.rmtree(dvc_project / ".dvc" / "cache")
    for name in OUTPUTS:
        (dvc_project / name).unlink()

    run("dvc", "pull", cwd=dvc_project, env=env)
    assert {name: file_digest(dvc_project / name) for name in OUTPUTS} == digests

    second = run("dvc", "repro", cwd=dvc_project, env=env)
    assert "Running stage" not in second
    assert "Data and pipelines are up to date" in second

    # A new grid re-runs the search (and what depends on it); the data alone is not enough.
    write_params(dvc_project, tune={"grid": {"C": [10.0, 30.0]}})
    third = run("dvc", "repro", cwd=dvc_project, env=env)
    assert "Running stage 'tune'" in third and "Running stage 'prepare'" not in third
