"""Compare recent predictions with the reference (``python -m ml.monitor`` runs ``main``).

Reads the predictions stored in the last ``monitor.window_hours`` from ``DATABASE_URL``, scores
the hold-out with the served model as the reference, and measures the review length, the
out-of-vocabulary rate, the confidence, the share of positive predictions and the accuracy on
the window's feedback. Writes ``drift.html`` and ``summary.json`` to ``--out`` and prints the
summary. Exit status: 0 no drift (or too few predictions to judge), 3 retrain advised, 2 bad
input.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml.errors import PipelineError
from ml.monitor.drift import measure_drift
from ml.monitor.reference import load_reference, signals_frame
from ml.monitor.report import REPORT_FILE, write_outputs
from ml.monitor.served import load_served_model
from ml.monitor.signals import VocabularyProbe
from ml.monitor.verdict import (
    EXIT_RETRAIN_ADVISED,
    distribution_checks,
    feedback_check,
    verdict_of,
)
from ml.monitor.window import Window, read_window
from ml.params import load_params
from ml.settings import MLSettings
from ml.store import StoreSettings, open_store
from ml.text import clean_text

log = logging.getLogger(__name__)


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ml.monitor", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--model", type=Path, default=Path("build/model"), help="exported model")
    parser.add_argument(
        "--reference", type=Path, default=Path("data/test.csv"), help="hold-out CSV"
    )
    parser.add_argument("--hours", type=float, help="window length (params: monitor.window_hours)")
    parser.add_argument("--until", type=_moment, help="window end, ISO 8601 (default: now)")
    parser.add_argument("--out", type=Path, default=Path("reports/monitor"), help="output folder")
    return parser


def window_signals(window: Window, probe: VocabularyProbe, oov_sample: int) -> pd.DataFrame:
    """The window's signals: lengths of the cleaned text (the stored length without text), and
    the out-of-vocabulary rate of a seeded sample of at most ``oov_sample`` reviews (NaN for the
    others, which the statistics skip)."""
    frame = window.frame
    texts = frame["text"]
    has_text = np.flatnonzero(texts.notna().to_numpy())
    cleaned = [clean_text(text) for text in texts.iloc[has_text]]
    lengths = frame["text_length"].to_numpy(dtype=np.int64).copy()
    lengths[has_text] = [len(text) for text in cleaned]
    oov = np.full(len(frame), np.nan)
    picked = np.arange(len(has_text))
    if len(picked) > oov_sample:
        picked = np.sort(np.random.default_rng(0).choice(picked, oov_sample, replace=False))
    oov[has_text[picked]] = probe.oov_rates([cleaned[index] for index in picked])
    return signals_frame(lengths, oov, frame["positive_probability"].to_numpy())


def _timed(stage: str, started: float) -> float:
    now = time.perf_counter()
    log.info("%s: %.1f s", stage, now - started)
    return now


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = MLSettings()
    params = load_params(settings.path(settings.params_file)).monitor
    store = StoreSettings()
    hours = params.window_hours if args.hours is None else args.hours
    if hours <= 0:
        raise PipelineError(f"--hours must be positive (got {hours})")
    end = args.until or datetime.now(UTC)
    start = end - timedelta(hours=hours)
    out_dir = settings.path(args.out)

    clock = time.perf_counter()
    model = load_served_model(settings.path(args.model))
    engine = open_store(store.database_url, store.connect_timeout_seconds)
    try:
        window = read_window(engine, start, end)
    finally:
        engine.dispose()
    clock = _timed(f"read {window.size} predictions", clock)

    probe = VocabularyProbe(model.pipeline.named_steps["tfidf"])
    reference = load_reference(settings.path(args.reference), model, probe)
    clock = _timed(f"scored {len(reference.signals)} reference reviews", clock)
    summary: dict[str, Any] = {
        "window": {
            "from": start.isoformat(timespec="seconds"),
            "to": end.isoformat(timespec="seconds"),
            "predictions": window.size,
            "with_text": int(window.frame["text"].notna().sum()),
            "model_versions": sorted(map(str, window.frame["model_version"].unique())),
        },
        "reference": {
            "source": str(args.reference),
            "rows": len(reference.signals),
            "model_version": model.version,
            "positive_share": round(reference.positive_share, 4),
            "accuracy": round(reference.accuracy, 4),
        },
        "thresholds": params.model_dump(),
        "report": str(args.out / REPORT_FILE),
    }
    feedback, verdicts = feedback_check(window.frame, reference.accuracy, params)
    summary["window"]["feedback"] = verdicts
    snapshot = None
    checks = [feedback]
    enough = window.size >= params.min_window_rows
    if enough:
        current = window_signals(window, probe, params.oov_sample)
        summary["window"]["oov_measured"] = int(current["oov_rate"].notna().sum())
        clock = _timed("window signals", clock)
        drift = measure_drift(reference.signals, current, params)
        clock = _timed("drift statistics", clock)
        checks = [*distribution_checks(reference.signals, current, drift, params), feedback]
        snapshot = drift.snapshot
    else:
        log.info(
            "%s predictions in the window, fewer than monitor.min_window_rows (%s): not judged",
            window.size,
            params.min_window_rows,
        )
    verdict = verdict_of(checks, enough)
    summary = {
        "verdict": verdict,
        "retrain_advised": verdict == "retrain_advised",
        "flagged": [check.name for check in checks if check.flagged],
        **summary,
        "checks": [check.as_dict() for check in checks],
    }
    write_outputs(out_dir, summary, checks, snapshot)
    _timed("report", clock)
    print(json.dumps(summary, indent=2))
    log.info("%s%s", verdict, f": {', '.join(summary['flagged'])}" if summary["flagged"] else "")
    return EXIT_RETRAIN_ADVISED if verdict == "retrain_advised" else 0
