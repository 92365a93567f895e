"""``python -m ml.feedback``: export the users' verdicts as a snapshot (see ml.feedback.cli)."""

from ml.errors import run_cli
from ml.feedback.cli import main

if __name__ == "__main__":
    raise SystemExit(run_cli("ml.feedback", main, None))
