"""The DVC pipeline for real, in a throwaway git repository with a local remote.

``dvc repro`` runs prepare -> train -> evaluate (training against the embedded sqlite MLflow
store), ``dvc push`` stores the outputs, a wiped cache and workspace are restored byte for byte
by ``dvc pull``, and a second ``dvc repro`` has nothing to do.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ml.lineage import file_digest
from tests.ml.conftest import write_params

pytestmark = pytest.mark.integration

OUTPUTS = (
    "data/train.csv",
    "data/test.csv",
    "data/manifest.json",
    "reports/train.json",
    "reports/metrics.json",
)


def _run(*command: str, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout + result.stderr


@pytest.fixture
def dvc_project(tmp_path: Path, repo_root: Path, subprocess_env: dict[str, str]) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(repo_root / "ml", project / "ml", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(repo_root / "dvc.yaml", project / "dvc.yaml")
    write_params(project)
    env = subprocess_env
    _run("git", "init", "--quiet", "--initial-branch=main", cwd=project, env=env)
    _run("git", "config", "user.email", "ci@example.invalid", cwd=project, env=env)
    _run("git", "config", "user.name", "CI", cwd=project, env=env)
    _run("dvc", "init", "--quiet", cwd=project, env=env)
    _run("dvc", "config", "core.analytics", "false", cwd=project, env=env)
    _run("dvc", "config", "core.check_update", "false", cwd=project, env=env)
    _run(
        "dvc", "remote", "add", "--default", "local", str(tmp_path / "remote"), cwd=project, env=env
    )
    (project / ".gitignore").write_text("mlflow.db\nmlruns/\n")
    _run("git", "add", "-A", cwd=project, env=env)
    _run("git", "commit", "--quiet", "-m", "pipeline", cwd=project, env=env)
    return project


def test_repro_push_pull_round_trip(dvc_project: Path, subprocess_env: dict[str, str]) -> None:
    env = subprocess_env
    first = _run("dvc", "repro", cwd=dvc_project, env=env)
    for stage in ("prepare", "train", "evaluate"):
        assert f"Running stage '{stage}'" in first
    metrics = json.loads((dvc_project / "reports" / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.85
    digests = {name: file_digest(dvc_project / name) for name in OUTPUTS}
    lock = (dvc_project / "dvc.lock").read_text()
    assert digests["data/train.csv"] in lock  # DVC's md5 is the one ml.train records as data_md5

    _run("dvc", "push", cwd=dvc_project, env=env)
    shutil.rmtree(dvc_project / ".dvc" / "cache")
    for name in OUTPUTS:
        (dvc_project / name).unlink()

    _run("dvc", "pull", cwd=dvc_project, env=env)
    assert {name: file_digest(dvc_project / name) for name in OUTPUTS} == digests

    second = _run("dvc", "repro", cwd=dvc_project, env=env)
    assert "Running stage" not in second
    assert "Data and pipelines are up to date" in second
