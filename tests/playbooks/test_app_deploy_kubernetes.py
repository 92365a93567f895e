"""app_deploy's kubernetes target, offline: what it checks and renders before any cluster.

No cluster runs here. Each run points the role at a kubeconfig whose API server is a closed port
on 127.0.0.1, so a test that expects the role to stop before the cluster would see the cluster's
error instead if the role went too far. The full target (apply, rollout, smoke test, rollback)
is the Molecule scenario roles/app_deploy/molecule/online, against a real minikube.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.playbooks.conftest import ROOT, ansible_playbook, recap_changed

pytestmark = pytest.mark.integration

ROLE = ROOT / "roles" / "app_deploy"
TAG = "0123456789ab-m7"
DIGEST = "sha256:" + "0123456789abcdef" * 4
PASSWORD = "pw-test/with+chars&not-a-secret"  # noqa: S105 - a test value
API_KEY = "api-key-test-not-a-secret"
ES_PASSWORD = "es-password-test-not-a-secret"  # noqa: S105 - a test value
SECRETS = (PASSWORD, API_KEY, ES_PASSWORD)
# The first task that talks to the cluster; the offline checks must stop before it.
CLUSTER_TASK = "Ask the API server for the namespace"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def kubeconfig(tmp_path: Path) -> tuple[Path, str]:
    """A kubeconfig whose API server is a closed port on 127.0.0.1 (mode 0600, like a real one)."""
    server = f"https://127.0.0.1:{_closed_port()}"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "nowhere", "cluster": {"server": server}}],
        "users": [{"name": "nobody", "user": {"token": "not-a-token"}}],
        "contexts": [{"name": "nowhere", "context": {"cluster": "nowhere", "user": "nobody"}}],
        "current-context": "nowhere",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    path.chmod(0o600)
    return path, server


def _inventory(tmp_path: Path) -> Path:
    """This machine, with the venv's Python (it has the kubernetes client)."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        "localhost": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": sys.executable,
                        }
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    return inventory


def _base_vars(kubeconfig: Path, **overrides: object) -> dict:
    return {
        "app_deploy_target": "kubernetes",
        "app_deploy_backend_image": f"rotten-potatoes/backend:{TAG}",
        "app_deploy_frontend_image": f"rotten-potatoes/frontend:{TAG}",
        "app_deploy_postgres_image": f"rotten-potatoes/postgres:15-{TAG}",
        "app_deploy_postgres_password": PASSWORD,
        "app_deploy_api_key": API_KEY,
        "app_deploy_kubernetes_es_username": "elastic",
        "app_deploy_kubernetes_es_password": ES_PASSWORD,
        "app_deploy_kubernetes_kubeconfig": str(kubeconfig),
        **overrides,
    }


def _run_role(
    tmp_path: Path,
    extra_vars: dict,
    *,
    tags: str | None = None,
    post_tasks: list | None = None,
    extra_args: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    play: dict = {"hosts": "localhost", "gather_facts": False, "roles": [{"role": "app_deploy"}]}
    if post_tasks:
        play["post_tasks"] = post_tasks
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([play], sort_keys=False), encoding="utf-8")
    args = (*extra_args, "--tags", tags) if tags else extra_args
    return ansible_playbook(
        str(playbook),
        inventory=_inventory(tmp_path),
        extra_vars=extra_vars,
        extra_args=args,
        tmp_path=tmp_path,
        timeout=300,
    )


def keep_render_task(dest: Path) -> dict:
    """A post-task that writes the role's kustomize render to dest, for the test to read."""
    return {
        "name": "Keep the render for the test",
        "ansible.builtin.copy": {
            "content": "{{ _app_deploy_k8s_render.stdout }}",
            "dest": str(dest),
            "mode": "0600",
        },
        "changed_when": False,
        "tags": ["app_deploy_kubernetes_render"],
    }


def _flat(result: subprocess.CompletedProcess[str]) -> str:
    return " ".join((result.stdout + result.stderr).split())


# --- (1) wrong variables stop the role before any cluster ----------------------------------------

BAD_INPUT = [
    pytest.param(
        {"app_deploy_backend_image": None, "app_deploy_frontend_image": None},
        [
            "Set app_deploy_backend_image and app_deploy_frontend_image",
            "app_deploy_target is kubernetes",
        ],
        id="missing-images",
    ),
    pytest.param(
        {"app_deploy_kubernetes_overlay": "staging"},
        ["app_deploy_kubernetes_overlay is 'staging'", "minikube or production"],
        id="unknown-overlay-name",
    ),
    pytest.param(
        {"app_deploy_kubernetes_overlay": "{tmp}/no-overlay"},
        ["app_deploy_kubernetes_overlay '{tmp}/no-overlay'", "has no kustomization.yaml"],
        id="overlay-path-without-kustomization",
    ),
    pytest.param(
        {"app_deploy_frontend_image": "rotten-potatoes/frontend:latest"},
        ["app_deploy_frontend_image='rotten-potatoes/frontend:latest'", "a tag other than latest"],
        id="latest-tag",
    ),
    pytest.param(
        {"app_deploy_backend_image": "rotten-potatoes/backend"},
        ["app_deploy_backend_image='rotten-potatoes/backend'", "or a digest"],
        id="untagged-image",
    ),
    pytest.param(
        {"app_deploy_postgres_password": ""},
        ["app_deploy_postgres_password is not set", "the kubernetes target needs"],
        id="empty-password",
    ),
    pytest.param(
        {"app_deploy_kubernetes_smoke_mode": "nodeport"},
        ["nodeport needs app_deploy_kubernetes_node_address"],
        id="nodeport-without-address",
    ),
    pytest.param(
        {"app_deploy_kubernetes_smoke_mode": "ingress"},
        ["app_deploy_kubernetes_smoke_mode", "one of"],
        id="smoke-mode-not-a-choice",
    ),
    pytest.param(
        {"app_deploy_mlflow_enabled": True},
        ["app_deploy runs no MLflow: the mlflow role runs the tracking server"],
        id="mlflow-enabled",
    ),
    pytest.param(
        {"app_deploy_kubernetes_es_password": ""},
        ["app_deploy_kubernetes_es_username and app_deploy_kubernetes_es_password are set"],
        id="es-username-without-password",
    ),
    pytest.param(
        {"app_deploy_backend_env": {"ES_PASSWORD": "x"}},
        ["must not set ES_PASSWORD"],
        id="secret-in-backend-env",
    ),
    pytest.param(
        {"app_deploy_kubernetes_namespace": "Rotten_Potatoes"},
        ["app_deploy_kubernetes_namespace must be a DNS label"],
        id="bad-namespace",
    ),
]


@pytest.mark.parametrize(("overrides", "expected"), BAD_INPUT)
def test_wrong_variables_stop_before_the_cluster(
    tmp_path: Path, kubeconfig: tuple[Path, str], overrides: dict, expected: list[str]
) -> None:
    path, server = kubeconfig
    extra_vars = _base_vars(path)
    for name, value in overrides.items():
        if value is None:
            extra_vars.pop(name)
        else:
            extra_vars[name] = (
                value.replace("{tmp}", str(tmp_path)) if isinstance(value, str) else value
            )
    (tmp_path / "no-overlay").mkdir()
    result = _run_role(tmp_path, extra_vars)
    output = _flat(result)
    assert result.returncode != 0, output
    for text in expected:
        assert text.replace("{tmp}", str(tmp_path)) in output, output
    assert CLUSTER_TASK not in output, "the role went on to the cluster"
    assert server not in output
    assert recap_changed(result.stdout) == 0
    for secret in SECRETS:
        assert secret not in output


# --- (2) the render, without a cluster -----------------------------------------------------------

RENDERS = [
    pytest.param(
        "minikube",
        "rotten-potatoes",
        {
            "backend": f"rotten-potatoes/backend:{TAG}",
            "frontend": f"rotten-potatoes/frontend:{TAG}",
            "postgres": f"rotten-potatoes/postgres:15-{TAG}",
        },
        id="minikube",
    ),
    pytest.param(
        "production",
        "rp-staging",
        {
            "backend": f"registry.example.internal:5000/rotten-potatoes/backend:{TAG}",
            "frontend": f"registry.example.internal:5000/rotten-potatoes/frontend@{DIGEST}",
            "postgres": "postgres:16-bookworm",
        },
        id="production-registry-digest-namespace",
    ),
]


@pytest.mark.parametrize(("overlay", "namespace", "images"), RENDERS)
def test_render_sets_the_build_images_and_holds_no_secret(
    tmp_path: Path,
    kubeconfig: tuple[Path, str],
    overlay: str,
    namespace: str,
    images: dict[str, str],
) -> None:
    path, server = kubeconfig
    rendered_file = tmp_path / "rendered.yaml"
    scratch_file = tmp_path / "scratch-dir.txt"
    generated_file = tmp_path / "kustomization.yaml"
    extra_vars = _base_vars(
        path,
        app_deploy_kubernetes_overlay=overlay,
        app_deploy_kubernetes_namespace=namespace,
        app_deploy_backend_image=images["backend"],
        app_deploy_frontend_image=images["frontend"],
        app_deploy_postgres_image=images["postgres"],
        app_deploy_backend_log_level="DEBUG",
        app_deploy_backend_env={"STORE_TEXT": "true"},
    )
    keep = [
        keep_render_task(rendered_file),
        {
            "name": "Keep the generated kustomization for the test",
            "ansible.builtin.copy": {
                "content": "{{ _app_deploy_k8s_kustomization.content | b64decode }}",
                "dest": str(generated_file),
                "mode": "0600",
            },
            "changed_when": False,
            "tags": ["app_deploy_kubernetes_render"],
        },
        {
            "name": "Keep the scratch folder's path for the test",
            "ansible.builtin.copy": {
                "content": "{{ _app_deploy_k8s_render_dir.path }}",
                "dest": str(scratch_file),
                "mode": "0600",
            },
            "changed_when": False,
            "tags": ["app_deploy_kubernetes_render"],
        },
    ]
    result = _run_role(tmp_path, extra_vars, tags="app_deploy_kubernetes_render", post_tasks=keep)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert CLUSTER_TASK not in output and server not in output, "the render contacted the cluster"
    assert recap_changed(result.stdout) == 0

    text = rendered_file.read_text(encoding="utf-8")
    objects = [obj for obj in yaml.safe_load_all(text) if obj]
    assert "set-by-build" not in text
    workloads = [obj for obj in objects if obj["kind"] in {"Deployment", "StatefulSet"}]
    running = {
        container["name"]: container["image"]
        for workload in workloads
        for container in workload["spec"]["template"]["spec"]["containers"]
    }
    assert running == images, running
    namespaced = [obj for obj in objects if obj["kind"] != "Namespace"]
    assert {obj["metadata"]["namespace"] for obj in namespaced} == {namespace}
    assert [obj["metadata"]["name"] for obj in objects if obj["kind"] == "Namespace"] == [namespace]
    config_maps = [obj for obj in objects if obj["kind"] == "ConfigMap"]
    assert len(config_maps) == 1, [obj["metadata"]["name"] for obj in config_maps]
    assert config_maps[0]["data"]["LOG_LEVEL"] == "DEBUG"
    assert config_maps[0]["data"]["STORE_TEXT"] == "true"
    assert "ES_URL" in config_maps[0]["data"], "the overlay's own settings were dropped"
    assert not [obj for obj in objects if obj["kind"] == "Secret"]

    # The generated kustomization: the overlay by a relative path, the images by name and tag.
    generated_text = generated_file.read_text(encoding="utf-8")
    generated = yaml.safe_load(generated_text)
    assert generated["namespace"] == namespace
    [resource] = generated["resources"]
    assert not Path(resource).is_absolute(), resource
    scratch = Path(scratch_file.read_text(encoding="utf-8").strip())
    assert (scratch / resource).resolve() == ROOT / "manifests" / "overlays" / overlay
    entries = {Path(entry["name"]).name: entry for entry in generated["images"]}
    assert sorted(entries) == ["backend", "frontend", "postgres"]
    for component, reference in images.items():
        entry = entries[component]
        expected = (
            f"{entry['newName']}@{entry['digest']}"
            if "digest" in entry
            else (f"{entry['newName']}:{entry['newTag']}")
        )
        assert expected == reference, entry
    if overlay == "production":
        assert entries["backend"]["name"] == "registry.example.internal/rotten-potatoes/backend"

    for secret in SECRETS:
        assert secret not in text, "a secret is in the rendered objects"
        assert secret not in generated_text, "a secret is in the generated kustomization"
        assert secret not in output, "a secret is in the output"
    assert scratch.name.startswith("app_deploy_render.")
    assert not scratch.exists(), f"the scratch folder {scratch} was left behind"


def test_render_refuses_a_postgres_user_the_overlay_does_not_create(
    tmp_path: Path, kubeconfig: tuple[Path, str]
) -> None:
    path, _ = kubeconfig
    result = _run_role(
        tmp_path,
        _base_vars(path, app_deploy_postgres_user="someone_else"),
        tags="app_deploy_kubernetes_render",
    )
    output = _flat(result)
    assert result.returncode != 0, output
    assert "sets POSTGRES_USER 'rotten'" in output
    assert "app_deploy_postgres_user is 'someone_else'" in output


def test_nodeport_mode_needs_an_overlay_with_a_nodeport(
    tmp_path: Path, kubeconfig: tuple[Path, str]
) -> None:
    path, _ = kubeconfig
    result = _run_role(
        tmp_path,
        _base_vars(
            path,
            app_deploy_kubernetes_overlay="production",
            app_deploy_kubernetes_smoke_mode="nodeport",
            app_deploy_kubernetes_node_address="192.0.2.10",
        ),
        tags="app_deploy_kubernetes_render",
    )
    output = _flat(result)
    assert result.returncode != 0, output
    assert "the overlay's Service frontend has no nodePort" in output


# --- (3) a cluster that does not answer ----------------------------------------------------------


@pytest.mark.parametrize("context", ["", "nowhere"])
def test_unreachable_cluster_names_the_api_server_and_the_kubeconfig(
    tmp_path: Path, kubeconfig: tuple[Path, str], context: str
) -> None:
    path, server = kubeconfig
    result = _run_role(tmp_path, _base_vars(path, app_deploy_kubernetes_context=context))
    output = _flat(result)
    assert result.returncode != 0, output
    assert f"cannot use the Kubernetes API server {server} (kubeconfig {path}" in output, output
    assert (f"context {context}" if context else "its current context") in output
    assert "Connection refused" in output
    assert "Nothing was changed" in output
    assert recap_changed(result.stdout) == 0
    for secret in SECRETS:
        assert secret not in output


# --- The online scenario is only syntax-checked here ---------------------------------------------


def test_online_scenario_is_valid_and_left_out_of_make_molecule(tmp_path: Path) -> None:
    scenarios = sorted(p.name for p in (ROLE / "molecule").iterdir() if p.is_dir())
    assert "online" in scenarios
    # `make molecule` runs every scenario but the one named exactly `online`.
    offline = subprocess.run(
        ["grep", "-vx", "online"],
        input="\n".join(scenarios) + "\n",
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert "online" not in offline and "default" in offline
    config = yaml.safe_load((ROLE / "molecule" / "online" / "molecule.yml").read_text("utf-8"))
    assert config["scenario"]["name"] == "online"
    for playbook in ("prepare.yml", "converge.yml", "verify.yml"):
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "ansible-playbook"),
                "--syntax-check",
                "-i",
                str(_inventory(tmp_path)),
                str(ROLE / "molecule" / "online" / playbook),
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
                "MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path),
                "MOLECULE_PROJECT_DIRECTORY": str(ROLE),
            },
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"{playbook}: {result.stdout}{result.stderr}"
