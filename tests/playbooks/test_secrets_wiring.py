"""group_vars/all.yml's secrets section: the roles' secret variables, from secret_* variables
(ansible-vault) or from Vault lookups that run only when a variable is used.

No Vault runs here and none is faked: the `vault` source is shown to be lazy (an unrelated
variable resolves with Vault unreachable) and to reach for the right path when used (a real
community.hashi_vault lookup against a closed port names it).
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

from tests.playbooks.conftest import ROOT

pytestmark = pytest.mark.integration


def resolve(
    expression: str, tmp_path: Path, token: str = "", **extra_vars: object
) -> subprocess.CompletedProcess:
    """`ansible` ad hoc on localhost with the project's group_vars, printing one expression."""
    vars_file = tmp_path / "extra.json"
    vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
    binary = Path(sys.executable).parent / "ansible"
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_STDOUT_CALLBACK": "json"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_LOAD_CALLBACK_PLUGINS"] = "1"
    env.pop("VAULT_TOKEN", None)
    if token:
        env["VAULT_TOKEN"] = token
    return subprocess.run(
        [str(binary), "-i", "inventories/local", "localhost", "--playbook-dir", ".",
         "-m", "ansible.builtin.debug", "-a", f"msg={{{{ {expression} | to_json }}}}",
         "-e", f"@{vars_file}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def message(result: subprocess.CompletedProcess) -> object:
    assert result.returncode == 0, result.stdout + result.stderr
    payload = json.loads(result.stdout)
    [host] = payload["plays"][0]["tasks"][0]["hosts"].values()
    return json.loads(host["msg"])


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_default_source_is_vars_with_nothing_set(tmp_path: Path) -> None:
    values = message(
        resolve(
            "[rotten_potatoes_secrets_source, app_deploy_secrets_source,"
            " app_deploy_postgres_password, elk_elastic_password, jenkins_admin_password,"
            " app_deploy_kubernetes_es_username]",
            tmp_path,
        )
    )
    assert values == ["vars", "vars", "", "", "", ""]


def test_vars_come_from_the_vault_prefixed_variables(tmp_path: Path) -> None:
    # Random values: nothing secret-looking is written in this file.
    names = [
        "secret_backend_database_password",
        "secret_backend_es_password",
        "secret_elasticsearch_elastic_password",
        "secret_jenkins_admin_password",
    ]
    given = {name: secrets.token_urlsafe(12) for name in names}
    values = message(
        resolve(
            "[app_deploy_postgres_password, app_deploy_kubernetes_es_username,"
            " app_deploy_kubernetes_es_password, elk_shipper_username, elk_shipper_password,"
            " elk_elastic_password, jenkins_admin_password]",
            tmp_path,
            **given,
        )
    )
    database, es, elastic, admin = (given[name] for name in names)
    shipper = "rotten_potatoes_shipper"
    assert values == [database, shipper, es, shipper, es, elastic, admin]


def test_the_vault_source_asks_vault_only_when_a_secret_is_used(tmp_path: Path) -> None:
    addr = f"http://127.0.0.1:{closed_port()}"
    vault = {"rotten_potatoes_secrets_source": "vault", "rotten_potatoes_vault_addr": addr}
    unrelated = message(
        resolve("[rotten_potatoes_name, app_deploy_secrets_source]", tmp_path, **vault)
    )
    assert unrelated == ["rotten-potatoes", "vault"]

    token = "hvs.made-up-" + secrets.token_hex(8)
    used = resolve("elk_elastic_password", tmp_path, token=token, **vault)
    output = used.stdout + used.stderr
    assert used.returncode != 0, output
    assert token not in output
    assert "/v1/secret/data/rotten-potatoes/elasticsearch" in output
    assert "Connection refused" in output


def test_the_jenkins_job_builds_the_checkout_origin(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    origin = "https://git.example.internal/team/rotten-potatoes.git"
    subprocess.run(["git", "init", "--quiet", str(checkout)], check=True)
    subprocess.run(["git", "-C", str(checkout), "remote", "add", "origin", origin], check=True)
    with_origin = resolve(
        "jenkins_job_repository", tmp_path, rotten_potatoes_project_dir=str(checkout)
    )
    assert message(with_origin) == origin
    without = resolve(
        "jenkins_job_repository", tmp_path, rotten_potatoes_project_dir=str(tmp_path / "none")
    )
    assert message(without) == ""
