"""playbooks/train.yml for real on a throwaway copy of the project.

The copy has its own git repository, DVC remote and small parameters; training logs to a real
MLflow server. The first run pulls nothing (empty remote), reproduces, promotes and pushes; the
second run with nothing changed reports no change and runs no stage; a new tracking server gets the
model again; a weak candidate fails the play with the gate's reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import running_mlflow_server
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
            "platform_project_dir": str(project),
            "platform_venv_bin": str(Path(sys.executable).parent),
            "platform_manage_venv": False,
            "platform_mlflow_uri": mlflow_server,
        },
        tmp_path=tmp_path,
    )


def test_train_is_idempotent_retrains_for_a_new_server_and_stops_on_a_refused_candidate(
    project: Path, tmp_path: Path, venv_bin: Path, subprocess_env: dict[str, str]
) -> None:
    """One project through the play's lifetime; each step needs the state the one before left.

    A new tracking server: DVC still has current outputs, but the server has no run, so train.yml
    trains again. One test rather than several, because each first training costs a whole
    pipeline run.
    """
    with running_mlflow_server(_server_root(tmp_path, "first"), venv_bin, subprocess_env) as uri:
        first = _train(project, uri, tmp_path)
        assert first.returncode == 0, first.stdout + first.stderr
        assert recap_changed(first.stdout) >= 3  # repro, promotion, push
        assert (tmp_path / "remote").is_dir()

        second = _train(project, uri, tmp_path)
        assert second.returncode == 0, second.stdout + second.stderr
        assert recap_changed(second.stdout) == 0, second.stdout

    with running_mlflow_server(_server_root(tmp_path, "second"), venv_bin, subprocess_env) as uri:
        retrained = _train(project, uri, tmp_path)
        assert retrained.returncode == 0, retrained.stdout + retrained.stderr
        assert "Train again when the tracking server does not know" in retrained.stdout
        champion = _champion_version(uri)
        assert champion == "1", champion  # the new registry's first version, promoted by the gate

        again = _train(project, uri, tmp_path)
        assert again.returncode == 0, again.stdout + again.stderr
        assert recap_changed(again.stdout) == 0, again.stdout

        write_params(project, data={"version": WEAK_VERSION})
        weak = _train(project, uri, tmp_path)
        assert weak.returncode != 0
        assert "refused; champion stays at" in weak.stdout, weak.stdout
        assert "below the minimum" in weak.stdout
        assert _champion_version(uri) == "1"


def _server_root(tmp_path: Path, name: str) -> Path:
    root = tmp_path / f"mlflow-{name}"
    root.mkdir()
    return root


def _champion_version(uri: str) -> str:
    query = urllib.parse.urlencode({"name": "imdb-sentiment", "alias": "champion"})
    url = f"{uri}/api/2.0/mlflow/registered-models/alias?{query}"
    with urllib.request.urlopen(url, timeout=15) as response:  # noqa: S310 - http to our server
        return str(json.load(response)["model_version"]["version"])
