"""Fixtures for the Jenkins suite: the Jenkinsfile parsed by Groovy, the Makefile's rules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

AST_SCRIPT = Path(__file__).with_name("jenkinsfile_ast.groovy")


def groovy_env() -> dict[str, str]:
    """Debian's groovy launcher wants JAVA_HOME; derive it from the java on PATH."""
    java = shutil.which("java")
    env = dict(os.environ)
    if java and not env.get("JAVA_HOME"):
        env["JAVA_HOME"] = str(Path(java).resolve().parent.parent)
    return env


def parse_groovy(path: Path) -> subprocess.CompletedProcess[str]:
    groovy = shutil.which("groovy")
    if groovy is None:
        pytest.fail(
            "groovy is not installed: run scripts/ensure-test-tools.sh (apt-get install groovy)"
        )
    return subprocess.run(
        [groovy, str(AST_SCRIPT), str(path)],
        capture_output=True,
        text=True,
        env=groovy_env(),
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="session")
def jenkinsfile_calls() -> list[dict[str, Any]]:
    """Every method call in the Jenkinsfile, from Groovy's AST (see jenkinsfile_ast.groovy)."""
    result = parse_groovy(REPO_ROOT / "Jenkinsfile")
    assert result.returncode == 0, (
        f"the Jenkinsfile does not parse:\n{result.stdout}{result.stderr}"
    )
    return json.loads(result.stdout)["calls"]
