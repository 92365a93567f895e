"""What each benchmark needs outside the venv, checked before it does any work.

``make bench-*`` installs the distribution's packages first (``make bench-tools``); run directly
(``python -m bench.serve``), a benchmark stops at once and names the command to run, instead of
failing with a traceback after minutes of training.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from tests.support.postgres import postgres_bin


def _venv_tool(name: str) -> bool:
    return (Path(sys.executable).parent / name).exists() or shutil.which(name) is not None


# tool -> (is it there?, the command that installs it)
_TOOLS: dict[str, tuple[Callable[[], bool], str]] = {
    "wrk": (lambda: shutil.which("wrk") is not None, "make bench-tools (apt-get install wrk)"),
    "postgresql": (
        lambda: postgres_bin() is not None,
        "make bench-tools (apt-get install postgresql)",
    ),
    "py-spy": (lambda: _venv_tool("py-spy"), "make venv (py-spy is in the dev extra)"),
    "docker": (lambda: shutil.which("docker") is not None, "make docker-engine"),
}


def missing(*tools: str) -> list[str]:
    """The ``tools`` that are not installed, each with the command that installs it."""
    return [f"{tool}: run `{_TOOLS[tool][1]}`" for tool in tools if not _TOOLS[tool][0]()]


def require(benchmark: str, *tools: str) -> None:
    """Stop the process with exit status 2 and one line per missing tool, before any work."""
    absent = missing(*tools)
    if absent:
        print(f"{benchmark}: missing " + "; ".join(absent), file=sys.stderr)
        raise SystemExit(2)
