"""The one secrets mechanism: the roles' secret variables default to platform_secrets, which holds
the ansible-vault variables secret_<name>_<key>, or what Vault holds when a role reads its secrets
with platform_secrets_source vault (roles/platform, tasks/secrets.yml).

No Vault runs here and none is faked: the `vault` source is shown to be lazy (the roles' defaults
resolve with Vault unreachable, and only the secrets step contacts it) and to reach for the right
path when a role reads (a real community.hashi_vault lookup against a closed port names it).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.playbooks.conftest import ROOT

pytestmark = pytest.mark.integration

ROLES = ("app_deploy", "elk", "jenkins")


def run_play(
    tasks: list[dict], tmp_path: Path, token: str = "", **extra_vars: object
) -> subprocess.CompletedProcess:
    """A play on localhost beside the project's group_vars: the platform role, then `tasks`.

    The roles' defaults are loaded the way the playbooks load them, from the play's role list; the
    roles themselves are skipped (`when: false`), so nothing is checked or changed.
    """
    play_dir = tmp_path / "play"
    play_dir.mkdir(exist_ok=True)
    if not (play_dir / "group_vars").exists():
        (play_dir / "group_vars").symlink_to(ROOT / "group_vars")
    playbook = play_dir / "play.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Resolve",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "roles": [{"role": "platform"}]
                    + [{"role": role, "when": False} for role in ROLES],
                    "tasks": tasks,
                }
            ]
        ),
        encoding="utf-8",
    )
    vars_file = tmp_path / "extra.json"
    vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_STDOUT_CALLBACK": "json"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_ROLES_PATH"] = str(ROOT / "roles")
    env.pop("VAULT_TOKEN", None)
    if token:
        env["VAULT_TOKEN"] = token
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventories/local",
         str(playbook), "-e", f"@{vars_file}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def resolve(expression: str, tmp_path: Path, **extra_vars: object) -> object:
    """The value of one expression, as the roles' tasks see it."""
    show = {"name": "Show", "ansible.builtin.debug": {"msg": f"{{{{ {expression} | to_json }}}}"}}
    result = run_play([show], tmp_path, **extra_vars)
    assert result.returncode == 0, result.stdout + result.stderr
    [task] = [
        t for t in json.loads(result.stdout)["plays"][0]["tasks"] if t["task"]["name"] == "Show"
    ]
    [host] = task["hosts"].values()
    return json.loads(host["msg"])


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_default_source_is_vars_with_nothing_set(tmp_path: Path) -> None:
    values = resolve(
        "[platform_secrets_source, app_deploy_postgres_password, elk_elastic_password,"
        " jenkins_admin_password, app_deploy_kubernetes_es_username]",
        tmp_path,
    )
    assert values == ["vars", "", "", "", ""]


def test_vars_come_from_the_vault_prefixed_variables(tmp_path: Path) -> None:
    # Random values: nothing secret-looking is written in this file.
    names = [
        "secret_backend_database_password",
        "secret_backend_es_password",
        "secret_elasticsearch_elastic_password",
        "secret_jenkins_admin_password",
    ]
    given = {name: secrets.token_urlsafe(12) for name in names}
    values = resolve(
        "[app_deploy_postgres_password, app_deploy_kubernetes_es_username,"
        " app_deploy_kubernetes_es_password, elk_shipper_username, elk_shipper_password,"
        " elk_elastic_password, jenkins_admin_password]",
        tmp_path,
        **given,
    )
    database, es, elastic, admin = (given[name] for name in names)
    shipper = "rotten_potatoes_shipper"
    assert values == [database, shipper, es, shipper, es, elastic, admin]


def test_a_role_variable_set_directly_wins_over_the_secret(tmp_path: Path) -> None:
    given, direct = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    values = resolve(
        "[app_deploy_postgres_password, elk_elastic_password]",
        tmp_path,
        secret_backend_database_password=given,
        app_deploy_postgres_password=direct,
    )
    assert values == [direct, ""]


def test_the_vault_source_asks_vault_only_when_a_role_reads_its_secrets(tmp_path: Path) -> None:
    addr = f"http://127.0.0.1:{closed_port()}"
    vault = {"platform_secrets_source": "vault", "platform_vault_addr": addr}
    unrelated = resolve("[platform_secrets_source, app_deploy_target]", tmp_path, **vault)
    assert unrelated == ["vault", "kubernetes"]

    token = "hvs.made-up-" + secrets.token_hex(8)
    read = {
        "name": "Read the secrets elk needs",
        "ansible.builtin.include_role": {"name": "platform", "tasks_from": "secrets.yml"},
        "vars": {"platform_secrets_needed": ["elasticsearch"]},
    }
    used = run_play([read], tmp_path, token=token, **vault)
    output = used.stdout + used.stderr
    assert used.returncode != 0, output
    assert token not in output
    assert "cannot read the secret(s) secret/rotten-potatoes/elasticsearch" in output
    assert "/v1/secret/data/rotten-potatoes/elasticsearch" in output
    assert "Connection refused" in output


def test_the_jenkins_job_builds_the_checkout_origin(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    origin = "https://git.example.internal/team/rotten-potatoes.git"
    subprocess.run(["git", "init", "--quiet", str(checkout)], check=True)
    subprocess.run(["git", "-C", str(checkout), "remote", "add", "origin", origin], check=True)
    with_origin = resolve("jenkins_job_repository", tmp_path, platform_project_dir=str(checkout))
    assert with_origin == origin
    without = resolve(
        "jenkins_job_repository", tmp_path, platform_project_dir=str(tmp_path / "none")
    )
    assert without == ""
