"""playbooks/train.yml for real on a throwaway copy of the project.

The copy has its own git repository, DVC remote and small parameters; training logs to a real
MLflow server. The first run pulls nothing (empty remote), reproduces, promotes and pushes; the
second run with nothing changed reports no change and runs no stage; a weak candidate fails the
play with the gate's reason.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ml.conftest import WEAK_VERSION, write_params
from tests.playbooks.conftest import ansible_playbook, recap_changed

pytestmark = pytest.mark.integration


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def project(tmp_path: Path, repo_root: Path, subprocess_env: dict[str, str]) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(repo_root / "ml", project / "ml", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(repo_root / "dvc.yaml", project / "dvc.yaml")
    write_params(project)
    (project / ".gitignore").write_text("mlflow.db\nmlruns/\n")
    dvc = str(Path(sys.executable).parent / "dvc")
    _git("init", "--quiet", "--initial-branch=main", cwd=project)
    _git("config", "user.email", "ci@example.invalid", cwd=project)
    _git("config", "user.name", "CI", cwd=project)
    for args in (
        ["init", "--quiet"],
        ["config", "core.analytics", "false"],
        ["config", "core.check_update", "false"],
        ["remote", "add", "--local", "--default", "store", str(tmp_path / "remote")],
    ):
        subprocess.run(
            [dvc, *args], cwd=project, check=True, capture_output=True, env=subprocess_env
        )
    _git("add", "-A", cwd=project)
    _git("commit", "--quiet", "-m", "project", cwd=project)
    return project


def _train(project: Path, mlflow_server: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return ansible_playbook(
        "playbooks/train.yml",
        extra_vars={
            "rotten_potatoes_project_dir": str(project),
            "train_venv_bin": str(Path(sys.executable).parent),
            "train_manage_venv": False,
            "rotten_potatoes_mlflow_uri": mlflow_server,
        },
        tmp_path=tmp_path,
    )


def test_train_is_idempotent_and_stops_on_a_refused_candidate(
    project: Path, mlflow_server: str, tmp_path: Path
) -> None:
    first = _train(project, mlflow_server, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert recap_changed(first.stdout) >= 3  # repro, promotion, push
    assert (tmp_path / "remote").is_dir()

    second = _train(project, mlflow_server, tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert recap_changed(second.stdout) == 0, second.stdout

    write_params(project, data={"version": WEAK_VERSION})
    weak = _train(project, mlflow_server, tmp_path)
    assert weak.returncode != 0
    assert "refused; champion stays at" in weak.stdout, weak.stdout
    assert "below the minimum" in weak.stdout
