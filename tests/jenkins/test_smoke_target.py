"""`make smoke` (the Jenkinsfile's smoke test) against the real API, and against nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, running_backend
from tests.support.network import free_port

pytestmark = pytest.mark.integration


def _make_smoke(url: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "smoke", f"SMOKE_API_URL={url}", "SMOKE_RETRIES=2"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_smoke_passes_against_the_running_api(
    exported_model: Path, tmp_path: Path, venv_bin: Path, subprocess_env: dict[str, str]
) -> None:
    with running_backend(exported_model, tmp_path, venv_bin, subprocess_env) as url:
        result = _make_smoke(url, subprocess_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "smoke: positive review ->" in result.stdout
    assert "smoke: negative review ->" in result.stdout


def test_smoke_fails_when_nothing_answers(subprocess_env: dict[str, str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = _make_smoke(url, subprocess_env)
    assert result.returncode != 0
    assert f"smoke: {url}/ready did not answer 200" in result.stderr
