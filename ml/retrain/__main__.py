"""``python -m ml.retrain``: should the model be retrained now, and why (see ml.retrain.cli)."""

from ml.errors import run_cli
from ml.retrain.cli import main

if __name__ == "__main__":
    raise SystemExit(run_cli("ml.retrain", main, None))
