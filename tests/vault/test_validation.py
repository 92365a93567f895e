"""Bad variables stop the vault role before anything changes, with a message naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.playbooks.conftest import ansible_playbook

pytestmark = pytest.mark.integration

PLAY = "- hosts: localhost\n  gather_facts: true\n  roles:\n    - role: vault\n"


def _run(bad_vars: dict, tmp_path: Path) -> str:
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY, encoding="utf-8")
    result = ansible_playbook(
        str(playbook), extra_vars=bad_vars, extra_args=("--check",), tmp_path=tmp_path
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "changed=0" in output, output
    return output


@pytest.mark.parametrize(
    ("bad_vars", "variable", "reason"),
    [
        ({"vault_storage_type": "consul"}, "vault_storage_type", "one of"),
        ({"vault_install_method": "snap"}, "vault_install_method", "one of"),
        ({"vault_init_key_shares": "five"}, "vault_init_key_shares", "int"),
    ],
)
def test_argument_specs_refuse_a_bad_value(
    bad_vars: dict, variable: str, reason: str, tmp_path: Path
) -> None:
    output = _run(bad_vars, tmp_path)
    assert "Validating arguments against arg spec" in output
    assert variable in output and reason in output, output


def test_a_threshold_above_the_shares_is_refused(tmp_path: Path) -> None:
    output = _run({"vault_init_key_shares": 2, "vault_init_key_threshold": 3}, tmp_path)
    assert "Assert the initialisation settings" in output
    assert "at most vault_init_key_shares" in output and "(got 3 of 2)" in output, output


def test_a_missing_checksum_names_the_variables(tmp_path: Path) -> None:
    output = _run({"vault_version": "1.99.0"}, tmp_path)
    assert "No sha256 for Vault 1.99.0" in output, output
    assert "vault_checksums has no entry for 1.99.0" in output, output
    assert "vault_checksum)" in output, output
