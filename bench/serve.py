"""Serving benchmark: ``make bench-serve`` (or ``python -m bench.serve``).

On one exported model, side by side in one run:
- the project's backend (``uvicorn --factory app.backend.main:create_app``, one worker) as
  deployed: every prediction stored in a throwaway PostgreSQL on this host through the spool,
  metrics on, and its JSON log lines shipped to a local Elasticsearch-compatible sink (the chaos
  suite's stand-in, tests/chaos/es_sink.py; not Elasticsearch);
- the same backend from another git ref (``--baseline-ref``, default ``main``, checked out in a
  throwaway ``git worktree``), to measure this tree's throughput against it;
- ``mlflow models serve`` on the same export.
The same client (wrk, one different hold-out review per request) loads ``/predict`` and
``/invocations`` at concurrency 1, 8 and 32 for a fixed time each; the baseline's concurrency-32
runs alternate with this tree's. Also measured: ``/predict/batch`` with 256 reviews, ``/health``
latency while maximal batches run, cold start to ready, RSS after warm-up, the service's compiled
scorer in process (``Predictor.positive_probabilities``) on the same reviews, next to what
``explain: true`` adds to it (bench/explain.py), and one spool append (what storing a prediction
costs on the request path).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pandas as pd

from bench.explain import explain_overhead
from bench.scorer import stages as scorer_stages
from bench.tools import require
from tests.support.network import free_port, wait_for_http
from tests.support.postgres import throwaway_cluster
from tests.support.processes import tree_rss_mb

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results" / "serve.json"
WRK_SCRIPT = REPO_ROOT / "bench" / "wrk_bodies.lua"
ES_SINK = REPO_ROOT / "tests" / "chaos" / "es_sink.py"
CONCURRENCY = (1, 8, 32)
BATCH = 256
MAX_BATCH_CHARS = 1_000_000  # the service's default cap


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "RP_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.update(extra)
    return env


def export_model(scratch: Path) -> Path:
    """Data v2, train, export: the model the platform would ship.

    With RP_BENCH_PROJECT set to a folder, the export is made there once and reused by later
    benchmarks (profile, capacity, serve in one session train once); its data/test.csv is copied
    to ``scratch``.
    """
    reuse = os.environ.get("RP_BENCH_PROJECT")
    if reuse:
        project = Path(reuse)
        if not (project / "build" / "model" / "MLmodel").exists():
            project.mkdir(parents=True, exist_ok=True)
            export_model_in(project)
        (scratch / "data").mkdir(exist_ok=True)
        shutil.copy2(project / "data" / "test.csv", scratch / "data" / "test.csv")
        return project / "build" / "model"
    return export_model_in(scratch)


def export_model_in(scratch: Path) -> Path:
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


def write_bodies(scratch: Path, reviews: list[str]) -> tuple[Path, Path]:
    """One request body per line, one review each: /predict's, then /invocations'."""
    predict_bodies = scratch / "predict.jsonl"
    predict_bodies.write_text("".join(json.dumps({"text": r}) + "\n" for r in reviews))
    invocation_bodies = scratch / "invocations.jsonl"
    invocation_bodies.write_text("".join(json.dumps({"inputs": [r]}) + "\n" for r in reviews))
    return predict_bodies, invocation_bodies


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


def in_process_scorer(model_dir: Path, reviews: list[str]) -> dict[str, object]:
    """The service's own scorer, loaded the way it loads it, on one review per call: its p50,
    and its single-core rate (calls per second of one thread over every hold-out review)."""
    from app.backend.model import load_folder

    predictor = load_folder(model_dir)
    timings = []
    for index in range(2000):
        started = time.perf_counter()
        predictor.positive_probabilities([reviews[index % len(reviews)]])
        timings.append(time.perf_counter() - started)
    started = time.perf_counter()
    for review in reviews:
        predictor.positive_probabilities([review])
    rate = len(reviews) / (time.perf_counter() - started)
    return {
        "p50_ms": round(statistics.median(timings) * 1000, 3),
        "reviews_per_s_one_core": round(rate, 1),
        "is_compiled": predictor.fast_path,
    }


def equivalence(model_dir: Path, reviews: list[str]) -> dict[str, object]:
    """Over every hold-out review: the served scorer against the pipeline's predict_proba
    (labels, largest difference), and against the same scorer scoring the analyzer's own terms
    (the inlined n-grams of linear.word_ngrams must change no float at all)."""
    import numpy as np

    from app.backend.linear import LinearTextScorer
    from app.backend.model import load_folder

    predictor = load_folder(model_dir)
    scorer = predictor.scorer.scorer
    if scorer is None:
        raise RuntimeError(f"the compiled scorer is off: {predictor.scorer.reason}")
    served = np.array(predictor.positive_probabilities(reviews))
    pipeline = predictor.pipeline.predict_proba(np.array(reviews, dtype=object))[:, 1]
    plain = LinearTextScorer(
        scorer._analyzer, scorer._vocabulary, scorer._idf, scorer._weights, scorer._intercept,
        sublinear_tf=scorer._sublinear_tf,
    )  # fmt: skip
    unchanged = sum(
        a == plain.positive_probability(review) for a, review in zip(served, reviews, strict=True)
    )
    return {
        "reviews": len(reviews),
        "labels_differing_from_predict_proba": int(((served >= 0.5) != (pipeline >= 0.5)).sum()),
        "max_difference_from_predict_proba": float(np.abs(served - pipeline).max()),
        "bit_identical_to_the_analyzer_path": int(unchanged),
    }


def health_under_batches(base: str, reviews: list[str], seconds: float = 10) -> dict[str, float]:
    """/health latency while 3 clients send maximal batches (MAX_BATCH_CHARS) back to back."""
    # A maximal batch: 256 texts of MAX_BATCH_CHARS / 256 characters each, from real reviews.
    size = MAX_BATCH_CHARS // BATCH
    corpus = " ".join(reviews)
    texts = [corpus[i * size : (i + 1) * size] for i in range(BATCH)]
    total = sum(len(text) for text in texts)
    stop = threading.Event()
    batch_times: list[float] = []

    def send_batches() -> None:
        while not stop.is_set():
            batch_times.append(_post(f"{base}/predict/batch", {"texts": texts}))

    senders = [threading.Thread(target=send_batches) for _ in range(3)]
    for sender in senders:
        sender.start()
    time.sleep(0.5)
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        with urllib.request.urlopen(f"{base}/health", timeout=10) as response:  # noqa: S310
            response.read()
        latencies.append(time.perf_counter() - started)
        time.sleep(0.02)
    stop.set()
    for sender in senders:
        sender.join()
    latencies.sort()
    return {
        "batch_chars": total,
        "batch_p50_ms": round(statistics.median(batch_times) * 1000, 1),
        "health_samples": len(latencies),
        "health_p50_ms": round(statistics.median(latencies) * 1000, 2),
        "health_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "health_max_ms": round(latencies[-1] * 1000, 2),
    }


def baseline_tree(ref: str, scratch: Path) -> Path | None:
    """A throwaway worktree of ``ref``; None when the ref is this very commit or unknown."""

    def rev(name: str) -> str:
        command = ["git", "-C", str(REPO_ROOT), "rev-parse", "--verify", "--quiet"]
        result = subprocess.run(
            [*command, f"{name}^{{commit}}"], capture_output=True, text=True, check=False
        )
        return result.stdout.strip()

    commit = rev(ref)
    if not commit:
        print(f"bench-serve: no git ref {ref!r}: no baseline comparison", file=sys.stderr)
        return None
    if commit == rev("HEAD"):
        print(f"bench-serve: {ref} is HEAD: no baseline comparison", file=sys.stderr)
        return None
    tree = scratch / "baseline"
    subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", "--quiet",
                    str(tree), commit], check=True)  # fmt: skip
    return tree


def remove_tree(tree: Path) -> None:
    subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(tree)],
                   check=False, capture_output=True)  # fmt: skip


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its descendants (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        pending.extend(int(child) for child in children)
    return total


def levels(pid: int, base: str, bodies: Path, seconds: int) -> list[dict[str, float]]:
    """/predict at each of CONCURRENCY, with the CPU the server process tree used meanwhile."""
    runs = []
    for connections in CONCURRENCY:
        cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
        run = wrk(f"{base}/predict", bodies, connections, seconds)
        cores = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
        run["server_cores"] = round(cores, 3)
        run["requests_per_s_per_core"] = round(run["requests_per_s"] / cores, 1)
        runs.append(run)
    return runs


def backend_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
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


def start_backend(
    tree: Path, scratch: Path, name: str, model_dir: Path, database_url: str, es_url: str
) -> tuple[subprocess.Popen, float, str]:
    """The backend of ``tree`` (its own code first on the path), as deployed."""
    port = free_port()
    data = scratch / f"data-{name}"
    env = _env(
        MODEL_PATH=str(model_dir),
        DATABASE_URL=database_url,
        DATA_DIR=str(data),
        SPOOL_PATH=str(data / "spool.sqlite3"),
        ES_URL=es_url,
        PYTHONPATH=str(tree),
    )
    process = subprocess.Popen(
        backend_command(port), cwd=tree, env=env,
        stdout=(scratch / f"{name}.log").open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    cold = wait_for_http(f"http://127.0.0.1:{port}/ready", 180, process)
    return process, cold, f"http://127.0.0.1:{port}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=20, help="duration of each load run")
    parser.add_argument("--baseline-ref", default="main", help="git ref to compare against")
    parser.add_argument(
        "--only-health", action="store_true", help="only /health under maximal batches"
    )
    args = parser.parse_args()
    require("bench-serve", "wrk", "postgresql")
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="rp-bench-serve-") as scratch_name:
        scratch = Path(scratch_name)
        model_dir = export_model(scratch)
        reviews = pd.read_csv(scratch / "data" / "test.csv")["review"].astype(str).tolist()
        results["review_words_mean"] = round(statistics.mean(len(r.split()) for r in reviews), 1)
        predict_bodies, invocation_bodies = write_bodies(scratch, reviews)
        scorer = in_process_scorer(model_dir, reviews)
        results["in_process_scorer_p50_ms"] = scorer["p50_ms"]
        results["in_process_scorer_reviews_per_s_one_core"] = scorer["reviews_per_s_one_core"]
        results["in_process_scorer_is_compiled"] = scorer["is_compiled"]
        results["equivalence"] = equivalence(model_dir, reviews)
        results["scorer_stages"] = scorer_stages(model_dir, reviews)
        results["in_process_explain"] = explain_overhead(model_dir, reviews)

        sink_port = free_port()
        sink = subprocess.Popen([sys.executable, str(ES_SINK), str(sink_port)])
        es_url = f"http://127.0.0.1:{sink_port}"
        baseline = None if args.only_health else baseline_tree(args.baseline_ref, scratch)
        try:
            wait_for_http(f"{es_url}/", 30, sink)
            with throwaway_cluster("rp-bench-pg-") as cluster:
                backend, cold, base = start_backend(
                    REPO_ROOT, scratch, "backend", model_dir, cluster.create_database(), es_url
                )
                others = None
                if baseline is not None:
                    try:
                        others = start_backend(
                            baseline, scratch, "baseline", model_dir, cluster.create_database(),
                            es_url,
                        )  # fmt: skip
                    except RuntimeError as error:  # e.g. its code cannot load this model
                        log = (scratch / "baseline.log").read_text()[-2000:]
                        print(f"bench-serve: the baseline did not start ({error}); "
                              f"no comparison\n{log}", file=sys.stderr)  # fmt: skip
                try:
                    results["backend_cold_start_s"] = round(cold, 2)
                    if args.only_health:
                        results["health_under_max_batches"] = health_under_batches(base, reviews)
                        print(json.dumps(results, indent=2))
                        return 0
                    wrk(f"{base}/predict", predict_bodies, 8, 3)  # warm-up
                    results["backend"] = levels(backend.pid, base, predict_bodies, args.seconds)
                    if others is not None:
                        wrk(f"{others[2]}/predict", predict_bodies, 8, 3)  # warm-up
                        results["baseline"] = levels(
                            others[0].pid, others[2], predict_bodies, args.seconds
                        )
                    per_core = results["backend"][-1]["requests_per_s_per_core"]
                    results["server_per_core_vs_in_process_scorer"] = round(
                        per_core / scorer["reviews_per_s_one_core"], 3
                    )
                    if others is not None:
                        results["baseline_ref"] = args.baseline_ref
                        other_base = others[2]
                        ours, theirs = [results["backend"][-1]], []  # type: ignore[index]
                        for _ in range(2):  # alternate, so drift hits both alike
                            theirs.append(wrk(f"{other_base}/predict", predict_bodies, 32,
                                              args.seconds))  # fmt: skip
                            ours.append(wrk(f"{base}/predict", predict_bodies, 32, args.seconds))
                        ours_rate = statistics.mean(r["requests_per_s"] for r in ours)
                        theirs_rate = statistics.mean(r["requests_per_s"] for r in theirs)
                        results["vs_baseline_32"] = {
                            "backend_req_s": round(ours_rate, 1),
                            "baseline_req_s": round(theirs_rate, 1),
                            "ratio": round(ours_rate / theirs_rate, 3),
                            "runs": {"backend": ours, "baseline": theirs},
                        }
                    batch = [
                        _post(f"{base}/predict/batch", {"texts": reviews[i : i + BATCH]})
                        for i in range(0, BATCH * 10, BATCH)
                    ]
                    results["backend_batch_256_p50_ms"] = round(statistics.median(batch) * 1000, 1)
                    results["health_under_max_batches"] = health_under_batches(base, reviews)
                    results["backend_rss_mb"] = tree_rss_mb(backend.pid)
                    with urllib.request.urlopen(f"{base}/ready", timeout=5) as answer:  # noqa: S310
                        results["backend_log_shipper"] = json.load(answer)["log_shipper"]
                finally:
                    stop(backend)
                    if others is not None:
                        stop(others[0])
        finally:
            stop(sink)
            if baseline is not None:
                remove_tree(baseline)

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


def table(backend: list[dict], mlflow: list[dict]) -> list[str]:
    lines = [
        "| concurrency | backend req/s | mlflow req/s | ratio | backend p50 / p99 ms "
        "| mlflow p50 / p99 ms | p99 ratio | backend cores | backend req/s per core "
        "| errors (backend / mlflow) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for ours, theirs in zip(backend, mlflow, strict=True):
        lines.append(
            f"| {ours['concurrency']} | {ours['requests_per_s']} | {theirs['requests_per_s']} "
            f"| {ours['requests_per_s'] / theirs['requests_per_s']:.2f}x "
            f"| {ours['p50_ms']} / {ours['p99_ms']} | {theirs['p50_ms']} / {theirs['p99_ms']} "
            f"| {ours['p99_ms'] / theirs['p99_ms']:.2f}x | {ours.get('server_cores')} "
            f"| {ours.get('requests_per_s_per_core')} | {ours['errors']} / {theirs['errors']} |"
        )
    return lines


def report(results: dict) -> str:
    lines = ["after (this tree):", *table(results["backend"], results["mlflow"])]
    if "baseline" in results:
        lines += ["", f"before ({results.get('baseline_ref')}):"]
        lines += table(results["baseline"], results["mlflow"])
    comparison = results.get("vs_baseline_32")
    if comparison:
        lines.append("")
        lines.append(
            f"/predict at concurrency 32 against {results['baseline_ref']}: "
            f"{comparison['backend_req_s']} vs {comparison['baseline_req_s']} req/s, "
            f"ratio {comparison['ratio']:.3f} (target >= 0.95)"
        )
    tables = {"backend", "baseline", "mlflow", "vs_baseline_32"}
    extra = {k: v for k, v in results.items() if k not in tables}
    lines.append("")
    lines.append(json.dumps(extra, indent=2))
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
