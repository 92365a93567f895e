"""A wrong variable stops the play before anything changes, naming the variable.

Runs the real roles in check mode against this machine; argument_specs validation fails before
the first task, so nothing is even probed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.playbooks.conftest import ansible_playbook

pytestmark = pytest.mark.integration

CASES = [
    ("docker", {"docker_install_source": "podman"}, "docker_install_source", "one of"),
    ("docker", {"docker_daemon_options": "json-file"}, "docker_daemon_options", "dict"),
    ("mlflow", {"mlflow_port": "five thousand"}, "mlflow_port", "int"),
    ("mlflow", {"mlflow_backend_store": "oracle"}, "mlflow_backend_store", "one of"),
    ("dvc_remote", {"dvc_remote_type": "ftp"}, "dvc_remote_type", "one of"),
]


@pytest.mark.parametrize(("role", "bad_vars", "variable", "reason"), CASES)
def test_bad_variable_is_named_before_any_task(
    role: str, bad_vars: dict, variable: str, reason: str, tmp_path: Path
) -> None:
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        f"- hosts: localhost\n  gather_facts: true\n  roles:\n    - role: {role}\n",
        encoding="utf-8",
    )
    result = ansible_playbook(
        str(playbook), extra_vars=bad_vars, extra_args=("--check",), tmp_path=tmp_path
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Validating arguments against arg spec" in output
    assert variable in output and reason in output, output
    assert "changed=0" in output
