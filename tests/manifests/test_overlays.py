"""What each overlay is for: minikube (NodePort, loaded images, a visible HPA), production
(registry images, Ingress, more replicas), and how app_deploy sets the build tag."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.capacity import HPA_TARGET_PERCENT
from tests.manifests.conftest import (
    MANIFESTS,
    REPO_ROOT,
    Rendered,
    all_containers,
    cpu_cores,
    failures,
    image_tag,
    kustomize,
    pod_template,
)

PLACEHOLDER_TAG = "set-by-build"
REGISTRY = "registry.example.internal/rotten-potatoes/"
COMPONENTS = ("backend", "frontend", "postgres")


def images(rendered: Rendered) -> dict[str, str]:
    return {label: container["image"] for label, container, _, _ in all_containers(rendered)}


def test_images_carry_the_build_placeholder_tag(rendered: Rendered) -> None:
    """Never `latest`: app_deploy replaces this tag with `<git sha12>-m<model version>`."""
    offending = [
        f"{label}: {image}"
        for label, image in images(rendered).items()
        if image_tag(image) != PLACEHOLDER_TAG
    ]
    assert not offending, f"manifests/{rendered.target}:{failures(offending)}"


def test_hpa_target_is_bench_capacitys(rendered: Rendered) -> None:
    """The HPA's CPU target is the one bench/capacity.py derives each pod's capacity at."""
    hpa = rendered.named("HorizontalPodAutoscaler", "backend")
    metrics = hpa["spec"]["metrics"]
    assert metrics == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": HPA_TARGET_PERCENT},
            },
        }
    ], metrics


def test_hpa_scales_out_at_once_and_in_gradually(rendered: Rendered) -> None:
    behavior = rendered.named("HorizontalPodAutoscaler", "backend")["spec"]["behavior"]
    up, down = behavior["scaleUp"], behavior["scaleDown"]
    assert up["stabilizationWindowSeconds"] == 0, up
    assert up["selectPolicy"] == "Max", up
    assert {(p["type"], p["value"], p["periodSeconds"]) for p in up["policies"]} == {
        ("Percent", 100, 15), ("Pods", 2, 15),
    }  # fmt: skip
    assert 60 <= down["stabilizationWindowSeconds"] <= 300, down
    assert down["policies"] == [{"type": "Percent", "value": 50, "periodSeconds": 30}], down


def test_backend_cpu_request_is_the_measured_one(rendered: Rendered) -> None:
    """Base and production request what one process uses flat out (bench/capacity.json, from
    make bench-capacity); minikube keeps its small request on purpose (see its kustomization)."""
    if rendered.target.endswith("minikube"):
        pytest.skip("minikube requests less on purpose: a small VM")
    capacity = json.loads((REPO_ROOT / "bench" / "capacity.json").read_text())
    backend = rendered.named("Deployment", "backend")
    resources = pod_template(backend)["spec"]["containers"][0]["resources"]
    assert resources["requests"]["cpu"] == capacity["cpu_request"], resources
    assert cpu_cores(resources["limits"]["cpu"]) >= cpu_cores(capacity["cpu_request"]), resources
    assert "bench/capacity.json" in (MANIFESTS / "base" / "backend.yaml").read_text()


# --- minikube ---------------------------------------------------------------------------------


def test_minikube_exposes_the_page_on_nodeport_30001(
    minikube: Rendered, platform_defaults: dict[str, Any]
) -> None:
    expected = platform_defaults["platform_ports"]["web_nodeport"]
    assert expected == 30001, f"roles/platform/defaults/main.yml: web_nodeport is {expected}"
    service = minikube.named("Service", "frontend")
    node_ports = [port.get("nodePort") for port in service["spec"]["ports"]]
    assert service["spec"].get("type") == "NodePort", service["spec"]
    assert node_ports == [expected], f"Service/frontend nodePorts {node_ports}"
    assert service["spec"]["ports"][0]["port"] == 8501


def test_minikube_runs_loaded_images_without_pulling(minikube: Rendered) -> None:
    offending = [
        f"{label}: imagePullPolicy {container.get('imagePullPolicy')!r}"
        for label, container, _, _ in all_containers(minikube)
        if container.get("imagePullPolicy") not in {"IfNotPresent", "Never"}
    ]
    offending += [
        f"{label}: {image} names a registry"
        for label, image in images(minikube).items()
        if not image.startswith("rotten-potatoes/")
    ]
    assert not offending, f"overlays/minikube:{failures(offending)}"


def test_minikube_backend_cpu_is_small_so_the_hpa_scales_visibly(minikube: Rendered) -> None:
    backend = minikube.named("Deployment", "backend")
    resources = pod_template(backend)["spec"]["containers"][0]["resources"]
    request, limit = cpu_cores(resources["requests"]["cpu"]), cpu_cores(resources["limits"]["cpu"])
    assert request <= 0.1, f"backend CPU request {resources['requests']['cpu']}"
    assert limit <= 0.25, f"backend CPU limit {resources['limits']['cpu']}"
    hpa = minikube.named("HorizontalPodAutoscaler", "backend")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 5), hpa["spec"]


def test_minikube_runs_one_pod_of_each_at_rest(minikube: Rendered) -> None:
    counts = {
        f"{obj['kind']}/{obj['metadata']['name']}": obj["spec"].get("replicas", 1)
        for obj in minikube.of_kind("Deployment", "StatefulSet")
    }
    assert set(counts.values()) == {1}, counts


# --- production -------------------------------------------------------------------------------


def test_production_has_a_tls_ingress_to_the_page(production: Rendered) -> None:
    ingresses = production.of_kind("Ingress")
    assert len(ingresses) == 1, [obj["metadata"]["name"] for obj in ingresses]
    spec = ingresses[0]["spec"]
    hosts = [rule["host"] for rule in spec["rules"]]
    assert hosts == ["rotten-potatoes.example.internal"], hosts
    assert spec.get("tls") and spec["tls"][0].get("secretName"), spec.get("tls")
    assert hosts[0] in spec["tls"][0]["hosts"], spec["tls"]
    backends = [
        path["backend"]["service"]["name"]
        for rule in spec["rules"]
        for path in rule["http"]["paths"]
    ]
    assert backends == ["frontend"], f"the Ingress reaches {backends}: only the page is public"


def test_production_images_come_from_the_registry(production: Rendered) -> None:
    offending = [
        f"{label}: {image}"
        for label, image in images(production).items()
        if not image.startswith(REGISTRY)
    ]
    assert not offending, f"overlays/production: not from {REGISTRY}:{failures(offending)}"
    names = {image.split(":")[0].removeprefix(REGISTRY) for image in images(production).values()}
    assert names == set(COMPONENTS), names


def test_production_always_pulls(production: Rendered) -> None:
    offending = [
        f"{label}: imagePullPolicy {container.get('imagePullPolicy')!r}"
        for label, container, _, _ in all_containers(production)
        if container.get("imagePullPolicy") != "Always"
    ]
    assert not offending, f"overlays/production:{failures(offending)}"


def test_production_runs_two_pods_of_each_at_least(production: Rendered) -> None:
    hpa = production.named("HorizontalPodAutoscaler", "backend")
    assert hpa["spec"]["minReplicas"] >= 2, hpa["spec"]
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"], hpa["spec"]
    frontend = production.named("Deployment", "frontend")
    assert frontend["spec"]["replicas"] >= 2, frontend["spec"]


# --- The tag app_deploy sets -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overlay", "prefix"),
    [("minikube", "rotten-potatoes/"), ("production", REGISTRY)],
)
def test_a_generated_kustomization_sets_the_build_tag(
    tmp_path: Path, overlay: str, prefix: str
) -> None:
    """What app_deploy renders (manifests/README.md): the overlay by relative path, plus images."""
    tag = "0123456789ab-m7"
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(MANIFESTS / "overlays" / overlay, tmp_path)],
        "images": [{"name": f"{prefix}{component}", "newTag": tag} for component in COMPONENTS],
    }
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
    result = kustomize(tmp_path)
    assert result.returncode == 0, result.stderr
    rendered = [
        container["image"]
        for obj in yaml.safe_load_all(result.stdout)
        if obj and obj["kind"] in {"Deployment", "StatefulSet"}
        for container in pod_template(obj)["spec"]["containers"]
    ]
    assert sorted(rendered) == [f"{prefix}{component}:{tag}" for component in COMPONENTS]
