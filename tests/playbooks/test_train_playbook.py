"""playbooks/train.yml for real on a throwaway copy of the project.

The copy has its own git repository, DVC remote and small parameters; training logs to a real
MLflow server. The first run pulls nothing (empty remote), reproduces, promotes and pushes; the
second run with nothing changed reports no change and runs no stage; a weak candidate fails the
play with the gate's reason.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.ml.conftest import WEAK_VERSION, write_params
from tests.playbooks.conftest import ansible_playbook, recap_changed
from tests.support.project import make_dvc_project

pytestmark = pytest.mark.integration


@pytest.fixture
def project(tmp_path: Path, repo_root: Path, subprocess_env: dict[str, str]) -> Path:
    return make_dvc_project(
        tmp_path / "project", repo_root, tmp_path / "remote", subprocess_env, local_remote=True
    )


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
