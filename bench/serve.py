"""Serving benchmark: ``make bench-serve`` (or ``python -m bench.serve``).

On one exported model, side by side in one run:
- the project's backend (``uvicorn --factory app.backend.main:create_app``, one worker, storing
  every prediction in a throwaway PostgreSQL on this host, metrics and logs on, as deployed);
- ``mlflow models serve`` on the same export.
The same client (wrk, one different hold-out review per request) loads ``/predict`` and
``/invocations`` at concurrency 1, 8 and 32 for a fixed time each. Also measured: ``/predict/batch``
with 256 reviews, cold start to ready, RSS after warm-up, in-process ``predict_proba`` on the same
reviews, and one spool append (what storing a prediction costs on the request path).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

from tests.support.network import free_port, wait_for_http
from tests.support.postgres import throwaway_cluster
from tests.support.processes import tree_rss_mb

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results" / "serve.json"
WRK_SCRIPT = REPO_ROOT / "bench" / "wrk_bodies.lua"
CONCURRENCY = (1, 8, 32)
BATCH = 256


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "RP_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.update(extra)
    return env


def export_model(scratch: Path) -> Path:
    """Data v2, train, export: the model the platform would ship."""
    shutil.copy2(REPO_ROOT / "params.yaml", scratch / "params.yaml")
    for args in (
        ("ml.data", "--version", "2"),
        ("ml.tune",),
        ("ml.train",),
        ("ml.export", "--alias", "candidate", "--out", "build/model"),
    ):
        subprocess.run(
            [sys.executable, "-m", *args], cwd=scratch, env=_env(), check=True, capture_output=True
        )
    return scratch / "build" / "model"


def wrk(url: str, bodies: Path, connections: int, seconds: int) -> dict[str, float]:
    threads = 1 if connections == 1 else 2
    result = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(WRK_SCRIPT),
            url,
            "--",
            str(bodies),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        "concurrency": connections,
        "requests_per_s": round(summary["requests"] / (summary["duration_us"] / 1e6), 1),
        "p50_ms": round(summary["p50_us"] / 1000, 2),
        "p99_ms": round(summary["p99_us"] / 1000, 2),
        "errors": summary["non_2xx"] + summary["socket_errors"],
    }


def _post(url: str, payload: object) -> float:
    request = urllib.request.Request(  # noqa: S310 - loopback http
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback http
        response.read()
    return time.perf_counter() - started


def start(
    command: list[str], env: dict[str, str], ready_url: str, log: Path
) -> tuple[subprocess.Popen, float]:
    stream = log.open("wb")
    process = subprocess.Popen(command, env=env, stdout=stream, stderr=subprocess.STDOUT)
    return process, wait_for_http(ready_url, 180, process)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def in_process_p50_ms(model_dir: Path, reviews: list[str]) -> float:
    with (model_dir / "model.pkl").open("rb") as stream:
        model = pickle.load(stream)  # noqa: S301 - the export this run just made
    timings = []
    for index in range(2000):
        started = time.perf_counter()
        model.predict_proba(np.array([reviews[index % len(reviews)]]))
        timings.append(time.perf_counter() - started)
    return round(statistics.median(timings) * 1000, 3)


def spool_append_p50_ms(path: Path) -> float:
    """What storing a prediction costs on the request path: one durable spool append.

    The PostgreSQL insert happens later, in batches, on the flusher thread.
    """
    from app.backend.spool import Spool

    spool = Spool(path)
    timings = []
    try:
        for index in range(2000):
            record = {
                "request_id": f"{index:032x}",
                "text": "x" * 1300,
                "text_sha256": "0" * 64,
                "text_length": 1300,
                "label": "positive",
                "probability": 0.9,
                "positive_probability": 0.9,
                "model_name": "imdb-sentiment",
                "model_version": "1",
                "latency_ms": 0.9,
                "created_at": "2026-01-01T00:00:00+00:00",
                "feedback_label": None,
                "feedback_at": None,
            }
            started = time.perf_counter()
            spool.append_predictions([record])
            timings.append(time.perf_counter() - started)
    finally:
        spool.close()
    return round(statistics.median(timings) * 1000, 3)


def backend_command(port: int) -> list[str]:
    return [
        str(Path(sys.executable).parent / "uvicorn"),
        "--factory",
        "app.backend.main:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=20, help="duration of each load run")
    args = parser.parse_args()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="rp-bench-serve-") as scratch_name:
        scratch = Path(scratch_name)
        model_dir = export_model(scratch)
        reviews = pd.read_csv(scratch / "data" / "test.csv")["review"].astype(str).tolist()
        results["review_words_mean"] = round(statistics.mean(len(r.split()) for r in reviews), 1)
        predict_bodies = scratch / "predict.jsonl"
        predict_bodies.write_text("".join(json.dumps({"text": r}) + "\n" for r in reviews))
        invocation_bodies = scratch / "invocations.jsonl"
        invocation_bodies.write_text("".join(json.dumps({"inputs": [r]}) + "\n" for r in reviews))
        results["in_process_predict_p50_ms"] = in_process_p50_ms(model_dir, reviews)

        with throwaway_cluster("rp-bench-pg-") as cluster:
            database_url = cluster.url()
            port = free_port()
            backend_env = _env(
                MODEL_PATH=str(model_dir),
                DATABASE_URL=database_url,
                SPOOL_PATH=str(scratch / "spool.sqlite3"),
            )
            backend, cold = start(
                backend_command(port),
                backend_env,
                f"http://127.0.0.1:{port}/ready",
                scratch / "backend.log",
            )
            try:
                results["backend_cold_start_s"] = round(cold, 2)
                base = f"http://127.0.0.1:{port}"
                wrk(f"{base}/predict", predict_bodies, 8, 3)  # warm-up
                results["backend"] = [
                    wrk(f"{base}/predict", predict_bodies, c, args.seconds) for c in CONCURRENCY
                ]
                batch = [
                    _post(f"{base}/predict/batch", {"texts": reviews[i : i + BATCH]})
                    for i in range(0, BATCH * 10, BATCH)
                ]
                results["backend_batch_256_p50_ms"] = round(statistics.median(batch) * 1000, 1)
                results["backend_rss_mb"] = tree_rss_mb(backend.pid)
            finally:
                stop(backend)

        results["spool_append_p50_ms"] = spool_append_p50_ms(scratch / "spool-bench.sqlite3")

        port = free_port()
        mlflow_serve, cold = start(
            [
                str(Path(sys.executable).parent / "mlflow"),
                "models",
                "serve",
                "-m",
                str(model_dir),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "--env-manager",
                "local",
            ],
            _env(),
            f"http://127.0.0.1:{port}/ping",
            scratch / "mlflow.log",
        )
        try:
            results["mlflow_cold_start_s"] = round(cold, 2)
            url = f"http://127.0.0.1:{port}/invocations"
            wrk(url, invocation_bodies, 8, 3)
            results["mlflow"] = [wrk(url, invocation_bodies, c, args.seconds) for c in CONCURRENCY]
            results["mlflow_rss_mb"] = tree_rss_mb(mlflow_serve.pid)
        finally:
            stop(mlflow_serve)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))
    return 0


def report(results: dict) -> str:
    lines = [
        "| concurrency | backend req/s | mlflow req/s | ratio | backend p50 / p99 ms "
        "| mlflow p50 / p99 ms | errors (backend / mlflow) |",
        "|---|---|---|---|---|---|---|",
    ]
    for ours, theirs in zip(results["backend"], results["mlflow"], strict=True):
        lines.append(
            f"| {ours['concurrency']} | {ours['requests_per_s']} | {theirs['requests_per_s']} "
            f"| {ours['requests_per_s'] / theirs['requests_per_s']:.2f}x "
            f"| {ours['p50_ms']} / {ours['p99_ms']} | {theirs['p50_ms']} / {theirs['p99_ms']} "
            f"| {ours['errors']} / {theirs['errors']} |"
        )
    extra = {k: v for k, v in results.items() if k not in {"backend", "mlflow"}}
    lines.append("")
    lines.append(json.dumps(extra, indent=2))
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
