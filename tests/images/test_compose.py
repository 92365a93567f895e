"""compose.yaml is valid for the real docker-compose and refuses to run without a password."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "compose.yaml"


def _compose(*args: str, **env: str) -> subprocess.CompletedProcess:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed (apt-get install docker-compose)")
    base = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    return subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


IMAGES = {"BACKEND_IMAGE": "rp-img-test/backend:x", "FRONTEND_IMAGE": "rp-img-test/frontend:x"}
# A throwaway value: `config` only renders the file, nothing is started.
WITH_PASSWORD = {**IMAGES, "POSTGRES_PASSWORD": "only-for-rendering"}


def test_config_is_valid_with_the_required_variables() -> None:
    result = _compose("config", **WITH_PASSWORD)
    assert result.returncode == 0, result.stderr
    assert "condition: service_healthy" in result.stdout
    rendered = yaml.safe_load(result.stdout)
    for name, service in rendered["services"].items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for port in service.get("ports", []):
            # v1 renders "127.0.0.1:8000:8000/tcp"; v2 the long form with host_ip.
            host_ip = port.get("host_ip") if isinstance(port, dict) else port.split(":")[0]
            assert host_ip == "127.0.0.1", f"{name} publishes {port} beyond the loopback"
    assert "postgres-data" in rendered["volumes"]
    assert "backend-spool" in rendered["volumes"]
    assert {"postgres", "backend", "frontend", "mlflow"} <= set(rendered["services"])
    # The tracking server's image is built elsewhere: it only starts with --profile mlflow.
    assert rendered["services"]["mlflow"]["profiles"] == ["mlflow"]
    for name in ("backend", "frontend", "postgres"):
        assert not rendered["services"][name].get("profiles"), name


def test_config_fails_clearly_without_a_password() -> None:
    result = _compose("config", **IMAGES)
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD" in result.stderr, result.stderr
