"""``python -m ml.retrain``: runs ``ml.monitor`` and ``ml.feedback``, then decides (see decision).

Both read the prediction store at ``DATABASE_URL`` from the environment, which they inherit (the
URL never appears in an argument or in the report). The report, ``reports/retrain.json``, holds
each command's exit status, JSON summary and last message, the outcome and its reasons; the
console gets the outcome and the reasons.

Exit status: 0 retrain (a feedback snapshot for data v3 was written), 3 no retraining now
(nothing to do, or drift without enough feedback), 2 bad input (either command failed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from ml.errors import PipelineError
from ml.files import atomic_write
from ml.retrain.decision import StepResult, decide
from ml.settings import MLSettings

EXIT_NO_RETRAIN = 3
REPORT_FILE = "retrain.json"


def run_step(module: str, *args: str, cwd: Path) -> StepResult:
    """Run ``python -m module args`` and keep its exit status, JSON stdout and last stderr line."""
    completed = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        summary = json.loads(completed.stdout) if completed.stdout.strip() else {}
    except json.JSONDecodeError:
        summary = {}
    errors = [line for line in completed.stderr.splitlines() if line.strip()]
    return StepResult(
        command=f"python -m {module}",
        exit_code=completed.returncode,
        summary=summary if isinstance(summary, dict) else {},
        message=errors[-1] if errors else "",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ml.retrain", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--model", default="build/model", help="the served model's export folder (ml.monitor)"
    )
    args = parser.parse_args(argv)
    settings = MLSettings()
    project = settings.project_dir
    monitor = run_step("ml.monitor", "--model", args.model, cwd=project)
    feedback = run_step("ml.feedback", cwd=project)
    report: dict[str, object] = {
        "decided_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "monitor": monitor.as_dict(),
        "feedback": feedback.as_dict(),
    }
    path = settings.reports_dir / REPORT_FILE
    try:
        decision = decide(monitor, feedback)
    except PipelineError as error:
        report |= {"outcome": "error", "reasons": [str(error)]}
        atomic_write(path, (json.dumps(report, indent=2) + "\n").encode())
        raise
    report |= {"outcome": decision.outcome, "reasons": decision.reasons}
    atomic_write(path, (json.dumps(report, indent=2) + "\n").encode())
    print(f"ml.retrain: {decision.outcome} (report: {path})")
    for reason in decision.reasons:
        print(f"  - {reason}")
    return 0 if decision.retrain else EXIT_NO_RETRAIN
