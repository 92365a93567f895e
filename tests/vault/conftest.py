"""Render the vault role's templates through real Ansible templating (the template module)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from tests.playbooks.conftest import ansible_playbook

ROLE = Path(__file__).resolve().parents[2] / "roles" / "vault"

# Each variant overrides role defaults; "default" renders the role as shipped.
VARIANTS: dict[str, dict[str, object]] = {
    "default": {},
    "file_storage": {"vault_storage_type": "file", "vault_disable_mlock": False},
    "tls_off": {"vault_tls_enabled": False},
    "specific_ip": {"vault_listen_address": "10.0.0.5", "vault_ui": False},
}
POLICIES = ("rotten-potatoes-backend", "rotten-potatoes-jenkins")
HOST = "vault-render-test"


def _template_task(name: str, src: Path, dest: Path, overrides: dict[str, object]) -> dict:
    return {
        "name": name,
        "ansible.builtin.template": {"src": str(src), "dest": str(dest), "mode": "0600"},
        "vars": overrides,
    }


def render_playbook(out_dir: Path) -> str:
    """A play loading the role's defaults and internal vars, rendering every template to out_dir."""
    templates = ROLE / "templates"
    tasks = [
        _template_task(
            f"Render {variant}.{kind}",
            templates / f"vault.{kind}.j2",
            out_dir / f"{variant}.{kind}",
            overrides,
        )
        for variant, overrides in VARIANTS.items()
        for kind in ("hcl", "service")
    ] + [
        _template_task(
            f"Render policy {policy}",
            templates / "policies" / f"{policy}.hcl.j2",
            out_dir / f"policy-{policy}.hcl",
            {},
        )
        for policy in POLICIES
    ]
    play = {
        "name": "Render the vault role's templates",
        "hosts": HOST,
        "gather_facts": False,
        "vars_files": [str(ROLE / "defaults" / "main.yml"), str(ROLE / "vars" / "main.yml")],
        "tasks": tasks,
    }
    return yaml.safe_dump([play], sort_keys=False)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory holding every rendered file, made by one ansible-playbook run."""
    work = tmp_path_factory.mktemp("vault-render")
    out_dir = work / "out"
    out_dir.mkdir()
    playbook = work / "render.yml"
    playbook.write_text(render_playbook(out_dir), encoding="utf-8")
    result = ansible_playbook(
        str(playbook),
        inventory=f"{HOST},",
        extra_args=("--connection=local", "-e", f"ansible_python_interpreter={sys.executable}"),
        tmp_path=work,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out_dir
