"""A throwaway copy of the project: its own git repository, DVC and a local remote."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.ml.conftest import write_params


def run(*command: str, cwd: Path, env: dict[str, str]) -> str:
    """Run a command, failing the test with its output when it fails; returns the output."""
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout + result.stderr


def make_dvc_project(
    project: Path, repo_root: Path, remote: Path, env: dict[str, str], *, local_remote: bool = False
) -> Path:
    """ml/, dvc.yaml, the empty feedback record and the test params in a committed git repo.

    The repository has a default DVC remote at ``remote``.

    ``local_remote`` writes the remote to .dvc/config.local, as the dvc_remote role does.
    """
    project.mkdir(parents=True)
    shutil.copytree(repo_root / "ml", project / "ml", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(repo_root / "dvc.yaml", project / "dvc.yaml")
    (project / "data").mkdir()
    shutil.copy2(repo_root / "data" / "feedback.json", project / "data" / "feedback.json")
    write_params(project)
    (project / ".gitignore").write_text("mlflow.db\nmlruns/\n")
    run("git", "init", "--quiet", "--initial-branch=main", cwd=project, env=env)
    run("git", "config", "user.email", "ci@example.invalid", cwd=project, env=env)
    run("git", "config", "user.name", "CI", cwd=project, env=env)
    run("dvc", "init", "--quiet", cwd=project, env=env)
    run("dvc", "config", "core.analytics", "false", cwd=project, env=env)
    run("dvc", "config", "core.check_update", "false", cwd=project, env=env)
    level = ["--local"] if local_remote else []
    run("dvc", "remote", "add", *level, "--default", "store", str(remote), cwd=project, env=env)
    run("git", "add", "-A", cwd=project, env=env)
    run("git", "commit", "--quiet", "-m", "project", cwd=project, env=env)
    return project
