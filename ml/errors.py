"""Errors that end a command with a readable message instead of a traceback."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence

EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2


class PipelineError(Exception):
    """A failure the operator can fix; its message says what and how."""

    exit_code = EXIT_BAD_INPUT


class GateRefusedError(PipelineError):
    """The promotion gate refused a candidate; CI must stop."""

    exit_code = EXIT_REFUSED


def run_cli(
    prog: str, main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None
) -> int:
    """Run a command's ``main``, turning PipelineError into one line on stderr and an exit code."""
    logging.basicConfig(level=logging.INFO, format=f"{prog}: %(message)s", stream=sys.stderr)
    try:
        return main(argv)
    except PipelineError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return error.exit_code
