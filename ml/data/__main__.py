"""``python -m ml.data --version N``: prepare a data version (see ml.data.prepare)."""

from ml.data.prepare import main
from ml.errors import run_cli

if __name__ == "__main__":
    raise SystemExit(run_cli("ml.data", main, None))
