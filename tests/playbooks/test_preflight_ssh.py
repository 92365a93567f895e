"""Preflight over SSH, against a throwaway SSH test host (tests/support/ssh_host.py).

The operator's path: a non-root account with sudo. Each bad input must stop in preflight with
one message that names the host and the fix, and change nothing: a key the host refuses, a host
key that is not the pinned one, a user without sudo, sudo that wants a password none was given
(or a wrong one), a host without python3, and a missing setfacl where a component switches to
an unprivileged user.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.playbooks.conftest import ansible_playbook, recap_changed
from tests.support.ssh_host import SshHost, new_key, ssh_test_host

pytestmark = pytest.mark.integration

COMPONENTS = ("docker", "dvc_remote", "mlflow", "kubectl", "minikube", "vault", "jenkins", "elk")
NO_COMPONENTS = dict.fromkeys((*COMPONENTS, "app_deploy"), False)
NOTHING_NEEDED = {"base": {"memory_mb": 0, "vcpus": 0, "disk_gb": 0}}
PASSWORD = "correct-horse-battery"  # noqa: S105 - the throwaway host's test account, not a secret


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keys")
    return {name: new_key(folder, name) for name in ("accepted", "refused")}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, keys: dict[str, Path]) -> Iterator[SshHost]:
    with ssh_test_host(tmp_path_factory.mktemp("ssh-host")) as started:
        started.add_user(
            "operator", keys["accepted"], groups="sudo", sudo_rule="operator ALL=(ALL) NOPASSWD:ALL"
        )
        started.add_user("nosudo", keys["accepted"])
        # Debian's default rule for group sudo asks for the password.
        started.add_user("pwsudo", keys["accepted"], groups="sudo")
        started.run(f"echo 'pwsudo:{PASSWORD}' | chpasswd")
        yield started


def _preflight(
    inventory: Path, tmp_path: Path, components: dict[str, bool] | None = None, **extra: str
) -> tuple[int, str]:
    result = ansible_playbook(
        "playbooks/preflight.yml",
        inventory=inventory,
        extra_vars={
            "platform_components": components or NO_COMPONENTS,
            "platform_requirements": NOTHING_NEEDED,
            "preflight_check_sources": False,
            **extra,
        },
        tmp_path=tmp_path,
        timeout=300,
    )
    assert recap_changed(result.stdout) == 0, result.stdout
    return result.returncode, " ".join((result.stdout + result.stderr).split())


def _assert_stops_with(code: int, output: str, *expected: str) -> None:
    assert code != 0, output
    assert "Preflight found 1 problem(s); nothing was changed" in output, output
    for text in expected:
        assert text in output, f"missing {text!r} in:\n{output}"


def test_operator_with_passwordless_sudo_passes(
    host: SshHost, keys: dict[str, Path], tmp_path: Path
) -> None:
    code, output = _preflight(host.inventory(tmp_path, "operator", keys["accepted"]), tmp_path)
    assert code == 0, output
    assert "rp-ssh-test runs base; all checks passed." in output


def test_a_refused_key_names_the_host_user_key_and_fix(
    host: SshHost, keys: dict[str, Path], tmp_path: Path
) -> None:
    code, output = _preflight(host.inventory(tmp_path, "operator", keys["refused"]), tmp_path)
    _assert_stops_with(
        code,
        output,
        f"rp-ssh-test: the host refused the SSH key {keys['refused']} for user operator;",
        "add its public key to ~operator/.ssh/authorized_keys on the host"
        f" (ssh-copy-id -i {keys['refused']}.pub)",
    )


def test_a_host_key_that_is_not_the_pinned_one_stops(
    host: SshHost, keys: dict[str, Path], tmp_path: Path
) -> None:
    impostor = new_key(tmp_path, "impostor").with_suffix(".pub").read_text(encoding="utf-8").split()
    known_hosts = tmp_path / "known_hosts"
    pinned = f"[127.0.0.1]:{host.port} {impostor[0]} {impostor[1]}\n"
    known_hosts.write_text(pinned, encoding="utf-8")
    pinned_elsewhere = SshHost(host.container, host.port, known_hosts)
    code, output = _preflight(
        pinned_elsewhere.inventory(tmp_path, "operator", keys["accepted"]), tmp_path
    )
    _assert_stops_with(
        code,
        output,
        "rp-ssh-test: its SSH host key is not the one in known_hosts",
        "never turn off StrictHostKeyChecking",
    )


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        (
            "nosudo",
            ("rp-ssh-test: user nosudo has no sudo rights; as root run usermod -aG sudo nosudo",),
        ),
        (
            "pwsudo",
            (
                "rp-ssh-test: sudo asks user pwsudo for a password and none was given;",
                "--ask-become-pass (-K)",
            ),
        ),
    ],
    ids=["a-user-without-sudo", "sudo-asks-a-password-none-was-given"],
)
def test_a_sudo_problem_is_named_with_its_fix(
    host: SshHost, keys: dict[str, Path], tmp_path: Path, user: str, expected: tuple[str, ...]
) -> None:
    code, output = _preflight(host.inventory(tmp_path, user, keys["accepted"]), tmp_path)
    _assert_stops_with(code, output, *expected)


def test_a_wrong_become_password_is_named_and_not_printed(
    host: SshHost, keys: dict[str, Path], tmp_path: Path
) -> None:
    inventory = host.inventory(
        tmp_path,
        "pwsudo",
        keys["accepted"],
        ansible_become_password="not-the-password",  # noqa: S106 - a wrong one, on purpose
    )
    code, output = _preflight(inventory, tmp_path)
    _assert_stops_with(
        code, output, "rp-ssh-test: sudo refused the become password given for user pwsudo"
    )
    assert "not-the-password" not in output


def test_the_right_become_password_passes(
    host: SshHost, keys: dict[str, Path], tmp_path: Path
) -> None:
    inventory = host.inventory(
        tmp_path, "pwsudo", keys["accepted"], ansible_become_password=PASSWORD
    )
    code, output = _preflight(inventory, tmp_path)
    assert code == 0, output
    assert "all checks passed" in output


def test_a_missing_setfacl_stops_a_component_that_switches_users(
    host: SshHost, keys: dict[str, Path], tmp_path: Path
) -> None:
    inventory = host.inventory(tmp_path, "operator", keys["accepted"])
    inventory.write_text(
        inventory.read_text(encoding="utf-8")
        + "  children:\n    dvc_storage:\n      hosts:\n        rp-ssh-test:\n",
        encoding="utf-8",
    )
    code, output = _preflight(
        inventory,
        tmp_path,
        {**NO_COMPONENTS, "dvc_remote": True},
        dvc_remote_roundtrip_user="nobody",
    )
    _assert_stops_with(
        code,
        output,
        "rp-ssh-test: from the non-root login operator, dvc_remote needs setfacl to run tasks as an"
        " unprivileged user; install the acl package as root (apt-get install -y acl)",
    )


def test_a_host_without_python3_is_told_to_install_it(
    host: SshHost, keys: dict[str, Path], tmp_path: Path
) -> None:
    # Hidden, not removed, so the host is whole again for any test after this one.
    host.run("mkdir -p /root/hidden && mv /usr/bin/python3 /usr/bin/python3.11 /root/hidden/")
    try:
        code, output = _preflight(host.inventory(tmp_path, "operator", keys["accepted"]), tmp_path)
    finally:
        host.run("mv /root/hidden/python3 /root/hidden/python3.11 /usr/bin/")
    _assert_stops_with(
        code,
        output,
        "rp-ssh-test: no python3 on the host, and Ansible runs its modules with it;",
        "apt-get install -y python3",
    )
