"""What the backend's Vault client expects of the manifests, checked on every render.

The backend (app/backend/settings.py) reads the pod's ServiceAccount JWT at VAULT_JWT_PATH and
logs in to Vault's Kubernetes auth as the role bound to the ServiceAccount `backend`, audience
`vault`. The manifests must mount that token where the default setting points; and, since only
app_deploy adds the egress rule to Vault (app_deploy_backend_vault_addr), no render of manifests/
alone may let the backend reach an outside address.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from app.backend.settings import Settings
from tests.manifests.conftest import Rendered


def _backend_pod(rendered: Rendered) -> dict:
    return rendered.named("Deployment", "backend")["spec"]["template"]["spec"]


def test_the_vault_token_is_mounted_where_the_backend_reads_it(rendered: Rendered) -> None:
    jwt_path = PurePosixPath(Settings(_env_file=None).vault_jwt_path)  # type: ignore[call-arg]
    pod = _backend_pod(rendered)
    assert pod["serviceAccountName"] == "backend"
    [container] = pod["containers"]
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == str(jwt_path.parent)]
    assert mount.get("readOnly") is True
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    [source] = volume["projected"]["sources"]
    token = source["serviceAccountToken"]
    assert token["path"] == jwt_path.name
    assert token["audience"] == "vault"


def test_no_render_lets_the_backend_reach_an_outside_address(rendered: Rendered) -> None:
    policy = rendered.named("NetworkPolicy", "backend")
    peers = [peer for rule in policy["spec"]["egress"] for peer in rule.get("to", [])]
    assert peers, "the backend's egress rules lost their peers"
    assert not [peer for peer in peers if "ipBlock" in peer], peers


def test_the_config_map_sets_no_vault_address(rendered: Rendered) -> None:
    [config] = [
        obj
        for obj in rendered.of_kind("ConfigMap")
        if obj["metadata"]["name"].startswith("backend-config")
    ]
    assert not [key for key in config["data"] if key.startswith("VAULT_")]
