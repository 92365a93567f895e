"""ml.monitor over 100,000 stored predictions: ``make bench-monitor`` (``python -m bench.monitor``).

Trains and exports a data-v2 model in a scratch project (the real commands, not timed), stores
100,000 predictions as the service would (IMDB reviews scored by that model, spread over the
last 20 hours, 5 % with a verdict) in a throwaway PostgreSQL 15 and in sqlite, then times the
real ``python -m ml.monitor`` end to end (imports, reading the window, scoring the hold-out
reference, the signals, Evidently, the report) against each, with its peak memory. Results go to
``bench/results/monitor.json`` and a Markdown table on stdout for docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from bench.tools import require
from tests.support.postgres import throwaway_cluster
from tests.support.prediction_store import (
    StoredPrediction,
    migrated_store,
    scored_predictions,
    spread_over,
    store_predictions,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results" / "monitor.json"
PREDICTIONS = 100_000
FEEDBACK_SHARE = 0.05
TARGET_SECONDS = 60.0


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "RP_", "DVC_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return {**env, **extra}


def _run(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=project,
        env=_env(**env),
        check=False,
        capture_output=True,
        text=True,
    )


def _scratch_model(project: Path) -> None:
    shutil.copy2(REPO_ROOT / "params.yaml", project / "params.yaml")
    for command in (
        ("ml.data", "--version", "2"),
        ("ml.train",),
        ("ml.promote",),
        ("ml.export", "--alias", "champion", "--out", "build/model"),
    ):
        result = _run(project, *command)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")


def _predictions(project: Path) -> list[StoredPrediction]:
    import pickle

    pipeline = pickle.loads((project / "build" / "model" / "model.pkl").read_bytes())  # noqa: S301
    reviews = pd.concat(
        [
            pd.read_csv(project / "data" / name, keep_default_na=False)
            for name in ("train.csv", "test.csv")
        ]
    )
    rng = np.random.default_rng(11)
    picked = reviews.iloc[rng.integers(0, len(reviews), PREDICTIONS)]
    items = scored_predictions(
        pipeline,
        picked["review"].tolist(),
        spread_over(PREDICTIONS, 20, datetime.now(UTC)),
        picked["label"].tolist(),
    )
    judged = rng.random(PREDICTIONS) < FEEDBACK_SHARE
    return [
        item
        if judged[index]
        else StoredPrediction(item.text, item.positive_probability, item.created_at)
        for index, item in enumerate(items)
    ]


def _time_monitor(project: Path, url: str, name: str) -> dict[str, object]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    result = _run(
        project, "ml.monitor", "--model", "build/model", "--out", f"reports/{name}",
        DATABASE_URL=url,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if result.returncode not in (0, 3):
        raise SystemExit(f"ml.monitor on {name} failed:\n{result.stderr}")
    summary = json.loads(result.stdout)
    stages = {
        match.group(1): float(match.group(2))
        for match in re.finditer(r"ml\.monitor: (.+?): ([\d.]+) s", result.stderr)
    }
    return {
        "store": name,
        "predictions": summary["window"]["predictions"],
        "oov_measured": summary["window"]["oov_measured"],
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(max(peak_kb, before) / 1024),
        "verdict": summary["verdict"],
        "stages": stages,
    }


def main() -> int:
    require("bench-monitor", "postgresql")
    scratch = Path(tempfile.mkdtemp(prefix="rp-bench-monitor-"))
    try:
        project = scratch / "project"
        project.mkdir()
        _scratch_model(project)
        items = _predictions(project)
        runs = []
        with throwaway_cluster("rp-bench-monitor-pg-") as cluster:
            url = cluster.create_database()
            migrated_store(url)
            store_predictions(url, items)
            runs.append(_time_monitor(project, url, "postgresql"))
        sqlite_url = f"sqlite:///{scratch / 'predictions.db'}"
        migrated_store(sqlite_url)
        store_predictions(sqlite_url, items)
        runs.append(_time_monitor(project, sqlite_url, "sqlite"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "target_seconds": TARGET_SECONDS,
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    columns = (
        "store", "predictions", "OOV sample", "total (s)", "read (s)", "reference (s)",
        "signals (s)", "drift (s)", "peak RSS (MB)", "verdict",
    )  # fmt: skip
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for run in runs:
        stages = run["stages"]
        read = next((v for k, v in stages.items() if k.startswith("read")), 0.0)
        reference = next((v for k, v in stages.items() if k.startswith("scored")), 0.0)
        print(
            f"| {run['store']} | {run['predictions']:,} | {run['oov_measured']:,} "
            f"| {run['seconds']} | {read} | {reference} | {stages.get('window signals', 0)} | "
            f"{stages.get('drift statistics', 0)} | {run['peak_rss_mb']} | {run['verdict']} |"
        )
    return 0 if all(run["seconds"] < TARGET_SECONDS for run in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
