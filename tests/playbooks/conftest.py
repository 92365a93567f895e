"""Helpers for running the project's playbooks for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def ansible_playbook(
    playbook: str,
    *,
    inventory: str | Path = "inventories/local",
    extra_vars: dict | None = None,
    extra_args: tuple[str, ...] = (),
    tmp_path: Path,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run ansible-playbook from the repository root with the venv's binaries."""
    command = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i",
        str(inventory),
        playbook,
    ]
    if extra_vars:
        vars_file = tmp_path / f"extra-vars-{len(list(tmp_path.glob('extra-vars-*')))}.json"
        vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
        command += ["-e", f"@{vars_file}"]
    command += list(extra_args)
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def recap_changed(output: str) -> int:
    """Total 'changed=' over the PLAY RECAP lines."""
    total = 0
    for line in output.splitlines():
        if "changed=" in line and ("ok=" in line):
            total += int(line.split("changed=")[1].split()[0])
    return total
