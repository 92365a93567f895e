"""Settings layered the way Ansible users expect, and the platform's one supported-OS list.

The overridable settings are role defaults (roles/platform, and each role's own), the lowest
precedence: an override in any inventory's group_vars/all reaches the plays and the roles, with no
wrapper group, although the top-level group_vars/ (playbook group_vars) sits beside the playbooks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.playbooks.conftest import ROOT

INVENTORIES = sorted(
    p.name for p in (ROOT / "inventories").iterdir() if (p / "hosts.yml").is_file()
)
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir())
PLATFORM = ROOT / "roles" / "platform"
CODENAMES = {
    "Debian": {"12": "bookworm", "13": "trixie"},
    "Ubuntu": {"22.04": "jammy", "24.04": "noble"},
}
# Set in each inventory's group_vars/all: a platform setting, which a role follows through its
# defaults, and a role's own variable.
OVERRIDES = {
    "platform_ports": {
        "mlflow": 5123,
        "api": 8123,
        "web": 8523,
        "web_nodeport": 30001,
        "kibana_nodeport": 30002,
    },
    "kubectl_version": "1.36.1",
}


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _with_overrides(inventory: Path) -> None:
    """Add OVERRIDES to the inventory's group_vars/all, wherever the inventory keeps it."""
    group_vars = inventory / "group_vars"
    group_vars.mkdir(exist_ok=True)
    if (group_vars / "all").is_dir():
        (group_vars / "all" / "zz-test-overrides.yml").write_text(yaml.safe_dump(OVERRIDES))
    elif (group_vars / "all.yml").is_file():
        data = _load(group_vars / "all.yml")
        (group_vars / "all.yml").write_text(yaml.safe_dump({**data, **OVERRIDES}))
    else:
        (group_vars / "all.yml").write_text(yaml.safe_dump(OVERRIDES))


def _values(inventory: Path, tmp_path: Path) -> dict[str, list]:
    """Per host, what a play that applies the platform role and loads three roles sees."""
    play_dir = tmp_path / "play"
    play_dir.mkdir()
    # The project's group_vars beside the playbook, as beside playbooks/*.yml and site.yml.
    (play_dir / "group_vars").symlink_to(ROOT / "group_vars")
    show = (
        "[platform_ports.mlflow, mlflow_port, app_deploy_backend_port, kubectl_version,"
        " app_deploy_target]"
    )
    play = {
        "name": "Show the settings",
        "hosts": "all",
        "gather_facts": False,
        "roles": [{"role": "platform"}]
        + [{"role": role, "when": False} for role in ("mlflow", "app_deploy", "kubectl")],
        "tasks": [
            {"name": "Show", "ansible.builtin.debug": {"msg": f"{{{{ {show} | to_json }}}}"}}
        ],
    }
    (play_dir / "play.yml").write_text(yaml.safe_dump([play]))
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_STDOUT_CALLBACK": "json"}
    env["ANSIBLE_ROLES_PATH"] = str(ROOT / "roles")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), "play.yml"],
        cwd=play_dir, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [task] = [
        t for t in json.loads(result.stdout)["plays"][0]["tasks"] if t["task"]["name"] == "Show"
    ]
    return {host: json.loads(answer["msg"]) for host, answer in task["hosts"].items()}


@pytest.mark.integration
@pytest.mark.parametrize("inventory", INVENTORIES)
def test_an_override_in_the_inventorys_group_vars_all_takes_effect(
    inventory: str, tmp_path: Path
) -> None:
    copy = tmp_path / inventory
    shutil.copytree(ROOT / "inventories" / inventory, copy)
    own = {}
    for path in [
        copy / "group_vars" / "all.yml",
        *sorted((copy / "group_vars" / "all").glob("*.yml")),
    ]:
        if path.is_file():
            own |= _load(path)
    _with_overrides(copy)
    values = _values(copy, tmp_path)
    assert values, f"inventories/{inventory} has no hosts"
    target = own.get("platform_deploy_target", "kubernetes")
    for host, seen in values.items():
        # A platform setting, two roles wired to it, a role variable, the inventory's own.
        assert seen == [5123, 5123, 8123, "1.36.1", target], f"{inventory}/{host}: {seen}"


def test_the_top_level_group_vars_hold_nothing_an_inventory_could_override() -> None:
    fixed = set(_load(ROOT / "group_vars" / "all.yml"))
    overridable = set(_load(PLATFORM / "defaults" / "main.yml"))
    for role in ROLES:
        overridable |= set(_load(ROOT / "roles" / role / "defaults" / "main.yml"))
    assert not fixed & overridable, (
        f"group_vars/all.yml would shadow inventories: {fixed & overridable}"
    )


def test_no_inventory_needs_a_wrapper_group() -> None:
    for inventory in INVENTORIES:
        group_vars = ROOT / "inventories" / inventory / "group_vars"
        files = [p.name for p in group_vars.iterdir()] if group_vars.is_dir() else []
        assert set(files) <= {"all", "all.yml", "vault.yml.example"}, f"{inventory}: {files}"


def test_every_role_names_the_supported_releases_of_the_one_list() -> None:
    supported = _load(PLATFORM / "vars" / "main.yml")["platform_supported_os"]
    expected = {
        distribution: sorted(CODENAMES[distribution][str(version)] for version in versions)
        for distribution, versions in supported.items()
    }
    for role in ROLES:
        platforms = _load(ROOT / "roles" / role / "meta" / "main.yml")["galaxy_info"]["platforms"]
        named = {entry["name"]: sorted(entry["versions"]) for entry in platforms}
        assert named == expected, (
            f"roles/{role}/meta/main.yml names {named}, the list is {expected}"
        )


# They install nothing on a host: the build host's Docker engine and git, or the cluster's and the
# services' APIs from the control node (or the API host).
INSTALLS_NOTHING = {"platform", "elk", "image_build", "stress_test"}


def test_every_role_that_installs_checks_the_os_against_the_one_list() -> None:
    for role in ROLES:
        variables = [
            name for path in (ROOT / "roles" / role).glob("vars/*.yml") for name in _load(path)
        ]
        own = [name for name in variables if "supported" in name and role != "platform"]
        assert not own, f"roles/{role}/vars keeps an OS list of its own: {own}"
        if role in INSTALLS_NOTHING:
            continue
        tasks = "\n".join(
            path.read_text(encoding="utf-8")
            for path in (ROOT / "roles" / role / "tasks").rglob("*.yml")
        )
        assert "tasks_from: supported_os.yml" in tasks, f"roles/{role} does not check the OS"
