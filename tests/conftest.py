"""Fixtures shared by every suite."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def venv_bin() -> Path:
    """The bin folder of the interpreter running the tests (the project's .venv under make)."""
    return Path(sys.executable).parent


@pytest.fixture(scope="session")
def subprocess_env(venv_bin: Path) -> dict[str, str]:
    """Environment for child commands: the venv first on PATH, no analytics, no user overrides."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MLFLOW_", "RP_", "DVC_"))
    }
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    env["DVC_NO_ANALYTICS"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env
