"""Rendering of manifests/ (kubectl kustomize) and helpers over the rendered objects."""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = REPO_ROOT / "manifests"
# The overridable platform settings (ports, the Kubernetes version): the platform role's defaults.
PLATFORM_DEFAULTS = REPO_ROOT / "roles" / "platform" / "defaults" / "main.yml"
# Every kustomization a cluster may be given; the base is rendered too, so it stays valid alone.
TARGETS = ("base", "overlays/minikube", "overlays/production")
NAMESPACE = "rotten-potatoes"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
# Kinds that live outside any namespace (the others must all be in NAMESPACE).
CLUSTER_SCOPED_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass"}

Obj = dict[str, Any]


def kubectl() -> str:
    """/usr/bin/kubectl (or the one on PATH); the tests skip, saying why, when there is none."""
    for candidate in ("/usr/bin/kubectl", shutil.which("kubectl")):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.skip("/usr/bin/kubectl is not installed: `kubectl kustomize` renders the manifests")
    raise AssertionError  # unreachable: pytest.skip raises


def kustomize(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass(frozen=True)
class Rendered:
    """One kustomization as kubectl renders it."""

    target: str
    text: str
    objects: tuple[Obj, ...]

    def of_kind(self, *kinds: str) -> list[Obj]:
        return [obj for obj in self.objects if obj.get("kind") in kinds]

    def named(self, kind: str, name: str) -> Obj:
        matches = [obj for obj in self.of_kind(kind) if obj["metadata"]["name"] == name]
        assert len(matches) == 1, f"{self.target}: expected one {kind}/{name}, found {len(matches)}"
        return matches[0]

    def workloads(self) -> list[Obj]:
        return self.of_kind(*WORKLOAD_KINDS)


@functools.cache
def _render(target: str) -> Rendered:
    result = kustomize(MANIFESTS / target)
    assert result.returncode == 0, (
        f"kubectl kustomize manifests/{target} -> {result.returncode}\n{result.stderr}"
    )
    objects = tuple(obj for obj in yaml.safe_load_all(result.stdout) if obj)
    return Rendered(target, result.stdout, objects)


def render(target: str) -> Rendered:
    kubectl()  # skip (not fail) without kubectl, before the cached call
    return _render(target)


@pytest.fixture(scope="session", params=TARGETS, ids=lambda target: target.split("/")[-1])
def rendered(request: pytest.FixtureRequest) -> Rendered:
    """Each of base, overlays/minikube and overlays/production, rendered once per session."""
    return render(request.param)


@pytest.fixture(scope="session")
def minikube() -> Rendered:
    return render("overlays/minikube")


@pytest.fixture(scope="session")
def production() -> Rendered:
    return render("overlays/production")


@pytest.fixture(scope="session")
def platform_defaults() -> dict[str, Any]:
    return yaml.safe_load(PLATFORM_DEFAULTS.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def kubernetes_version(platform_defaults: dict[str, Any]) -> str:
    """The pinned Kubernetes version (roles/platform defaults), which the schemas must match."""
    version = str(platform_defaults["platform_kubernetes_version"])
    assert version.count(".") == 2, f"platform_kubernetes_version={version!r}: not X.Y.Z"
    return version


# --- Helpers over the rendered objects ---------------------------------------------------------


def ident(obj: Obj) -> str:
    metadata = obj.get("metadata", {})
    namespace = metadata.get("namespace")
    return f"{obj.get('kind')}/{namespace + '/' if namespace else ''}{metadata.get('name')}"


def pod_template(workload: Obj) -> Obj:
    """The pod (metadata + spec) a workload runs."""
    kind, spec = workload["kind"], workload.get("spec", {})
    if kind == "Pod":
        return workload
    if kind == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]
    return spec["template"]


def containers(workload: Obj, *, init: bool = True) -> Iterator[tuple[str, Obj, bool]]:
    """(label, container, is_init) for every container of a workload, init containers included."""
    spec = pod_template(workload).get("spec", {})
    for key in ("initContainers", "containers") if init else ("containers",):
        for container in spec.get(key) or []:
            label = f"{ident(workload)} {key[:-1]} {container.get('name')}"
            yield label, container, key == "initContainers"


def all_containers(rendered: Rendered) -> Iterator[tuple[str, Obj, bool, Obj]]:
    """(label, container, is_init, pod spec) over every workload of a render."""
    for workload in rendered.workloads():
        pod_spec = pod_template(workload).get("spec", {})
        for label, container, is_init in containers(workload):
            yield label, container, is_init, pod_spec


def selector_matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against a set of labels."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def is_empty_selector(selector: Obj | None) -> bool:
    return not (selector or {}).get("matchLabels") and not (selector or {}).get("matchExpressions")


def cpu_cores(quantity: str | int | float) -> float:
    text = str(quantity)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(path, key, value) for every mapping entry, and (path, None, item) for list items."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{path}.{key}", key, value
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield f"{path}[{index}]", None, item
            yield from walk(item, f"{path}[{index}]")


def image_tag(image: str) -> str | None:
    """The tag of an image reference; None without one. A digest counts as a tag."""
    if "@" in image:
        return image.split("@", 1)[1]
    name = image.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else None


def failures(items: list[str]) -> str:
    return "\n  " + "\n  ".join(items)
