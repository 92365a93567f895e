"""Policy over every rendered kustomization: each test names the objects that break its rule."""

from __future__ import annotations

import re

from tests.manifests.conftest import (
    CLUSTER_SCOPED_KINDS,
    NAMESPACE,
    Rendered,
    all_containers,
    failures,
    ident,
    image_tag,
    is_empty_selector,
    pod_template,
    selector_matches,
    walk,
)

# The Secrets app_deploy creates in the namespace before it applies an overlay (see
# manifests/README.md).
DEPLOY_SECRETS = {"rotten-potatoes-backend", "rotten-potatoes-postgres"}
# Names of settings whose value is a secret: they may only come from a Secret.
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|CREDENTIAL|DATABASE_URL", re.I)
# A URL with a password in it (scheme://user:password@host).
URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.I)


def test_there_are_workloads(rendered: Rendered) -> None:
    kinds = sorted(ident(obj) for obj in rendered.workloads())
    assert len(kinds) >= 3, f"manifests/{rendered.target}: only {kinds}"


def test_every_container_has_cpu_and_memory_requests_and_limits(rendered: Rendered) -> None:
    offending = []
    for label, container, _, _ in all_containers(rendered):
        resources = container.get("resources") or {}
        missing = [
            f"{section}.{resource}"
            for section in ("requests", "limits")
            for resource in ("cpu", "memory")
            if not (resources.get(section) or {}).get(resource)
        ]
        if missing:
            offending.append(f"{label}: no {', '.join(missing)}")
    assert not offending, f"manifests/{rendered.target}:{failures(offending)}"


def test_every_container_has_readiness_and_liveness_probes(rendered: Rendered) -> None:
    """Init containers run to completion and take no probes, except sidecars (restartPolicy
    Always), which are checked like the other containers."""
    offending = []
    for label, container, is_init, _ in all_containers(rendered):
        if is_init and container.get("restartPolicy") != "Always":
            continue
        missing = [
            probe for probe in ("readinessProbe", "livenessProbe") if not container.get(probe)
        ]
        if missing:
            offending.append(f"{label}: no {', '.join(missing)}")
    assert not offending, f"manifests/{rendered.target}:{failures(offending)}"


def test_every_container_runs_as_non_root(rendered: Rendered) -> None:
    """runAsNonRoot at the container level or, failing that, the pod level; never uid 0."""
    offending = []
    for label, container, _, pod_spec in all_containers(rendered):
        pod_context = pod_spec.get("securityContext") or {}
        context = container.get("securityContext") or {}
        non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
        uid = context.get("runAsUser", pod_context.get("runAsUser"))
        if non_root is not True:
            offending.append(f"{label}: runAsNonRoot is {non_root!r}")
        if uid == 0:
            offending.append(f"{label}: runAsUser 0")
    assert not offending, f"manifests/{rendered.target}:{failures(offending)}"


def test_every_container_has_a_read_only_root_filesystem(rendered: Rendered) -> None:
    offending = [
        f"{label}: readOnlyRootFilesystem is {context.get('readOnlyRootFilesystem')!r}"
        for label, container, _, _ in all_containers(rendered)
        if (context := container.get("securityContext") or {}).get("readOnlyRootFilesystem")
        is not True
    ]
    assert not offending, f"manifests/{rendered.target}:{failures(offending)}"


def test_no_container_allows_privilege_escalation(rendered: Rendered) -> None:
    offending = [
        f"{label}: allowPrivilegeEscalation is {context.get('allowPrivilegeEscalation')!r}"
        for label, container, _, _ in all_containers(rendered)
        if (context := container.get("securityContext") or {}).get("allowPrivilegeEscalation")
        is not False
    ]
    assert not offending, f"manifests/{rendered.target}:{failures(offending)}"


def test_every_container_drops_all_capabilities_and_uses_runtime_default_seccomp(
    rendered: Rendered,
) -> None:
    offending = []
    for label, container, _, pod_spec in all_containers(rendered):
        context = container.get("securityContext") or {}
        dropped = (context.get("capabilities") or {}).get("drop") or []
        if "ALL" not in dropped:
            offending.append(f"{label}: capabilities.drop is {dropped!r}, not [ALL]")
        seccomp = context.get("seccompProfile") or (pod_spec.get("securityContext") or {}).get(
            "seccompProfile"
        )
        if (seccomp or {}).get("type") not in {"RuntimeDefault", "Localhost"}:
            offending.append(f"{label}: seccompProfile is {seccomp!r}")
    assert not offending, f"manifests/{rendered.target}:{failures(offending)}"


def test_no_image_is_latest_or_untagged(rendered: Rendered) -> None:
    offending = []
    for label, container, _, _ in all_containers(rendered):
        image = container.get("image") or ""
        tag = image_tag(image)
        if not image or tag in {None, "", "latest"}:
            offending.append(f"{label}: image {image!r}")
    assert not offending, f"manifests/{rendered.target}:{failures(offending)}"


def test_no_host_path_anywhere(rendered: Rendered) -> None:
    offending = [
        f"{ident(obj)} {path}"
        for obj in rendered.objects
        for path, key, _ in walk(obj)
        if key == "hostPath"
    ]
    assert not offending, f"manifests/{rendered.target}: hostPath found:{failures(offending)}"


def test_every_namespaced_object_is_in_the_app_namespace(rendered: Rendered) -> None:
    offending = [
        f"{ident(obj)}: namespace {obj['metadata'].get('namespace')!r}"
        for obj in rendered.objects
        if obj["kind"] not in CLUSTER_SCOPED_KINDS and obj["metadata"].get("namespace") != NAMESPACE
    ]
    assert not offending, f"manifests/{rendered.target}:{failures(offending)}"


def test_hpa_targets_an_existing_deployment(rendered: Rendered) -> None:
    hpas = rendered.of_kind("HorizontalPodAutoscaler")
    assert hpas, f"manifests/{rendered.target}: no HorizontalPodAutoscaler"
    scalable = {
        (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])
        for obj in rendered.of_kind("Deployment", "StatefulSet")
    }
    offending = []
    for hpa in hpas:
        ref = hpa["spec"]["scaleTargetRef"]
        key = (ref.get("kind"), hpa["metadata"].get("namespace"), ref.get("name"))
        if key not in scalable or ref.get("apiVersion") != "apps/v1":
            offending.append(f"{ident(hpa)} -> {ref}: no such Deployment in its namespace")
    assert not offending, f"manifests/{rendered.target}:{failures(offending)}"


def test_every_service_selects_the_pods_of_a_workload(rendered: Rendered) -> None:
    """...and its named target ports are ports those pods declare."""
    offending = []
    for service in rendered.of_kind("Service"):
        selector = service["spec"].get("selector") or {}
        namespace = service["metadata"].get("namespace")
        if not selector:
            offending.append(f"{ident(service)}: no selector")
            continue
        pods = [
            pod_template(workload)
            for workload in rendered.workloads()
            if workload["metadata"].get("namespace") == namespace
            and selector_matches(
                {"matchLabels": selector}, pod_template(workload)["metadata"].get("labels") or {}
            )
        ]
        if not pods:
            offending.append(f"{ident(service)}: selector {selector} matches no pod template")
            continue
        declared = {
            port.get("name")
            for pod in pods
            for container in pod["spec"]["containers"]
            for port in container.get("ports") or []
        }
        for port in service["spec"].get("ports") or []:
            target = port.get("targetPort")
            if isinstance(target, str) and target not in declared:
                offending.append(f"{ident(service)}: targetPort {target!r} is no container port")
    assert not offending, f"manifests/{rendered.target}:{failures(offending)}"


def test_every_pod_is_selected_by_a_network_policy(rendered: Rendered) -> None:
    """A policy written for the pod: the namespace-wide default deny (empty selector) matches
    every pod by construction, so it does not count here (the next test checks it exists)."""
    policies = rendered.of_kind("NetworkPolicy")
    offending = []
    for workload in rendered.workloads():
        labels = pod_template(workload)["metadata"].get("labels") or {}
        namespace = workload["metadata"].get("namespace")
        if not any(
            policy["metadata"].get("namespace") == namespace
            and not is_empty_selector(policy["spec"].get("podSelector"))
            and selector_matches(policy["spec"]["podSelector"], labels)
            for policy in policies
        ):
            offending.append(f"{ident(workload)} (pod labels {labels})")
    assert not offending, (
        f"manifests/{rendered.target}: pods no NetworkPolicy selects:{failures(offending)}"
    )


def test_namespace_denies_ingress_and_egress_by_default(rendered: Rendered) -> None:
    defaults = [
        policy
        for policy in rendered.of_kind("NetworkPolicy")
        if policy["metadata"].get("namespace") == NAMESPACE
        and is_empty_selector(policy["spec"].get("podSelector"))
        and not policy["spec"].get("ingress")
        and not policy["spec"].get("egress")
    ]
    types = {kind for policy in defaults for kind in policy["spec"].get("policyTypes") or []}
    assert {"Ingress", "Egress"} <= types, (
        f"manifests/{rendered.target}: no default-deny NetworkPolicy for "
        f"{sorted({'Ingress', 'Egress'} - types)} in {NAMESPACE}"
    )


def test_no_secret_objects(rendered: Rendered) -> None:
    offending = [ident(obj) for obj in rendered.of_kind("Secret")]
    assert not offending, (
        f"manifests/{rendered.target}: Secrets belong to app_deploy, not the manifests:"
        f"{failures(offending)}"
    )


def test_no_literal_secret_values(rendered: Rendered) -> None:
    """Secret-looking settings come from secretKeyRef; no URL carries a password."""
    offending = []
    for label, container, _, _ in all_containers(rendered):
        for variable in container.get("env") or []:
            if SECRET_NAME.search(variable["name"]) and "value" in variable:
                offending.append(f"{label}: env {variable['name']} has a literal value")
    for config_map in rendered.of_kind("ConfigMap"):
        for key in config_map.get("data") or {}:
            if SECRET_NAME.search(key):
                offending.append(f"{ident(config_map)}: data key {key}")
    for obj in rendered.objects:
        for path, _, value in walk(obj):
            if isinstance(value, str) and URL_WITH_PASSWORD.search(value):
                offending.append(f"{ident(obj)} {path}: a URL with a password")
    assert not offending, f"manifests/{rendered.target}:{failures(offending)}"


def test_secret_references_name_the_secrets_app_deploy_creates(rendered: Rendered) -> None:
    offending = []
    for label, container, _, _ in all_containers(rendered):
        names = [
            (variable.get("valueFrom") or {}).get("secretKeyRef", {}).get("name")
            for variable in container.get("env") or []
        ] + [
            (source.get("secretRef") or {}).get("name") for source in container.get("envFrom") or []
        ]
        offending += [
            f"{label}: Secret {name!r}" for name in names if name and name not in DEPLOY_SECRETS
        ]
    assert not offending, (
        f"manifests/{rendered.target}: only {sorted(DEPLOY_SECRETS)} exist:{failures(offending)}"
    )


def test_backend_authenticates_to_vault_with_a_projected_token(rendered: Rendered) -> None:
    """The ServiceAccount Vault binds to, with no API token but an audience-bound one."""
    backend = rendered.named("Deployment", "backend")
    spec = pod_template(backend)["spec"]
    assert spec.get("serviceAccountName") == "backend", spec.get("serviceAccountName")
    assert rendered.named("ServiceAccount", "backend")
    assert spec.get("automountServiceAccountToken") is False
    audiences = [
        source["serviceAccountToken"].get("audience")
        for volume in spec.get("volumes") or []
        for source in (volume.get("projected") or {}).get("sources") or []
        if "serviceAccountToken" in source
    ]
    assert audiences == ["vault"], audiences
