"""Evaluate the registered candidate from the registry: ``python -m ml.evaluate``.

The DVC ``evaluate`` stage. It loads the version that ``ml.train`` registered (not the object
still in memory), verified against its registry tags and with the code it was trained with, as
every consumer does, so it proves the logged artifact round-trips; then it writes the metrics and
the plot data DVC shows. Scores that differ from those logged at training time are an error.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence

from ml import tracking
from ml.data import read as dataset
from ml.errors import PipelineError, run_cli
from ml.files import atomic_write
from ml.metrics import evaluate
from ml.settings import MLSettings

log = logging.getLogger(__name__)

# Scores are rounded to 6 places when logged; anything beyond that is a different model.
TOLERANCE = 1e-5


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ml.evaluate", description=__doc__.split("\n")[0]
    )
    parser.parse_args(argv)
    settings = MLSettings()
    report_path = settings.reports_dir / "train.json"
    try:
        trained = json.loads(report_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{report_path} not found; run python -m ml.train first") from None
    client = tracking.connect(settings)
    version = tracking.get_version(client, trained["model_name"], trained["model_version"])
    model = tracking.load_verified(version)
    evaluation = evaluate(model, dataset.read_split(settings.data_dir, "test"))
    scores = evaluation.scores.as_dict()
    drift = {k: (trained[k], v) for k, v in scores.items() if abs(trained[k] - v) > TOLERANCE}
    if drift:
        raise PipelineError(
            f"registered version {trained['model_version']} scores differently from the trained "
            f"model: {drift}"
        )
    metrics = {"model_version": trained["model_version"], **scores}
    atomic_write(
        settings.reports_dir / "metrics.json", (json.dumps(metrics, indent=2) + "\n").encode()
    )
    plots_dir = settings.reports_dir / "plots"
    atomic_write(
        plots_dir / "confusion.csv",
        evaluation.confusion_rows().to_csv(index=False, lineterminator="\n").encode(),
    )
    atomic_write(
        plots_dir / "roc.csv",
        evaluation.roc_points().to_csv(index=False, lineterminator="\n").encode(),
    )
    log.info("version %s on the hold-out: %s", trained["model_version"], scores)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli("ml.evaluate", main, None))
