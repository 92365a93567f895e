"""The backend pod cannot lose its spool: contract tests over every rendered kustomization.

The mechanism (manifests/README.md): the spool is in the pod's emptyDir, which outlives
container restarts; a pod that is deleted first runs the preStop drain, which leaves readiness
and waits for the database within the grace period; SPOOL_MAX_BYTES keeps the spool below the
volume's limit, so the kubelet never evicts the pod for it.
"""

from __future__ import annotations

import re

from app.backend.settings import Settings
from app.backend.spool import WAL_MAX_BYTES
from tests.manifests.conftest import Rendered

# The file takes at most 1.2x SPOOL_MAX_BYTES (tests/app/backend/test_spool_bound.py asserts
# 1.3x) plus the WAL; the volume must hold the worst case with room to spare.
DISK_FACTOR = 1.5
UNITS = {"": 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 10**3, "M": 10**6, "G": 10**9}


def quantity(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([KMG]i?|k)?", value).groups()  # type: ignore[union-attr]
    return int(number) * UNITS[unit or ""]


def backend(rendered: Rendered) -> tuple[dict, dict, dict[str, str]]:
    deployment = rendered.named("Deployment", "backend")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = [c for c in pod["containers"] if c["name"] == "backend"]
    env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    return pod, container, env


def test_the_spool_is_on_the_pods_data_volume_with_a_bound_below_it(rendered: Rendered) -> None:
    pod, container, env = backend(rendered)
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert env["SPOOL_PATH"].startswith(mounts["data"] + "/")
    assert env["DATA_DIR"] == mounts["data"]
    limit = quantity(volumes["data"]["emptyDir"]["sizeLimit"])
    spool_max = int(env["SPOOL_MAX_BYTES"])
    assert spool_max * DISK_FACTOR + WAL_MAX_BYTES < limit, (spool_max, limit)
    # The service reads the same values (no typo that pydantic would refuse at start-up).
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})  # type: ignore[call-arg]
    assert settings.spool_max_bytes == spool_max


def test_a_deleted_pod_drains_its_spool_within_the_grace_period(rendered: Rendered) -> None:
    pod, container, env = backend(rendered)
    assert container["lifecycle"]["preStop"]["exec"]["command"] == [
        "python", "-m", "app.backend.drain",
    ]  # fmt: skip
    drain = float(env["DRAIN_TIMEOUT_SECONDS"])
    shutdown = float(env["SHUTDOWN_FLUSH_SECONDS"])
    grace = pod["terminationGracePeriodSeconds"]
    # The kubelet counts the preStop hook and SIGTERM against one grace period; 30 s are left
    # for uvicorn's shutdown and the log shipper's last batch.
    assert drain + shutdown + 30 <= grace, (drain, shutdown, grace)
    # Long enough for a 10-minute outage plus the drain of a full spool at 5,000 records/s.
    full_spool_records = int(env["SPOOL_MAX_BYTES"]) // 1_700
    assert drain >= 600 + full_spool_records / 5_000


def test_draining_takes_the_pod_out_of_the_service_but_keeps_it_alive(rendered: Rendered) -> None:
    _pod, container, _env = backend(rendered)
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"  # 503 `draining`
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"  # 200 while draining


def test_the_hpa_still_scales_the_deployment(rendered: Rendered) -> None:
    hpa = rendered.named("HorizontalPodAutoscaler", "backend")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "backend",
    }  # fmt: skip
    assert rendered.named("Deployment", "backend")["spec"]["strategy"]["rollingUpdate"] == {
        "maxSurge": 1, "maxUnavailable": 0,
    }  # fmt: skip
