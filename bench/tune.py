"""The wide hyper-parameter search: ``make bench-tune`` (or ``python -m bench.tune``).

Prepares data v2 in a scratch project and runs ``ml.tune`` with the grid in
``bench/tune-wide.yaml`` (5-fold cross-validation on the training pool alone; the hold-out is
not read). Prints the best candidates and, for each setting, the best CV accuracy reached with
each of its values, for docs/benchmarks.md; the full report goes to
``bench/results/tune-wide.json``. params.yaml's own ``tune.grid`` is the neighbourhood of the
winner, small enough for every ``dvc repro``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
GRID = REPO_ROOT / "bench" / "tune-wide.yaml"
RESULTS = REPO_ROOT / "bench" / "results" / "tune-wide.json"
TOP = 10


def _run(project: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "RP_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    result = subprocess.run(
        [sys.executable, "-m", *args], cwd=project, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")


def summarise(report: dict) -> str:
    candidates = sorted(report["candidates"], key=lambda c: -c["cv_mean"])
    names = sorted(candidates[0]["settings"])
    lines = [
        f"{len(candidates)} candidates, {report['folds']}-fold CV, {report['seconds']} s "
        f"({report['jobs']} parallel fits)",
        "",
        "| " + " | ".join(names) + " | CV accuracy | std |",
        "|" + "---|" * (len(names) + 2),
    ]
    for candidate in candidates[:TOP]:
        values = " | ".join(str(candidate["settings"][n]) for n in names)
        lines.append(f"| {values} | {candidate['cv_mean']:.4f} | {candidate['cv_std']:.4f} |")
    lines += ["", "| setting | value | best CV accuracy with it |", "|---|---|---|"]
    for name in names:
        for value in sorted({c["settings"][name] for c in candidates}, key=str):
            best = max(c["cv_mean"] for c in candidates if c["settings"][name] == value)
            lines.append(f"| {name} | {value} | {best:.4f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grid", type=Path, default=GRID)
    parser.add_argument("--data-version", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rp-bench-tune-") as scratch:
        project = Path(scratch)
        shutil.copy2(REPO_ROOT / "params.yaml", project / "params.yaml")
        _run(project, "ml.data", "--version", str(args.data_version))
        (project / "data" / "test.csv").unlink()  # the search cannot look at the hold-out
        started = time.perf_counter()
        _run(project, "ml.tune", "--grid", str(args.grid.resolve()), "--out", "tune-wide.json")
        report = json.loads((project / "tune-wide.json").read_text())
        report["command_seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(summarise(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
