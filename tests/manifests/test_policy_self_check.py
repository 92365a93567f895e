"""The policy tests fail, naming the culprit, on a render that breaks each rule (so none of them
passes because it looked at nothing)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.manifests import test_policy as policy
from tests.manifests.conftest import Rendered

BAD_DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "bad", "namespace": "rotten-potatoes"},
    "spec": {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "bad"}},
        "template": {
            "metadata": {"labels": {"app.kubernetes.io/name": "bad"}},
            "spec": {
                "initContainers": [{"name": "setup", "image": "busybox:latest"}],
                "containers": [
                    {
                        "name": "main",
                        "image": "registry.local:5000/nginx",
                        "securityContext": {"runAsUser": 0},
                        "env": [
                            {"name": "DB_PASSWORD", "value": "hunter2"},
                            {"name": "URL", "value": "postgresql://rotten:hunter2@postgres/db"},
                            {
                                "name": "API_KEY",
                                "valueFrom": {"secretKeyRef": {"name": "other", "key": "k"}},
                            },
                        ],
                    }
                ],
                "volumes": [{"name": "host", "hostPath": {"path": "/var/run"}}],
            },
        },
    },
}
OBJECTS = (
    BAD_DEPLOYMENT,
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "leak", "namespace": "x"}},
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "orphan", "namespace": "rotten-potatoes"},
        "spec": {"selector": {"app.kubernetes.io/name": "nothing"}, "ports": [{"port": 80}]},
    },
    {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "hpa", "namespace": "rotten-potatoes"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gone"}},
    },
    {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "other-pods", "namespace": "rotten-potatoes"},
        "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "x"}}},
    },
)
BAD = Rendered("self-check", "", OBJECTS)


@pytest.mark.parametrize(
    ("rule", "culprit"),
    [
        (policy.test_every_container_has_cpu_and_memory_requests_and_limits, "setup: no requests"),
        (policy.test_every_container_has_readiness_and_liveness_probes, "main: no readinessProbe"),
        (policy.test_every_container_runs_as_non_root, "main: runAsUser 0"),
        (policy.test_every_container_has_a_read_only_root_filesystem, "initContainer setup"),
        (policy.test_no_container_allows_privilege_escalation, "container main: allow"),
        (
            policy.test_every_container_drops_all_capabilities_and_uses_runtime_default_seccomp,
            "ALL",
        ),
        (policy.test_no_image_is_latest_or_untagged, "'registry.local:5000/nginx'"),
        (policy.test_no_image_is_latest_or_untagged, "'busybox:latest'"),
        (policy.test_no_host_path_anywhere, "Deployment/rotten-potatoes/bad .spec"),
        (policy.test_every_namespaced_object_is_in_the_app_namespace, "Secret/x/leak"),
        (policy.test_hpa_targets_an_existing_deployment, "'name': 'gone'"),
        (
            policy.test_every_service_selects_the_pods_of_a_workload,
            "Service/rotten-potatoes/orphan",
        ),
        (policy.test_every_pod_is_selected_by_a_network_policy, "Deployment/rotten-potatoes/bad"),
        (policy.test_namespace_denies_ingress_and_egress_by_default, "no default-deny"),
        (policy.test_no_secret_objects, "Secret/x/leak"),
        (policy.test_no_literal_secret_values, "env DB_PASSWORD has a literal value"),
        (policy.test_no_literal_secret_values, "a URL with a password"),
        (policy.test_secret_references_name_the_secrets_app_deploy_creates, "Secret 'other'"),
    ],
    ids=lambda value: getattr(value, "__name__", "").removeprefix("test_") or None,
)
def test_policy_rule_names_the_culprit(rule: Callable[[Rendered], None], culprit: str) -> None:
    with pytest.raises(AssertionError) as failure:
        rule(BAD)
    assert culprit in str(failure.value), str(failure.value)
