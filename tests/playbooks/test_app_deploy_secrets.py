"""app_deploy's secrets, through the platform's one secrets mechanism (roles/platform,
tasks/secrets.yml, which app_deploy runs first for its secret `backend`), and the backend's own
Vault settings, offline.

No Vault runs here and none is faked: the `vars` source is exercised for real; the `vault` source
is checked up to the point where it needs a server (the address checks, and a real
community.hashi_vault lookup against a closed port, which must fail with a message naming the
address and the path but no token). The read from a live Vault is the vault role's `online`
scenario. Like test_app_deploy_kubernetes.py, every run points at a kubeconfig whose API server
is a closed port, so a run that went as far as the cluster would show it.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import yaml

from tests.playbooks.conftest import recap_changed
from tests.playbooks.test_app_deploy_kubernetes import (
    API_KEY,
    CLUSTER_TASK,
    ES_PASSWORD,
    PASSWORD,
    SECRETS,
    _base_vars,
    _closed_port,
    _flat,
    _run_role,
    keep_render_task,
    kubeconfig,  # noqa: F401 - the fixture, shared
)

pytestmark = pytest.mark.integration

RENDER = "app_deploy_kubernetes_render"


def test_the_vars_source_uses_the_variables(
    tmp_path: Path,
    kubeconfig: tuple[Path, str],  # noqa: F811
) -> None:
    path, _ = kubeconfig
    check = [
        {
            "name": "Check the resolved secret values",
            "ansible.builtin.assert": {
                "that": [
                    "app_deploy_postgres_password == secret_backend_database_password",
                    "app_deploy_api_key == secret_backend_api_key",
                    "app_deploy_kubernetes_es_username == 'rotten_potatoes_shipper'",
                    "app_deploy_kubernetes_es_password == secret_backend_es_password",
                ],
                "quiet": True,
            },
            "tags": [RENDER],
        }
    ]
    # The ansible-vault variables, not the role's: its defaults take them from platform_secrets.
    extra_vars = {
        key: value
        for key, value in _base_vars(path).items()
        if key not in ("app_deploy_postgres_password", "app_deploy_api_key")
        and not key.startswith("app_deploy_kubernetes_es_")
    }
    extra_vars |= {
        "secret_backend_database_password": PASSWORD,
        "secret_backend_api_key": API_KEY,
        "secret_backend_es_password": ES_PASSWORD,
    }
    result = _run_role(tmp_path, extra_vars, tags=RENDER, post_tasks=check)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Check the resolved secret values" in output
    assert recap_changed(result.stdout) == 0
    for secret in SECRETS:
        assert secret not in output


VAULT_BAD_INPUT = [
    pytest.param(
        {"platform_vault_addr": ""},
        ["platform_secrets_source is vault, so platform_vault_addr must be the Vault server's URL"],
        id="no-address",
    ),
    pytest.param(
        {"platform_vault_addr": "vault-01:8200"},
        ["got 'vault-01:8200'"],
        id="address-without-scheme",
    ),
    pytest.param(
        {
            "platform_vault_addr": "https://vault.example:8200",
            "platform_vault_auth_method": "approle",
        },
        [
            "platform_vault_auth_method is approle: set platform_vault_role_id and "
            "platform_vault_secret_id"
        ],
        id="approle-without-ids",
    ),
    pytest.param(
        {
            "platform_vault_addr": "https://vault.example:8200",
            "platform_vault_ca_cert": "/nonexistent/ca.pem",
        },
        ["platform_vault_ca_cert '/nonexistent/ca.pem' is not a file on the control node"],
        id="missing-ca-file",
    ),
]


@pytest.mark.parametrize(("overrides", "expected"), VAULT_BAD_INPUT)
def test_the_vault_source_checks_its_settings_first(
    tmp_path: Path,
    kubeconfig: tuple[Path, str],  # noqa: F811
    overrides: dict,
    expected: list[str],
) -> None:
    path, server = kubeconfig
    extra_vars = _base_vars(path, platform_secrets_source="vault", **overrides)
    result = _run_role(tmp_path, extra_vars)
    output = _flat(result)
    assert result.returncode != 0, output
    for text in expected:
        assert text in output, output
    assert "Read the KV v2 secret" not in output, "the role went on to Vault"
    assert CLUSTER_TASK not in output and server not in output
    for secret in SECRETS:
        assert secret not in output


def test_an_unreachable_vault_names_the_address_and_the_path(
    tmp_path: Path,
    kubeconfig: tuple[Path, str],  # noqa: F811
) -> None:
    path, server = kubeconfig
    addr = f"http://127.0.0.1:{_closed_port()}"
    token = "hvs." + secrets.token_urlsafe(24)
    extra_vars = _base_vars(
        path,
        platform_secrets_source="vault",
        platform_vault_addr=addr,
        platform_vault_token=token,
        platform_vault_timeout=5,
    )
    result = _run_role(tmp_path, extra_vars)
    output = _flat(result)
    assert result.returncode != 0, output
    assert (
        f"cannot read the secret(s) secret/rotten-potatoes/backend from Vault at {addr} "
        "(token auth)"
    ) in output, output
    assert "Connection refused" in output
    assert token not in output
    assert CLUSTER_TASK not in output and server not in output


def _ca_file(tmp_path: Path) -> Path:
    # Only its bytes travel (into a ConfigMap); kustomize does not parse it.
    ca = tmp_path / "vault-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nTUlJQw==\n-----END CERTIFICATE-----\n")
    return ca


def _render(tmp_path: Path, extra_vars: dict) -> list[dict]:
    rendered_file = tmp_path / "rendered.yaml"
    result = _run_role(
        tmp_path, extra_vars, tags=RENDER, post_tasks=[keep_render_task(rendered_file)]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return [obj for obj in yaml.safe_load_all(rendered_file.read_text()) if obj]


def _one(objects: list[dict], kind: str, name: str) -> dict:
    """The object of that kind named `name`, or `name-<hash>` (a generated ConfigMap)."""
    [found] = [
        obj
        for obj in objects
        if obj["kind"] == kind
        and (obj["metadata"]["name"] == name or obj["metadata"]["name"].rsplit("-", 1)[0] == name)
    ]
    return found


def test_the_backend_reads_vault_itself_on_kubernetes(
    tmp_path: Path,
    kubeconfig: tuple[Path, str],  # noqa: F811
) -> None:
    path, _ = kubeconfig
    ca = _ca_file(tmp_path)
    objects = _render(
        tmp_path,
        _base_vars(
            path,
            app_deploy_backend_vault_addr="https://vault-01.example.internal:8200",
            app_deploy_backend_vault_egress_cidrs=["192.0.2.10/32"],
            app_deploy_backend_vault_ca_cert=str(ca),
        ),
    )
    config = _one(objects, "ConfigMap", "backend-config")["data"]
    assert config["VAULT_ADDR"] == "https://vault-01.example.internal:8200"
    assert config["VAULT_AUTH_METHOD"] == "kubernetes"
    assert config["VAULT_KUBERNETES_ROLE"] == "rotten-potatoes-backend"
    assert config["VAULT_KV_MOUNT"] == "secret"
    assert config["VAULT_SECRET_PATH"] == "rotten-potatoes/backend"  # noqa: S105 - a path
    assert config["VAULT_CACERT"] == "/etc/rotten-potatoes/vault-ca/ca.crt"
    assert "ES_URL" in config, "the overlay's own settings were dropped"

    policy = _one(objects, "NetworkPolicy", "backend")
    assert policy["spec"]["egress"][-1] == {
        "to": [{"ipBlock": {"cidr": "192.0.2.10/32"}}],
        "ports": [{"protocol": "TCP", "port": 8200}],
    }

    ca_map = _one(objects, "ConfigMap", "vault-ca")
    assert ca_map["data"]["ca.crt"] == ca.read_text()
    pod = _one(objects, "Deployment", "backend")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "vault-ca")
    assert volume["configMap"]["name"] == ca_map["metadata"]["name"], "the hashed name is used"
    [container] = pod["containers"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "vault-ca")
    assert mount == {
        "name": "vault-ca",
        "mountPath": "/etc/rotten-potatoes/vault-ca",
        "readOnly": True,
    }


def test_by_default_the_backend_gets_no_vault_rule(
    tmp_path: Path,
    kubeconfig: tuple[Path, str],  # noqa: F811
) -> None:
    path, _ = kubeconfig
    objects = _render(tmp_path, _base_vars(path))
    config = _one(objects, "ConfigMap", "backend-config")["data"]
    assert not [key for key in config if key.startswith("VAULT_")]
    egress = _one(objects, "NetworkPolicy", "backend")["spec"]["egress"]
    assert not [rule for rule in egress for peer in rule["to"] if "ipBlock" in peer]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param(
            {"app_deploy_backend_vault_egress_cidrs": []},
            "app_deploy_backend_vault_egress_cidrs must list the Vault server's addresses as CIDRs",
            id="no-cidrs",
        ),
        pytest.param(
            {"app_deploy_backend_vault_egress_cidrs": ["vault-01.example.internal"]},
            'got ["vault-01.example.internal"]',
            id="host-name-not-cidr",
        ),
        pytest.param(
            {"app_deploy_backend_vault_addr": "vault-01:8200"},
            "app_deploy_backend_vault_addr must be Vault's URL",
            id="address-without-scheme",
        ),
    ],
)
def test_the_backends_vault_settings_are_checked(
    tmp_path: Path,
    kubeconfig: tuple[Path, str],  # noqa: F811
    overrides: dict,
    expected: str,
) -> None:
    path, server = kubeconfig
    backend_vault = {
        "app_deploy_backend_vault_addr": "https://vault-01.example.internal:8200",
        "app_deploy_backend_vault_egress_cidrs": ["192.0.2.10/32"],
    }
    extra_vars = _base_vars(path, **{**backend_vault, **overrides})
    result = _run_role(tmp_path, extra_vars)
    output = _flat(result)
    assert result.returncode != 0, output
    assert expected in output, output
    assert CLUSTER_TASK not in output and server not in output


def test_the_docker_target_needs_a_token_file_for_the_backend(
    tmp_path: Path,
    kubeconfig: tuple[Path, str],  # noqa: F811
) -> None:
    path, _ = kubeconfig
    extra_vars = _base_vars(
        path,
        app_deploy_target="docker",
        app_deploy_backend_vault_addr="https://vault-01.example.internal:8200",
        app_deploy_backend_vault_token_file="vault-token",  # noqa: S106 - a relative path
    )
    result = _run_role(tmp_path, extra_vars)
    output = _flat(result)
    assert result.returncode != 0, output
    assert (
        "app_deploy_backend_vault_token_file must be the absolute path of a Vault token file on "
        "the app host (mounted read-only into the backend), got 'vault-token'"
    ) in output, output
    assert "Install the Docker modules" not in output
    assert recap_changed(result.stdout) == 0
