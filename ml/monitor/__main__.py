"""``python -m ml.monitor``: drift and confidence of live predictions (see ml.monitor.cli)."""

from ml.errors import run_cli
from ml.monitor.cli import main

if __name__ == "__main__":
    raise SystemExit(run_cli("ml.monitor", main, None))
