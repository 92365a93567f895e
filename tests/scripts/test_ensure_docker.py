"""scripts/ensure-docker.sh on a machine without Docker, as a user who cannot install it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SETPRIV = shutil.which("setpriv")


@pytest.mark.skipif(os.geteuid() != 0 or SETPRIV is None, reason="needs root to drop to nobody")
def test_no_engine_and_no_root_says_what_to_install() -> None:
    # A PATH with `id` only: no docker, no dockerd, no apt-get. Outside pytest's tmp_path, whose
    # 0700 parents would lock the unprivileged user out.
    with tempfile.TemporaryDirectory() as tmp:
        result = _run_as_nobody(Path(tmp))
    assert result.returncode == 1, result.stderr
    assert "no Docker engine is installed" in result.stderr
    assert "sudo make docker-engine" in result.stderr
    assert "apt-get install docker.io" in result.stderr


def _run_as_nobody(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    tmp_path.chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "id").symlink_to(shutil.which("id") or "/usr/bin/id")
    return subprocess.run(
        [
            SETPRIV,
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/bin/bash",
            str(REPO_ROOT / "scripts" / "ensure-docker.sh"),
        ],
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
