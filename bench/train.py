"""Training and in-process prediction benchmark: ``make bench`` (or ``python -m bench.train``).

For each data version it runs the real commands (``ml.data``, ``ml.train``, ``ml.export``) in a
scratch project with its own sqlite MLflow store, then loads the exported model the way the
service will and times single-review and batch predictions. Results go to
``bench/results/train.json`` and a Markdown table on stdout for docs/benchmarks.md.
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
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results" / "train.json"
SINGLE_CALLS = 2000
BATCH_SIZE = 1000
BATCH_REPEATS = 5
TARGETS = {"accuracy_v2_min": 0.91, "fit_seconds_v2_max": 60.0, "predict_p50_ms_max": 2.0}


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


def _latency(model: object, reviews: list[str]) -> dict[str, float]:
    predict = model.predict_proba  # type: ignore[attr-defined]
    timings = []
    for index in range(SINGLE_CALLS):
        text = np.array([reviews[index % len(reviews)]])
        started = time.perf_counter()
        predict(text)
        timings.append(time.perf_counter() - started)
    batch = np.array(reviews[:BATCH_SIZE])
    rates = []
    for _ in range(BATCH_REPEATS):
        started = time.perf_counter()
        predict(batch)
        rates.append(BATCH_SIZE / (time.perf_counter() - started))
    quantiles = np.quantile(np.array(timings) * 1000, [0.5, 0.99])
    return {
        "predict_p50_ms": round(float(quantiles[0]), 3),
        "predict_p99_ms": round(float(quantiles[1]), 3),
        "batch_reviews_per_s": round(statistics.median(rates)),
    }


def bench_version(project: Path, data_version: int) -> dict[str, object]:
    import mlflow.sklearn

    prepare_seconds = _run(project, "ml.data", "--version", str(data_version))
    train_seconds = _run(project, "ml.train")
    report = json.loads((project / "reports" / "train.json").read_text())
    out = project / "build" / f"model-v{data_version}"
    _run(project, "ml.export", "--alias", "candidate", "--out", str(out))
    model_bytes = (out / "model.pkl").stat().st_size
    started = time.perf_counter()
    model = mlflow.sklearn.load_model(str(out))
    load_seconds = time.perf_counter() - started
    reviews = pd.read_csv(project / "data" / "test.csv")["review"].astype(str).tolist()
    return {
        "data_version": data_version,
        "train_rows": json.loads((project / "data" / "manifest.json").read_text())["train_rows"],
        "accuracy": report["accuracy"],
        "f1": report["f1"],
        "roc_auc": report["roc_auc"],
        "fit_seconds": report["fit_seconds"],
        "prepare_seconds": round(prepare_seconds, 2),
        "train_command_seconds": round(train_seconds, 2),
        "model_pickle_mb": round(model_bytes / 1e6, 1),
        "model_load_seconds": round(load_seconds, 2),
        **_latency(model, reviews),
    }


def markdown(results: list[dict[str, object]]) -> str:
    columns = [
        "data_version",
        "train_rows",
        "accuracy",
        "f1",
        "roc_auc",
        "fit_seconds",
        "train_command_seconds",
        "model_pickle_mb",
        "model_load_seconds",
        "predict_p50_ms",
        "predict_p99_ms",
        "batch_reviews_per_s",
    ]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in results]
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
        if row["predict_p50_ms"] > TARGETS["predict_p50_ms_max"]:
            failures.append(f"v{row['data_version']} predict p50 {row['predict_p50_ms']} ms")
    for failure in failures:
        print(f"target missed: {failure}", file=sys.stderr)
    print("all targets met" if not failures else "targets missed", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
