"""vault.hcl, the unit and the policies, rendered by Ansible and parsed by a real HCL parser."""

from __future__ import annotations

from configparser import ConfigParser
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.vault.conftest import HOST, POLICIES, VARIANTS

pytestmark = pytest.mark.integration


def _unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of string literals and block labels: strip them."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, list):
        return [_unquote(item) for item in value]
    if isinstance(value, dict):
        return {
            _unquote(key): _unquote(item) for key, item in value.items() if key != "__is_block__"
        }
    return value


def _parse(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return _unquote(hcl2.load(handle))


def _block(document: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    """The single labelled block of that kind (storage "raft" {...}) as (label, body)."""
    blocks = document[kind]
    assert len(blocks) == 1, f"expected one {kind} block, got {blocks}"
    ((label, body),) = blocks[0].items()
    return label, body


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_config_parses_with_the_top_level_settings(rendered: Path, variant: str) -> None:
    config = _parse(rendered / f"{variant}.hcl")
    overrides = VARIANTS[variant]
    tls = overrides.get("vault_tls_enabled", True)
    assert config["api_addr"] == f"{'https' if tls else 'http'}://{HOST}:8200"
    assert config["cluster_addr"] == f"https://{HOST}:8201"
    assert config["ui"] is overrides.get("vault_ui", True)
    assert config["disable_mlock"] is overrides.get("vault_disable_mlock", True)
    assert config["log_level"] == "info"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_storage_block_matches_the_storage_type(rendered: Path, variant: str) -> None:
    label, storage = _block(_parse(rendered / f"{variant}.hcl"), "storage")
    assert label == VARIANTS[variant].get("vault_storage_type", "raft")
    assert storage["path"] == "/opt/vault/data"
    if label == "raft":
        assert storage["node_id"] == HOST
    else:
        assert "node_id" not in storage


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_listener_has_tls_unless_turned_off(rendered: Path, variant: str) -> None:
    label, listener = _block(_parse(rendered / f"{variant}.hcl"), "listener")
    assert label == "tcp"
    address = VARIANTS[variant].get("vault_listen_address", "0.0.0.0")  # noqa: S104 - the role's default
    assert listener["address"] == f"{address}:8200"
    assert listener["cluster_address"] == f"{address}:8201"
    if VARIANTS[variant].get("vault_tls_enabled", True):
        assert listener["tls_disable"] is False
        assert listener["tls_cert_file"] == "/etc/vault.d/tls/vault.crt"
        assert listener["tls_key_file"] == "/etc/vault.d/tls/vault.key"
        assert listener["tls_min_version"] == "tls12"
    else:
        assert listener["tls_disable"] is True
        assert "tls_cert_file" not in listener


@pytest.mark.parametrize("policy", POLICIES)
def test_policies_parse_and_only_read(rendered: Path, policy: str) -> None:
    document = _parse(rendered / f"policy-{policy}.hcl")
    paths = {label: body for block in document["path"] for label, body in block.items()}
    assert paths, f"{policy} has no path rules"
    for rule in paths.values():
        assert set(rule["capabilities"]) <= {"read", "list"}, rule
    if policy == "rotten-potatoes-backend":
        assert paths == {"secret/data/rotten-potatoes/backend": {"capabilities": ["read"]}}
    else:
        assert paths["secret/data/rotten-potatoes/*"] == {"capabilities": ["read"]}


def _unit(path: Path) -> ConfigParser:
    parser = ConfigParser(strict=False, interpolation=None, comment_prefixes=("#",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return parser


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_unit_runs_vault_unprivileged_with_only_ipc_lock(rendered: Path, variant: str) -> None:
    service = _unit(rendered / f"{variant}.service")["Service"]
    assert service["User"] == "vault"
    assert service["ExecStart"] == "/usr/local/bin/vault server -config=/etc/vault.d/vault.hcl"
    assert service["CapabilityBoundingSet"] == "CAP_IPC_LOCK"
    assert service["AmbientCapabilities"] == "CAP_IPC_LOCK"
    assert service["LimitMEMLOCK"] == "infinity"
    assert service["NoNewPrivileges"] == "true"
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == "/opt/vault/data"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
