"""The preflight, run for real against this machine (connection local).

A local HTTP server stands in for the package index mirrors, so the passing case needs no
network; the failing case combines every kind of problem and expects one message naming all.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from tests.playbooks.conftest import ansible_playbook, recap_changed

pytestmark = pytest.mark.integration

OFFLINE_COMPONENTS = {
    "docker": False,
    "dvc_remote": True,
    "mlflow": True,
    "kubectl": False,
    "minikube": False,
    "vault": False,
    "jenkins": False,
    "elk": False,
}


class _IndexHandler(http.server.BaseHTTPRequestHandler):
    """Answers 200 for any package page, like a PyPI simple index mirror."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><body>mirror</body></html>")

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def mirror() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _IndexHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    finally:
        server.shutdown()


def test_passes_and_changes_nothing(mirror: str, tmp_path: Path) -> None:
    result = ansible_playbook(
        "playbooks/preflight.yml",
        extra_vars={
            "platform_components": OFFLINE_COMPONENTS,
            "mlflow_pip_index_url": mirror,
            "dvc_remote_pip_index_url": mirror,
        },
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all checks passed" in result.stdout
    assert recap_changed(result.stdout) == 0


def test_lists_every_problem_in_one_message(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    # No vault_servers group, although vault is enabled below.
    inventory.write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: '{{ ansible_playbook_python }}'\n"
        "  children:\n    tracking:\n      hosts:\n        localhost:\n"
        "    dvc_storage:\n      hosts:\n        localhost:\n"
    )
    dead_mirror = "http://127.0.0.1:9/simple"
    result = ansible_playbook(
        "playbooks/preflight.yml",
        inventory=inventory,
        extra_vars={
            "platform_components": {**OFFLINE_COMPONENTS, "vault": True},
            "platform_supported_os": {"Debian": ["99"]},
            "platform_requirements": {
                "base": {"memory_mb": 10**8, "vcpus": 512, "disk_gb": 10**6},
                "mlflow": {"memory_mb": 0, "vcpus": 0, "disk_gb": 0},
                "dvc_remote": {"memory_mb": 0, "vcpus": 0, "disk_gb": 0},
                "vault": {"memory_mb": 0, "vcpus": 0, "disk_gb": 0},
            },
            "mlflow_pip_index_url": dead_mirror,
            "dvc_remote_pip_index_url": dead_mirror,
            "preflight_source_timeout": 3,
        },
        tmp_path=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Preflight found 7 problem(s); nothing was changed" in output, output
    for expected in (
        "component vault is enabled but inventory group vault_servers has no hosts",
        "is not supported (supported: Debian 99)",
        "MB needed for base, dvc_remote, mlflow",
        "vCPUs, 512 needed",
        "GB needed",
        f"mlflow needs Python package index at {dead_mirror}/mlflow/",
        "point mlflow_pip_index_url at a mirror (see offline.yml)",
        f"dvc_remote needs Python package index at {dead_mirror}/dvc/",
    ):
        assert expected in output, f"missing {expected!r} in:\n{output}"
    assert recap_changed(result.stdout) == 0


class _HeadOnlyHandler(http.server.BaseHTTPRequestHandler):
    """Answers HEAD and records the methods it saw; a GET would be a full download."""

    methods: ClassVar[list[str]] = []

    def do_HEAD(self) -> None:
        self.methods.append("HEAD")
        self.send_response(200)
        self.end_headers()

    def do_GET(self) -> None:
        self.methods.append("GET")
        self.send_response(500)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return


class _NoHeadMissingHandler(http.server.BaseHTTPRequestHandler):
    """Refuses HEAD (405) and has nothing to GET (404)."""

    def do_HEAD(self) -> None:
        self.send_response(405)
        self.end_headers()

    def do_GET(self) -> None:
        self.send_response(404)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return


def _serve(handler: type[http.server.BaseHTTPRequestHandler]) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_sources_are_probed_with_head_and_get_only_when_head_is_refused(tmp_path: Path) -> None:
    head_only, no_head = _serve(_HeadOnlyHandler), _serve(_NoHeadMissingHandler)
    try:
        no_head_url = f"http://127.0.0.1:{no_head.server_address[1]}/simple"
        result = ansible_playbook(
            "playbooks/preflight.yml",
            extra_vars={
                "platform_components": OFFLINE_COMPONENTS,
                "mlflow_pip_index_url": f"http://127.0.0.1:{head_only.server_address[1]}/simple",
                "dvc_remote_pip_index_url": no_head_url,
            },
            tmp_path=tmp_path,
        )
    finally:
        head_only.shutdown()
        no_head.shutdown()
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert _HeadOnlyHandler.methods == ["HEAD"], _HeadOnlyHandler.methods
    assert f"dvc_remote needs Python package index at {no_head_url}/dvc/" in output, output
    assert "HTTP Error 404" in output or "HTTP 404" in output, output
    assert "mlflow needs" not in output
