"""manifests/logging (role elk): renders, validates against the pinned Kubernetes version, and
passes the same policy as the application's manifests, plus the rules of its own."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.manifests import test_policy as policy
from tests.manifests.conftest import (
    CLUSTER_SCOPED_KINDS,
    MANIFESTS,
    Rendered,
    all_containers,
    failures,
    ident,
    is_empty_selector,
    kustomize,
    pod_template,
    render,
)
from tests.manifests.test_render import kubernetes_validate

TARGETS = ("logging/base", "logging/overlays/minikube", "logging/overlays/production")
NAMESPACE = "logging"
# The one Secret the manifests read: the elk role creates it from Vault's values.
ELK_SECRETS = {"elasticsearch-credentials"}
# Policy rules of tests/manifests/test_policy.py that hold for any namespace and any workload.
SHARED_RULES: tuple[Callable[[Rendered], None], ...] = (
    policy.test_every_container_has_cpu_and_memory_requests_and_limits,
    policy.test_every_container_has_readiness_and_liveness_probes,
    policy.test_every_container_runs_as_non_root,
    policy.test_every_container_has_a_read_only_root_filesystem,
    policy.test_no_container_allows_privilege_escalation,
    policy.test_every_container_drops_all_capabilities_and_uses_runtime_default_seccomp,
    policy.test_no_image_is_latest_or_untagged,
    policy.test_no_host_path_anywhere,
    policy.test_every_service_selects_the_pods_of_a_workload,
    policy.test_every_pod_is_selected_by_a_network_policy,
    policy.test_no_secret_objects,
    policy.test_no_literal_secret_values,
)


@pytest.fixture(scope="module", params=TARGETS, ids=lambda target: target.replace("/", "-"))
def logging(request: pytest.FixtureRequest) -> Rendered:
    return render(request.param)


@pytest.fixture(scope="module")
def logging_minikube() -> Rendered:
    return render("logging/overlays/minikube")


def _memory_mib(quantity: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", quantity).groups()  # type: ignore[union-attr]
    return float(number) * {"Mi": 1, "Gi": 1024, "M": 1e6 / 2**20, "G": 1e9 / 2**20}[unit]


def _env(container: dict) -> dict[str, dict]:
    return {variable["name"]: variable for variable in container.get("env") or []}


@pytest.mark.parametrize("target", TARGETS)
def test_renders(target: str) -> None:
    result = kustomize(MANIFESTS / target)
    assert result.returncode == 0, f"kubectl kustomize manifests/{target}:\n{result.stderr}"


def test_validates_against_the_pinned_kubernetes_version(
    logging: Rendered, kubernetes_version: str
) -> None:
    result = kubernetes_validate(kubernetes_version, logging.text)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"manifests/{logging.target} (--strict):\n{output}"
    assert output.count("passed for resource") == len(logging.objects), output


@pytest.mark.parametrize("rule", SHARED_RULES, ids=lambda rule: rule.__name__.removeprefix("test_"))
def test_shared_policy(logging: Rendered, rule: Callable[[Rendered], None]) -> None:
    rule(logging)


def test_every_namespaced_object_is_in_the_logging_namespace(logging: Rendered) -> None:
    offending = [
        ident(obj)
        for obj in logging.objects
        if obj["kind"] not in CLUSTER_SCOPED_KINDS and obj["metadata"].get("namespace") != NAMESPACE
    ]
    assert not offending, f"manifests/{logging.target}:{failures(offending)}"
    namespace = logging.named("Namespace", NAMESPACE)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_secret_references_name_the_secret_the_role_creates(logging: Rendered) -> None:
    names = {
        (variable.get("valueFrom") or {}).get("secretKeyRef", {}).get("name")
        for _, container, _, _ in all_containers(logging)
        for variable in container.get("env") or []
    } - {None}
    assert names == ELK_SECRETS, names


def test_namespace_denies_ingress_and_egress_by_default(logging: Rendered) -> None:
    types = {
        kind
        for netpol in logging.of_kind("NetworkPolicy")
        if is_empty_selector(netpol["spec"].get("podSelector"))
        and not netpol["spec"].get("ingress")
        and not netpol["spec"].get("egress")
        for kind in netpol["spec"].get("policyTypes") or []
    }
    assert {"Ingress", "Egress"} <= types, types


def test_elasticsearch_is_reached_only_from_the_backend_and_kibana_on_9200(
    logging: Rendered,
) -> None:
    netpol = logging.named("NetworkPolicy", "elasticsearch")
    (rule,) = netpol["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 9200}]
    sources = sorted(
        (
            (peer.get("namespaceSelector") or {})
            .get("matchLabels", {})
            .get("kubernetes.io/metadata.name", NAMESPACE),
            peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
        )
        for peer in rule["from"]
    )
    assert sources == [("logging", "kibana"), ("rotten-potatoes", "backend")]
    kibana = logging.named("NetworkPolicy", "kibana")
    assert kibana["spec"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": 5601}]}]


def test_the_backend_reaches_elasticsearch_where_its_es_url_points(logging: Rendered) -> None:
    app = render("overlays/minikube")
    config = next(
        obj
        for obj in app.of_kind("ConfigMap")
        if obj["metadata"]["name"].startswith("backend-config")
    )
    url = config["data"]["ES_URL"]
    service = logging.named("Service", "elasticsearch")
    name, port = service["metadata"]["name"], service["spec"]["ports"][0]["port"]
    assert url == f"http://{name}.{NAMESPACE}.svc:{port}"


def test_elasticsearch_runs_securely_on_one_node_with_a_bounded_heap(logging: Rendered) -> None:
    statefulset = logging.named("StatefulSet", "elasticsearch")
    spec = pod_template(statefulset)["spec"]
    (container,) = spec["containers"]
    env = _env(container)
    assert env["discovery.type"]["value"] == "single-node"
    assert env["xpack.security.enabled"]["value"] == "true"
    assert env["xpack.security.http.ssl.enabled"]["value"] == "false"
    assert env["node.store.allow_mmap"]["value"] == "false"
    assert env["ELASTIC_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] in ELK_SECRETS
    assert spec["securityContext"]["runAsUser"] == 1000
    assert spec["securityContext"]["fsGroup"] == 1000
    assert not any(
        (c.get("securityContext") or {}).get("privileged") for c in spec.get("initContainers") or []
    )
    # The heap (-Xms = -Xmx) is at most half of the memory limit.
    config = next(
        obj
        for obj in logging.of_kind("ConfigMap")
        if obj["metadata"]["name"].startswith("elasticsearch-config")
    )
    assert env["ES_JAVA_OPTS"]["valueFrom"]["configMapKeyRef"]["name"] == config["metadata"]["name"]
    heap = re.fullmatch(r"-Xms(\d+)m -Xmx(\d+)m", config["data"]["ES_JAVA_OPTS"])
    assert heap and heap.group(1) == heap.group(2), config["data"]
    limit = _memory_mib(container["resources"]["limits"]["memory"])
    assert 2 * int(heap.group(1)) <= limit, (heap.group(0), limit)
    # The readiness probe holds no password: it reads the container's own environment.
    probe = " ".join(container["readinessProbe"]["exec"]["command"])
    assert "${ELASTIC_PASSWORD}" in probe
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"]


def test_kibana_logs_in_as_kibana_system(logging: Rendered) -> None:
    (container,) = pod_template(logging.named("Deployment", "kibana"))["spec"]["containers"]
    env = _env(container)
    assert env["ELASTICSEARCH_USERNAME"]["value"] == "kibana_system"
    assert env["ELASTICSEARCH_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "elasticsearch-credentials",
        "key": "kibana-system-password",
    }
    assert env["ELASTICSEARCH_HOSTS"]["value"] == '["http://elasticsearch.logging.svc:9200"]'


def test_images_are_pinned_elastic_8_images(logging: Rendered) -> None:
    images = {container["image"] for _, container, _, _ in all_containers(logging)}
    assert images == {
        "docker.elastic.co/elasticsearch/elasticsearch:8.19.19",
        "docker.elastic.co/kibana/kibana:8.19.19",
    }


def test_kibana_is_on_node_port_30002_in_minikube(logging_minikube: Rendered) -> None:
    service = logging_minikube.named("Service", "kibana")
    assert service["spec"]["type"] == "NodePort"
    assert [port["nodePort"] for port in service["spec"]["ports"]] == [30002]
