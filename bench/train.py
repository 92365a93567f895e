"""Tuning, training and the service's own load and scoring path: ``make bench``
(or ``python -m bench.train``).

For each data version it runs the real commands (``ml.data``, ``ml.tune``, ``ml.train``,
``ml.export``) in a scratch project with its own sqlite MLflow store, then loads the export
exactly as the service does (``app.backend.model.load_folder``: read and checksum the pickle and
its code, unpickle against that code, compile the scorer; each step timed) and times what the
service serves with: the compiled scorer, one review per call and in batches, side by side with
sklearn's ``predict_proba`` in the same run. Results go to ``bench/results/train.json`` and a
Markdown table on stdout for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results" / "train.json"
SINGLE_CALLS = 2000
BATCH_SIZE = 1000
BATCH_REPEATS = 5
TARGETS = {"accuracy_v2_min": 0.915, "fit_seconds_v2_max": 30.0, "scorer_p50_ms_max": 2.0}


def _run(project: Path, *args: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "RP_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", *args],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - started


def _timings(score: Callable[[list[str]], object], reviews: list[str]) -> dict[str, float]:
    """p50/p99 of one review per call, and the median rate of batches of BATCH_SIZE."""
    timings = []
    for index in range(SINGLE_CALLS):
        text = [reviews[index % len(reviews)]]
        started = time.perf_counter()
        score(text)
        timings.append(time.perf_counter() - started)
    rates = []
    for _ in range(BATCH_REPEATS):
        started = time.perf_counter()
        score(reviews[:BATCH_SIZE])
        rates.append(BATCH_SIZE / (time.perf_counter() - started))
    quantiles = np.quantile(np.array(timings) * 1000, [0.5, 0.99])
    return {
        "p50_ms": round(float(quantiles[0]), 3),
        "p99_ms": round(float(quantiles[1]), 3),
        "batch_reviews_per_s": round(statistics.median(rates)),
    }


def service_load_and_scoring(out: Path, reviews: list[str]) -> dict[str, object]:
    """Load like the service (verified, trained code, compiled scorer) and time its scoring."""
    from app.backend.model import load_folder

    started = time.perf_counter()
    predictor = load_folder(out)
    load_seconds = time.perf_counter() - started
    scorer = _timings(predictor.positive_probabilities, reviews)
    pipeline = predictor.pipeline
    sklearn = _timings(lambda texts: pipeline.predict_proba(np.array(texts, dtype=object)), reviews)
    return {
        "fast_path": predictor.fast_path,
        "load_seconds": round(load_seconds, 3),
        "checksum_seconds": round(predictor.load_seconds["verify"], 3),
        "unpickle_seconds": round(predictor.load_seconds["unpickle"], 3),
        "scorer_compile_seconds": round(predictor.load_seconds["scorer"], 3),
        "scorer_p50_ms": scorer["p50_ms"],
        "scorer_p99_ms": scorer["p99_ms"],
        "scorer_batch_reviews_per_s": scorer["batch_reviews_per_s"],
        "predict_proba_p50_ms": sklearn["p50_ms"],
        "predict_proba_batch_reviews_per_s": sklearn["batch_reviews_per_s"],
    }


def bench_version(project: Path, data_version: int) -> dict[str, object]:
    prepare_seconds = _run(project, "ml.data", "--version", str(data_version))
    tune_seconds = _run(project, "ml.tune")
    train_seconds = _run(project, "ml.train")
    tuned = json.loads((project / "reports" / "tune.json").read_text())
    report = json.loads((project / "reports" / "train.json").read_text())
    out = project / "build" / f"model-v{data_version}"
    _run(project, "ml.export", "--alias", "candidate", "--out", str(out))
    reviews = pd.read_csv(project / "data" / "test.csv")["review"].astype(str).tolist()
    return {
        "data_version": data_version,
        "train_rows": json.loads((project / "data" / "manifest.json").read_text())["train_rows"],
        "tune_candidates": len(tuned["candidates"]),
        "tune_folds": tuned["folds"],
        "tune_search_seconds": tuned["seconds"],
        "tune_command_seconds": round(tune_seconds, 1),
        "chosen": tuned["best"]["settings"],
        "cv_accuracy": tuned["best"]["cv_mean"],
        "cv_accuracy_std": tuned["best"]["cv_std"],
        "accuracy": report["accuracy"],
        "f1": report["f1"],
        "roc_auc": report["roc_auc"],
        "recall_negative": report["recall_negative"],
        "recall_positive": report["recall_positive"],
        "fit_seconds": report["fit_seconds"],
        "prepare_seconds": round(prepare_seconds, 2),
        "train_command_seconds": round(train_seconds, 2),
        "model_pickle_mb": round((out / "model.pkl").stat().st_size / 1e6, 1),
        **service_load_and_scoring(out, reviews),
    }


COLUMNS = (
    "data_version",
    "train_rows",
    "chosen",
    "cv_accuracy",
    "accuracy",
    "f1",
    "roc_auc",
    "fit_seconds",
    "tune_search_seconds",
    "train_command_seconds",
    "model_pickle_mb",
    "checksum_seconds",
    "unpickle_seconds",
    "scorer_compile_seconds",
    "scorer_p50_ms",
    "scorer_p99_ms",
    "predict_proba_p50_ms",
    "scorer_batch_reviews_per_s",
)


def markdown(results: list[dict[str, object]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(row[c]) for c in COLUMNS) + " |" for row in results]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--versions", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rp-bench-") as scratch:
        project = Path(scratch)
        shutil.copy2(REPO_ROOT / "params.yaml", project / "params.yaml")
        results = [bench_version(project, version) for version in args.versions]
    environment = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"environment": environment, "results": results}, indent=2) + "\n"
    )
    print(markdown(results))
    by_version = {row["data_version"]: row for row in results}
    failures = []
    if 2 in by_version:
        v2 = by_version[2]
        if v2["accuracy"] < TARGETS["accuracy_v2_min"]:
            failures.append(f"v2 accuracy {v2['accuracy']} < {TARGETS['accuracy_v2_min']}")
        if v2["fit_seconds"] > TARGETS["fit_seconds_v2_max"]:
            failures.append(f"v2 fit {v2['fit_seconds']} s > {TARGETS['fit_seconds_v2_max']} s")
    for row in results:
        if not row["fast_path"]:
            failures.append(f"v{row['data_version']}: the service would not use the fast scorer")
        if row["scorer_p50_ms"] > TARGETS["scorer_p50_ms_max"]:
            failures.append(f"v{row['data_version']} scorer p50 {row['scorer_p50_ms']} ms")
    for failure in failures:
        print(f"target missed: {failure}", file=sys.stderr)
    print("all targets met" if not failures else "targets missed", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
