"""playbooks/sandbox.yml for real: create, reach, re-run without changes, destroy.

Uses its own container name and free ports, so a sandbox the developer runs is left alone.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.playbooks.conftest import ansible_playbook, recap_changed
from tests.support.network import free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("docker") is None, reason="needs a Docker engine"),
]

NAME = "rp-sandbox-pytest"


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)


def test_create_reach_rerun_destroy(tmp_path: Path) -> None:
    ports = [free_port(), free_port()]
    extra_vars = {
        "sandbox_container_name": NAME,
        "sandbox_published_ports": [f"127.0.0.1:{ports[0]}:5000", f"127.0.0.1:{ports[1]}:8501"],
    }
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        f"all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        f"      ansible_python_interpreter: '{{{{ ansible_playbook_python }}}}'\n"
        f"    {NAME}:\n      ansible_connection: community.docker.docker\n"
        f"      ansible_python_interpreter: /usr/bin/python3\n"
    )
    try:
        created = ansible_playbook(
            "playbooks/sandbox.yml", inventory=inventory, extra_vars=extra_vars, tmp_path=tmp_path
        )
        assert created.returncode == 0, created.stdout + created.stderr

        bindings = json.loads(
            _docker("inspect", NAME, "--format", "{{json .HostConfig.PortBindings}}").stdout
        )
        host_ips = {b["HostIp"] for entries in bindings.values() for b in entries}
        assert host_ips == {"127.0.0.1"}, bindings
        assert _docker("exec", NAME, "systemctl", "is-system-running").stdout.strip() in {
            "running",
            "degraded",
        }

        ping = subprocess.run(
            [
                str(Path(sys.executable).parent / "ansible"),
                NAME,
                "-i",
                str(inventory),
                "-m",
                "ping",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert ping.returncode == 0 and "pong" in ping.stdout, ping.stdout + ping.stderr

        again = ansible_playbook(
            "playbooks/sandbox.yml", inventory=inventory, extra_vars=extra_vars, tmp_path=tmp_path
        )
        assert again.returncode == 0
        assert recap_changed(again.stdout) == 0, again.stdout
    finally:
        destroyed = ansible_playbook(
            "playbooks/sandbox.yml",
            inventory=inventory,
            extra_vars={**extra_vars, "sandbox_state": "absent"},
            tmp_path=tmp_path,
        )
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    assert _docker("inspect", NAME).returncode != 0
    assert _docker("volume", "inspect", f"{NAME}-docker").returncode != 0


def test_a_taken_port_stops_before_anything_is_created(tmp_path: Path) -> None:
    name = f"{NAME}-port"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        inventory = tmp_path / "hosts.yml"
        inventory.write_text(
            "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
            "      ansible_python_interpreter: '{{ ansible_playbook_python }}'\n"
        )
        result = ansible_playbook(
            "playbooks/sandbox.yml",
            inventory=inventory,
            extra_vars={
                "sandbox_container_name": name,
                "sandbox_published_ports": [f"127.0.0.1:{taken}:8000"],
            },
            tmp_path=tmp_path,
        )
    assert result.returncode != 0
    message = " ".join(result.stdout.split())
    assert f"Port {taken} on 127.0.0.1 is already in use" in message, result.stdout
    assert "platform_ports.api" in message
    assert _docker("inspect", name).returncode != 0
