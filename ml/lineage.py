"""Facts that tie a model to the code and data it came from."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

UNKNOWN = "unknown"


def _git(project_dir: Path, *args: str) -> str | None:
    """A git command's output, or None outside a work tree or without git."""
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=project_dir,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip()


def git_sha(project_dir: Path) -> str:
    """The checked-out commit, or ``unknown`` outside a git work tree."""
    return _git(project_dir, "rev-parse", "HEAD") or UNKNOWN


def git_dirty(project_dir: Path) -> bool:
    """Whether tracked files differ from the commit (the sha then does not tell the whole story)."""
    return bool(_git(project_dir, "status", "--porcelain", "--untracked-files=no"))


def file_digest(path: Path, algorithm: str = "md5") -> str:
    """Hex digest of a file; DVC 3 records a file's md5 the same way."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
