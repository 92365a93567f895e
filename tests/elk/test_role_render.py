"""The elk role without a cluster: its checks, and the render it applies (elk_apply false).

The render is kept with elk_render_dir, validated against the pinned Kubernetes version and
checked for the variables it must carry (registry mirror, version, digest, heap, memory limit,
volume). The apply, the rollouts and the APIs against real Elasticsearch and Kibana run in the
online Molecule scenario; the API tasks against a local double in test_api_tasks.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.elk.conftest import PASSWORDS, flat, role_vars, run_play
from tests.manifests.test_render import kubernetes_validate
from tests.playbooks.conftest import ROOT, recap_changed

pytestmark = pytest.mark.integration

ROLE_TASKS = [{"name": "elk", "ansible.builtin.include_role": {"name": "elk"}}]
DIGEST = "sha256:" + "0123456789abcdef" * 4


def _offline(render_dir: Path, **overrides: object) -> dict:
    settings: dict[str, object] = {
        "elk_apply": False,
        "elk_configure_api": False,
        "elk_render_dir": str(render_dir),
        "elk_image_registry": "mirror.example.internal:5000/elastic/",
        "elk_kibana_image_digest": DIGEST,
        "elk_elasticsearch_heap_mb": 768,
        "elk_elasticsearch_memory_limit_mb": 2048,
        "elk_elasticsearch_storage_size": "20Gi",
        "elk_elasticsearch_storage_class": "fast",
    }
    return role_vars(**{**settings, **overrides})


def _kubernetes_version() -> str:
    data = yaml.safe_load(
        (ROOT / "roles" / "platform" / "defaults" / "main.yml").read_text(encoding="utf-8")
    )
    return str(data["platform_kubernetes_version"])


def test_render_carries_the_variables_validates_and_is_idempotent(tmp_path: Path) -> None:
    render_dir = tmp_path / "render"
    first = run_play(tmp_path, ROLE_TASKS, _offline(render_dir))
    assert first.returncode == 0, first.stdout[-3000:]
    assert recap_changed(first.stdout) == 3, first.stdout[-2000:]  # folder, kustomization, render
    text = (render_dir / "rendered.yaml").read_text(encoding="utf-8")
    objects = [obj for obj in yaml.safe_load_all(text) if obj]
    result = kubernetes_validate(_kubernetes_version(), text)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).count("passed for resource") == len(objects)

    statefulset = next(obj for obj in objects if obj["kind"] == "StatefulSet")
    pod = statefulset["spec"]["template"]["spec"]
    images = {c["image"] for c in pod["containers"] + pod["initContainers"]}
    assert images == {"mirror.example.internal:5000/elastic/elasticsearch/elasticsearch:8.19.19"}
    kibana = next(obj for obj in objects if obj["kind"] == "Deployment")
    assert kibana["spec"]["template"]["spec"]["containers"][0]["image"] == (
        f"mirror.example.internal:5000/elastic/kibana/kibana:8.19.19@{DIGEST}"
    )
    (config,) = [obj for obj in objects if obj["kind"] == "ConfigMap"]
    assert config["data"] == {"ES_JAVA_OPTS": "-Xms768m -Xmx768m"}
    resources = pod["containers"][0]["resources"]
    assert resources["limits"]["memory"] == resources["requests"]["memory"] == "2048Mi"
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert claim["spec"]["storageClassName"] == "fast"
    assert all(obj["metadata"].get("namespace", "logging") == "logging" for obj in objects)
    kustomization = (render_dir / "kustomization.yaml").read_text(encoding="utf-8")
    (resource,) = yaml.safe_load(kustomization)["resources"]
    # kustomize refuses an absolute path; the relative one leads to the repository's overlay.
    assert not resource.startswith("/")
    assert (render_dir / resource).resolve() == ROOT / "manifests/logging/overlays/minikube"
    assert not [p for p in PASSWORDS if p in text + kustomization + first.stdout]

    second = run_play(tmp_path, ROLE_TASKS, _offline(render_dir))
    assert second.returncode == 0, second.stdout[-3000:]
    assert recap_changed(second.stdout) == 0, second.stdout[-3000:]


def test_a_render_in_a_scratch_folder_changes_nothing(tmp_path: Path) -> None:
    result = run_play(tmp_path, ROLE_TASKS, _offline(tmp_path / "render", elk_render_dir=""))
    assert result.returncode == 0, result.stdout[-3000:]
    assert recap_changed(result.stdout) == 0
    assert not (tmp_path / "render").exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"elk_elasticsearch_heap_mb": 1024, "elk_elasticsearch_memory_limit_mb": 1536},
            "elk_elasticsearch_memory_limit_mb (1536) at least twice the heap (2048)",
        ),
        ({"elk_shipper_password": "short"}, "Lengths given: 34, 40, 5."),
        ({"elk_version": "7.17.20"}, "elk_version '7.17.20' (8.x.y"),
        ({"elk_overlay": "staging"}, "elk_overlay 'staging' (minikube or production"),
        (
            {"elk_configure_api": True},
            "with elk_apply false and elk_configure_api true both are required",
        ),
        ({"elk_kibana_image_digest": "sha256:abc"}, "the digests (sha256:<64 hex> or empty)"),
    ],
    ids=["heap", "password", "version", "overlay", "api-urls", "digest"],
)
def test_bad_input_is_named(tmp_path: Path, overrides: dict, message: str) -> None:
    result = run_play(tmp_path, ROLE_TASKS, _offline(tmp_path / "render", **overrides))
    text = flat(result)
    assert result.returncode != 0
    assert message in text, text[-2000:]
    assert not (tmp_path / "render").exists()
    assert not [p for p in PASSWORDS if p in text]
