"""A throwaway SSH test host: the systemd base image, sshd on a free 127.0.0.1 port, accounts.

The host key is read through `docker exec` (a channel the test already trusts) and pinned in a
known_hosts file the test writes, so SSH runs with strict host key checking like a real site.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What a systemd container needs where --privileged is refused (see .config/molecule/config.yml).
SYSTEMD_FLAGS = (
    "--cap-add",
    "SYS_ADMIN",
    "--cap-add",
    "NET_ADMIN",
    "--security-opt",
    "seccomp=unconfined",
    "--cgroupns=host",
    "-v",
    "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs",
    "/run",
    "--tmpfs",
    "/run/lock",
)


def _docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=check
    )


def new_key(folder: Path, name: str) -> Path:
    """An ed25519 key pair without passphrase; returns the private key's path (mode 0600)."""
    key = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
        check=True,
        capture_output=True,
    )
    return key


@dataclass(frozen=True)
class SshHost:
    container: str
    port: int
    known_hosts: Path

    def run(self, script: str) -> str:
        """Run a shell script as root through Docker (setup only, never what is tested)."""
        result = _docker("exec", self.container, "bash", "-euc", script)
        return result.stdout

    def add_user(self, name: str, key: Path, *, groups: str = "", sudo_rule: str = "") -> None:
        """An account that accepts `key`; optional supplementary groups and a sudoers.d rule."""
        public = key.with_suffix(".pub").read_text(encoding="utf-8").strip()
        group_option = f"--append --groups {groups}" if groups else ""
        # Debian's base ships a *group* named `operator` (gid 37) and no such user: useradd would
        # refuse (exit 9) to create the user's own group of that name, so the user joins it.
        self.run(
            f"id -u {name} >/dev/null 2>&1 || useradd --create-home"
            f" $(getent group {name} >/dev/null && echo --gid {name}) {name}\n"
            f"usermod --shell /bin/bash --home /home/{name} {group_option} {name}\n"
            f"install -d -m 0750 -o {name} -g $(id -gn {name}) /home/{name}\n"
            f"usermod --unlock {name} 2>/dev/null || true\n"
            f"install -d -m 0700 -o {name} -g $(id -gn {name}) /home/{name}/.ssh\n"
            f"printf '%s\\n' '{public}' > /home/{name}/.ssh/authorized_keys\n"
            f"chown {name}: /home/{name}/.ssh/authorized_keys\n"
            f"chmod 0600 /home/{name}/.ssh/authorized_keys\n"
            + (
                f"printf '%s\\n' '{sudo_rule}' > /etc/sudoers.d/{name}\n"
                f"chmod 0440 /etc/sudoers.d/{name}\nvisudo -cq\n"
                if sudo_rule
                else ""
            )
        )

    def inventory(self, folder: Path, user: str, key: Path, **host_vars: str) -> Path:
        """An inventory with this host as `rp-ssh-test`, reached over SSH as `user` with `key`."""
        lines = [
            "all:",
            "  hosts:",
            "    rp-ssh-test:",
            "      ansible_connection: ssh",
            "      ansible_host: 127.0.0.1",
            f"      ansible_port: {self.port}",
            f"      ansible_user: {user}",
            f"      ansible_ssh_private_key_file: {key}",
            # No connection sharing: each run must authenticate as itself (a master connection
            # of an earlier run would let a refused key in).
            "      ansible_ssh_args: -o ControlMaster=no -o IdentitiesOnly=yes",
            "      ansible_ssh_common_args: >-",
            f"        -o UserKnownHostsFile={self.known_hosts} -o GlobalKnownHostsFile=/dev/null",
            "        -o StrictHostKeyChecking=yes",
        ]
        lines += [f"      {name}: {value}" for name, value in host_vars.items()]
        inventory = folder / f"hosts-{user}-{uuid.uuid4().hex[:6]}.yml"
        inventory.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return inventory


def _base_image() -> str:
    result = subprocess.run(
        [str(ROOT / "scripts" / "build-base-images.sh"), "systemd"],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def _wait_for_sshd(container: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        probe = _docker("exec", container, "systemctl", "is-active", "ssh", check=False)
        state = probe.stdout.strip()
        if state == "active":
            return
        time.sleep(1)
    journal = _docker("exec", container, "journalctl", "-u", "ssh", "--no-pager", check=False)
    raise RuntimeError(
        f"sshd in {container} is {state or 'unknown'} after {timeout} s:\n{journal.stdout}"
    )


@contextmanager
def ssh_test_host(folder: Path) -> Iterator[SshHost]:
    """Start the host, pin its key in folder/known_hosts, and remove the container afterwards."""
    image = _base_image()
    container = f"rp-ssh-test-{uuid.uuid4().hex[:10]}"
    _docker(
        "run", "--detach", "--name", container, "--hostname", "rp-ssh-test",
        *SYSTEMD_FLAGS, "--publish", "127.0.0.1::22", image, "/sbin/init",
    )  # fmt: skip
    try:
        _wait_for_sshd(container)
        published = _docker("port", container, "22/tcp").stdout.split()[0]
        port = int(published.rsplit(":", 1)[1])
        host_key = _docker("exec", container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout
        key_type, key_data = host_key.split()[:2]
        known_hosts = folder / "known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{port} {key_type} {key_data}\n", encoding="utf-8")
        yield SshHost(container=container, port=port, known_hosts=known_hosts)
    finally:
        _docker("rm", "--force", "--volumes", container, check=False)
