"""Running the elk role's task files with ansible-playbook on this machine."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.playbooks.conftest import ROOT, ansible_playbook

ROLE = ROOT / "roles" / "elk"
ELASTIC_PASSWORD = "elastic-test-password-not-a-secret"  # noqa: S105 - a test value
KIBANA_SYSTEM_PASSWORD = "kibana-system-test-password-not-a-secret"  # noqa: S105
SHIPPER_PASSWORD = "shipper-test-password-not-a-secret"  # noqa: S105
PASSWORDS = (ELASTIC_PASSWORD, KIBANA_SYSTEM_PASSWORD, SHIPPER_PASSWORD)


def inventory(tmp_path: Path) -> Path:
    """This machine, with the venv's Python (it has the kubernetes client)."""
    path = tmp_path / "hosts.yml"
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    path.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": host}}}), encoding="utf-8")
    return path


def role_vars(**overrides: object) -> dict:
    return {
        "elk_elastic_password": ELASTIC_PASSWORD,
        "elk_kibana_system_password": KIBANA_SYSTEM_PASSWORD,
        "elk_shipper_password": SHIPPER_PASSWORD,
        **overrides,
    }


def run_play(
    tmp_path: Path, tasks: list[dict], extra_vars: dict, *, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    play = {"hosts": "localhost", "gather_facts": False, "tasks": tasks}
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([play], sort_keys=False), encoding="utf-8")
    return ansible_playbook(
        str(playbook),
        inventory=inventory(tmp_path),
        extra_vars=extra_vars,
        tmp_path=tmp_path,
        timeout=timeout,
    )


def flat(result: subprocess.CompletedProcess[str]) -> str:
    return " ".join((result.stdout + result.stderr).split())


def task_result(output: str, task: str) -> str:
    """'ok', 'changed', 'skipping', 'failed' or 'fatal' of the first run of a task (by name)."""
    match = re.search(
        r"TASK \[elk : "
        + re.escape(task)
        + r"\][^\n]*\n(?:[^\n]*\n)*?(ok|changed|skipping|fatal|failed)",
        output,
    )
    assert match, f"task {task!r} not in the output:\n{output[-3000:]}"
    return match.group(1)
