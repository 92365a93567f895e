"""playbooks/stress.yml for real: Locust against the real backend on 127.0.0.1, then the report.

The backend serves a real exported model (the session's ``exported_model``) on a free port. The
docker target is the demo's case; the kubernetes target runs against a fake ``kubectl`` that
answers ``get hpa``/``get deployment`` with a scripted scale-out and scale-in, and whose
``port-forward`` is a small TCP relay to the same backend. Every load is a few users for a few
seconds, sent to 127.0.0.1 only.
"""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import running_backend
from tests.playbooks.conftest import ansible_playbook
from tests.support.network import free_port

pytestmark = pytest.mark.integration

PLAYBOOK = "playbooks/stress.yml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DOCKER_NOTE = "not sampled: docker target has no HPA"

FAKE_KUBECTL = '''#!{python}
"""A scripted kubectl: the HPA scales {start} -> 3 -> {start} pods, relative to the load's start.

The load starts with the first request through the port-forward that is not one of the role's
own probes (Ansible's uri module, User-Agent ansible-httpget), so the timeline holds however
slowly the role gets from its first `get hpa` to Locust on a busy machine. Before that, the HPA
is at its minimum.
"""
import json
import socket
import sys
import threading
import time
from pathlib import Path

LOAD_START = Path({load_start!r})
SCALES = {scales!r}
UP_AT, DOWN_AT = {up_at!r}, {down_at!r}
BACKEND_PORT = {backend_port!r}


def relay(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def note_load_start(client):
    """Record the time of the first request that is not one of the role's probes."""
    head = b""
    deadline = time.monotonic() + 5
    while b"\\r\\n\\r\\n" not in head and time.monotonic() < deadline:
        head = client.recv(65536, socket.MSG_PEEK)
        if not head:
            return
        if b"\\r\\n\\r\\n" not in head:
            time.sleep(0.01)
    if b"ansible-httpget" not in head.lower() and not LOAD_START.exists():
        LOAD_START.write_text(str(time.time()))


def serve(client):
    note_load_start(client)
    upstream = socket.create_connection(("127.0.0.1", BACKEND_PORT))
    for end in (client, upstream):
        end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for pair in ((client, upstream), (upstream, client)):
        threading.Thread(target=relay, args=pair, daemon=True).start()


def port_forward(mapping):
    local, remote = mapping.split(":")
    server = socket.create_server(("127.0.0.1", int(local or 0)))
    print(f"Forwarding from 127.0.0.1:{{server.getsockname()[1]}} -> {{remote}}", flush=True)
    while True:
        client, _ = server.accept()
        threading.Thread(target=serve, args=(client,), daemon=True).start()


args = sys.argv[1:]
with (LOAD_START.parent / "calls.log").open("a") as log:
    log.write(" ".join(args) + "\\n")
for flag in ("--kubeconfig", "--context"):
    if flag in args:
        del args[args.index(flag):args.index(flag) + 2]
if args[:1] == ["port-forward"]:
    port_forward(args[-1])
if args[:1] != ["get"] or args[1] not in ("hpa", "deployment"):
    sys.exit("fake kubectl: unsupported " + " ".join(args))
# Seconds since the load started; negative (the HPA at rest) until it has.
elapsed = time.time() - float(LOAD_START.read_text()) if LOAD_START.exists() else -1.0
replicas = 3 if SCALES and UP_AT <= elapsed < DOWN_AT else 1
if args[1] == "hpa":
    print(json.dumps({{
        "spec": {{"minReplicas": 1, "maxReplicas": 5}},
        "status": {{"currentReplicas": replicas, "desiredReplicas": replicas}},
    }}))
else:
    print(json.dumps({{"spec": {{"replicas": replicas}}, "status": {{"readyReplicas": replicas}}}}))
'''


@pytest.fixture(scope="module")
def backend(
    exported_model: Path,
    tmp_path_factory: pytest.TempPathFactory,
    subprocess_env: dict[str, str],
    venv_bin: Path,
) -> Iterator[int]:
    """The real API on 127.0.0.1:<free port>, sqlite storage in a temporary folder; its port."""
    root = tmp_path_factory.mktemp("stress-backend")
    with running_backend(exported_model, root, venv_bin, subprocess_env) as url:
        yield int(url.rsplit(":", 1)[1])


class FlakyBackend(BaseHTTPRequestHandler):
    """Ready, but every third prediction is a 503 (the first one, the playbook's probe, is fine)."""

    counter = itertools.count(1)

    def do_GET(self) -> None:
        self._answer(200, {"ready": True})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if next(self.counter) % 3 == 0:
            self._answer(503, {"detail": "the model is not loaded"})
        else:
            prediction = {"label": "positive", "probability": 0.9, "model_version": "7"}
            self._answer(200, prediction)

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def flaky_backend() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyBackend)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _stress(tmp_path: Path, **extra_vars: object) -> subprocess.CompletedProcess[str]:
    return ansible_playbook(
        PLAYBOOK,
        extra_vars={"stress_test_reports_dir": str(tmp_path / "reports"), **extra_vars},
        tmp_path=tmp_path,
        timeout=300,
    )


def _report(tmp_path: Path) -> tuple[dict, Path]:
    reports = sorted((tmp_path / "reports").glob("stress-*.json"))
    assert len(reports) == 1, reports
    report = json.loads(reports[0].read_text())
    return report, reports[0].with_suffix(".png")


def _assert_real_png(path: Path) -> None:
    assert path.is_file(), path
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 10_000, len(data)


def _fake_kubectl(tmp_path: Path, backend_port: int, *, scales: bool, duration: int) -> Path:
    state_dir = tmp_path / "kubectl"
    state_dir.mkdir()
    script = state_dir / "kubectl"
    script.write_text(
        FAKE_KUBECTL.format(
            python=sys.executable,
            start=1,
            load_start=str(state_dir / "load-start"),
            scales=scales,
            up_at=4.0,
            down_at=float(duration + 6),
            backend_port=backend_port,
        ),
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_docker_target_writes_the_report_and_the_chart(backend: int, tmp_path: Path) -> None:
    # The URL comes from the inventory's address and the platform's API port, as in the demo.
    ports = {"mlflow": 5000, "api": backend, "web": 8501, "web_nodeport": 30001}
    result = _stress(
        tmp_path,
        platform_deploy_target="docker",
        platform_public_address="127.0.0.1",
        platform_ports={**ports, "kibana_nodeport": 30002},
        stress_test_users=5,
        stress_test_spawn_rate=5,
        stress_test_duration=10,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    report, chart = _report(tmp_path)
    assert report["target"] == {"url": f"http://127.0.0.1:{backend}", "kind": "docker"}
    assert report["parameters"]["users"] == 5
    assert report["parameters"]["duration_s"] == 10
    totals = report["totals"]
    assert totals["requests"] > 0
    assert totals["failures"] == 0
    assert totals["rps"] > 0
    assert 0 < totals["p50_ms"] <= totals["p95_ms"] <= totals["p99_ms"]
    assert 8 <= report["load_seconds"] <= 15
    assert len(report["series"]) >= 2
    assert sum(window["requests"] for window in report["series"]) == totals["requests"]
    assert all(window["rps"] > 0 and window["p95_ms"] > 0 for window in report["series"])
    assert report["scaling"] == DOCKER_NOTE
    assert report["replicas"] == []
    assert report["chart"] == chart.name
    _assert_real_png(chart)
    assert f"requests: {totals['requests']} in" in result.stdout


def test_failed_requests_fail_the_play_naming_the_error(flaky_backend: int, tmp_path: Path) -> None:
    result = _stress(
        tmp_path,
        platform_deploy_target="docker",
        stress_test_target_url=f"http://127.0.0.1:{flaky_backend}",
        stress_test_users=2,
        stress_test_duration=4,
    )
    output = " ".join(result.stdout.split())
    assert result.returncode != 0
    report, chart = _report(tmp_path)
    totals = report["totals"]
    assert 0 < totals["failures"] < totals["requests"]
    assert f"{totals['failures']} of {totals['requests']} requests failed (allowed: 0)" in output
    assert "the most frequent: HTTP 503: the model is not loaded" in output
    assert report["errors"][0]["error"] == "HTTP 503: the model is not loaded"
    assert sum(window["failures"] for window in report["series"]) == totals["failures"]
    _assert_real_png(chart)


def test_unreachable_target_fails_fast_naming_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = _stress(tmp_path, platform_deploy_target="docker", stress_test_target_url=url)
    output = " ".join(result.stdout.split())
    assert result.returncode != 0
    assert f"the backend at {url} is not ready" in output
    assert "Connection refused" in output
    assert "No load was sent" in output
    assert not list((tmp_path / "reports").glob("stress-*"))


def test_unbounded_load_is_refused_before_anything_runs(tmp_path: Path) -> None:
    result = _stress(
        tmp_path,
        platform_deploy_target="docker",
        stress_test_target_url="http://127.0.0.1:9",
        stress_test_users=1000,
        stress_test_duration=3600,
        stress_test_expect_scaling=True,
    )
    output = " ".join(result.stdout.split())
    assert result.returncode != 0
    assert "stress_test_users must be 1 to 200, not 1000" in output
    assert "stress_test_duration must be 1 to 600 s, not 3600" in output
    assert "stress_test_expect_scaling cannot be true for the docker target" in output
    assert "Ask the backend whether it is ready" not in output


def test_kubernetes_target_samples_the_hpa_through_a_port_forward(
    backend: int, tmp_path: Path
) -> None:
    duration = 8
    kubectl = _fake_kubectl(tmp_path, backend, scales=True, duration=duration)
    result = _stress(
        tmp_path,
        platform_deploy_target="kubernetes",
        stress_test_kubectl=str(kubectl),
        stress_test_kubeconfig=str(tmp_path / "kubeconfig"),
        stress_test_kube_context="minikube",
        stress_test_users=3,
        stress_test_duration=duration,
        stress_test_sample_interval=1,
        stress_test_scale_out_timeout=30,
        stress_test_scale_in_timeout=30,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    report, chart = _report(tmp_path)
    assert report["target"]["kind"] == "kubernetes"
    forward_port = int(report["target"]["url"].removeprefix("http://127.0.0.1:"))
    assert report["totals"]["requests"] > 0
    assert report["totals"]["failures"] == 0
    scaling = report["scaling"]
    assert scaling["scaled_out"] is True, scaling
    assert scaling["scaled_in"] is True, scaling
    assert scaling["peak_replicas"] == 3
    assert scaling["sample_errors"] == 0
    assert scaling["scale_in_seconds"] >= 0
    # About one sample a second from before the load until the HPA was back at its minimum.
    assert len(report["replicas"]) >= duration
    assert report["replicas"][0]["t_s"] < 0
    _assert_real_png(chart)
    calls = (kubectl.parent / "calls.log").read_text().splitlines()
    flags = f"--kubeconfig {tmp_path / 'kubeconfig'} --context minikube "
    namespace = "--namespace rotten-potatoes"
    assert f"{flags}get hpa backend {namespace} --output json" in calls
    assert f"{flags}get deployment backend {namespace} --output json" in calls
    assert f"{flags}port-forward {namespace} --address 127.0.0.1 service/backend :8000" in calls
    assert all(call.startswith(flags) for call in calls), calls
    assert not _accepts(forward_port), "the port-forward outlived the play"


def test_kubernetes_target_without_scale_out_fails_with_the_report(
    backend: int, tmp_path: Path
) -> None:
    kubectl = _fake_kubectl(tmp_path, backend, scales=False, duration=4)
    result = _stress(
        tmp_path,
        platform_deploy_target="kubernetes",
        stress_test_target_url=f"http://127.0.0.1:{backend}",
        stress_test_kubectl=str(kubectl),
        stress_test_users=2,
        stress_test_duration=4,
        stress_test_sample_interval=1,
        stress_test_scale_out_timeout=30,
        stress_test_scale_in_timeout=30,
    )
    output = " ".join(result.stdout.split())
    assert result.returncode != 0
    assert "did not scale backend out to 2 ready pods within 30 s" in output
    assert "peak: 1" in output
    report, chart = _report(tmp_path)
    assert report["scaling"]["scaled_out"] is False
    assert report["totals"]["failures"] == 0
    _assert_real_png(chart)
    assert "port-forward" not in (kubectl.parent / "calls.log").read_text()
