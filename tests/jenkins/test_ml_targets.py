"""The Jenkinsfile's data and model stages, run the way Jenkins runs them.

``make data-pull``, ``make data-remote``, ``make pipeline`` and ``make promote`` run in a throwaway
copy of the project (its own git repository, DVC remote and sqlite MLflow store), so the checkout
under test keeps its own data, remote and registry. The copy uses the project's virtualenv.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.ml.conftest import WEAK_VERSION, write_params
from tests.support.project import make_dvc_project, run

pytestmark = pytest.mark.integration

# Copied with their modification times, so the venv's stamp stays newer and make reuses the venv.
MAKE_FILES = ("Makefile", "pyproject.toml", "constraints.txt")
PIPELINE_OUTPUTS = ("data/train.csv", "data/test.csv", "reports/tune.json", "reports/metrics.json")


def _run(
    project: Path, env: dict[str, str], command: list[str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def jenkins_workspace(
    tmp_path: Path, repo_root: Path, subprocess_env: dict[str, str]
) -> tuple[Path, dict[str, str]]:
    project = make_dvc_project(
        tmp_path / "workspace", repo_root, tmp_path / "unused", subprocess_env
    )
    # A Jenkins workspace gets its remote from `make data-remote` (or the dvc_remote role), not git.
    run("dvc", "remote", "remove", "store", cwd=project, env=subprocess_env)
    for name in MAKE_FILES:
        shutil.copy2(repo_root / name, project / name)
    # The Makefile's `VENV ?= .venv` takes the project's virtualenv from the environment.
    return project, {**subprocess_env, "VENV": str(repo_root / ".venv")}


def test_the_data_and_model_stages_pull_train_promote_and_refuse(
    jenkins_workspace: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """One workspace goes through a good build, then a build whose candidate the gate refuses.

    One test rather than two: the refusal needs a champion, and training it again for a test of
    its own cost a whole pipeline run.
    """
    project, env = jenkins_workspace

    nothing_recorded = _run(project, env, ["make", "data-pull"])
    assert nothing_recorded.returncode == 0, nothing_recorded.stderr
    assert "no dvc.lock yet" in nothing_recorded.stdout

    remote = _run(project, env, ["make", "data-remote", f"DVC_REMOTE_DIR={tmp_path / 'remote'}"])
    assert remote.returncode == 0, remote.stdout + remote.stderr

    trained = _run(project, env, ["make", "pipeline"])
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    assert json.loads((project / "reports/metrics.json").read_text())["accuracy"] > 0.85

    assert "Running stage 'tune'" in trained.stdout
    promoted = _run(project, env, ["make", "promote"])
    assert promoted.returncode == 0, promoted.stdout[-3000:] + promoted.stderr[-3000:]
    assert json.loads((project / "reports/gate.json").read_text())["passed"] is True
    assert "## Behavioural checks" in (project / "reports/gate.md").read_text()

    # What the next build's `make data-pull` restores: the recorded outputs, from the remote alone.
    run("dvc", "push", cwd=project, env=env)
    shutil.rmtree(project / ".dvc" / "cache")
    for name in PIPELINE_OUTPUTS:
        (project / name).unlink()
    pulled = _run(project, env, ["make", "data-pull"])
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert all((project / name).is_file() for name in PIPELINE_OUTPUTS)

    # The next build trains on far too little data: the gate stage fails and names why.
    write_params(project, data={"version": WEAK_VERSION})
    weak = _run(project, env, ["make", "pipeline"])
    assert weak.returncode == 0, weak.stdout[-3000:] + weak.stderr[-3000:]
    refused = _run(project, env, ["make", "promote"])
    assert refused.returncode != 0
    assert "refused; champion stays at" in refused.stdout + refused.stderr
