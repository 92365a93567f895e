"""Flame graph of the backend under load: ``make bench-profile`` (or ``python -m bench.profile``).

The backend runs as ``make bench-serve`` runs it (storage through the spool into a throwaway
PostgreSQL, metrics, JSON logs shipped to the Elasticsearch stand-in) while wrk loads
``/predict`` at concurrency 32; py-spy samples the server process meanwhile and writes an SVG
flame graph (``--output``, default docs/images/flame-predict.svg). The widths say where one
request's CPU goes: the scorer, HTTP parsing, validation, logging, metrics, the spool append.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pandas as pd

from bench.serve import (
    ES_SINK,
    REPO_ROOT,
    baseline_tree,
    export_model,
    remove_tree,
    start_backend,
    stop,
    write_bodies,
    wrk,
)
from bench.tools import require
from tests.support.network import free_port, wait_for_http
from tests.support.postgres import throwaway_cluster


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=30, help="how long py-spy samples")
    parser.add_argument(
        "--output", type=Path, default=REPO_ROOT / "docs" / "images" / "flame-predict.svg"
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--ref", help="profile this git ref's backend instead of this tree's")
    args = parser.parse_args()
    require("bench-profile", "wrk", "postgresql", "py-spy")
    py_spy = Path(sys.executable).parent / "py-spy"
    with tempfile.TemporaryDirectory(prefix="rp-bench-profile-") as scratch_name:
        scratch = Path(scratch_name)
        model_dir = export_model(scratch)
        reviews = pd.read_csv(scratch / "data" / "test.csv")["review"].astype(str).tolist()
        bodies, _ = write_bodies(scratch, reviews)
        tree = baseline_tree(args.ref, scratch) if args.ref else None
        sink_port = free_port()
        sink = subprocess.Popen([sys.executable, str(ES_SINK), str(sink_port)])
        es_url = f"http://127.0.0.1:{sink_port}"
        try:
            wait_for_http(f"{es_url}/", 30, sink)
            with throwaway_cluster("rp-bench-profile-pg-") as cluster:
                backend, _, base = start_backend(
                    tree or REPO_ROOT,
                    scratch,
                    "backend",
                    model_dir,
                    cluster.create_database(),
                    es_url,
                )
                try:
                    wrk(f"{base}/predict", bodies, 8, 3)  # warm-up
                    load: dict[str, object] = {}
                    loader = threading.Thread(
                        target=lambda: load.update(
                            wrk(f"{base}/predict", bodies, args.concurrency, args.seconds + 4)
                        )
                    )
                    loader.start()
                    args.output.parent.mkdir(parents=True, exist_ok=True)
                    subprocess.run(
                        [str(py_spy), "record", "--pid", str(backend.pid), "--duration",
                         str(args.seconds), "--rate", "200", "--nonblocking",
                         "--format", "flamegraph", "--output", str(args.output)],
                        check=True, capture_output=True,
                    )  # fmt: skip
                    loader.join()
                    # The graph names no path of this machine: the command line in its title
                    # holds the venv's py-spy, the frames may hold the checkout's folder.
                    svg = args.output.read_text()
                    svg = svg.replace(str(py_spy), "py-spy").replace(f"{REPO_ROOT}/", "")
                    args.output.write_text(svg)
                finally:
                    stop(backend)
        finally:
            stop(sink)
            if tree is not None:
                remove_tree(tree)
    print(f"bench-profile: {args.output} (load while sampled: {load})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
