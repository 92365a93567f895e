"""Export a registered model for an image: ``python -m ml.export --alias A --out DIR``.

Resolves the alias to a version, downloads that version's model files, verifies the pickle and
the preprocessing code (``code/ml``) against the version's registry tags (refusing, with both
digests, when either differs), and writes ``model_card.json`` with the lineage that ties the
files to code, data and run, the verified digests, and the gate's verdict (its report goes
beside the card as ``gate_report.md``). The folder is assembled beside the target and swapped in
whole, so a failed export leaves the old one intact.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from ml import integrity, lineage, tracking
from ml.contract import (
    CARD_NAME,
    CHAMPION_ALIAS,
    CODE_FILES_TAG,
    CODE_SHA256_TAG,
    GATE_REPORT_NAME,
    MODEL_SHA256_TAG,
    TEST_MD5_TAG,
)
from ml.errors import PipelineError, run_cli
from ml.promote import REPORT_ARTIFACT_DIR
from ml.settings import MLSettings

log = logging.getLogger(__name__)

METRIC_KEYS = (
    "accuracy",
    "f1",
    "roc_auc",
    "recall_negative",
    "recall_positive",
    "fit_seconds",
    "cv_accuracy",
    "cv_accuracy_std",
)
GATE_SUMMARY_KEYS = ("passed", "decided_at", "champion_version", "test_md5", "reasons", "notes")


def gate_verdict(client: MlflowClient, run_id: str, destination: Path) -> dict[str, Any] | None:
    """The gate's report for a run (JSON summary; the Markdown is copied to ``destination``)."""
    with tempfile.TemporaryDirectory(prefix="rp-gate-") as scratch:
        try:
            folder = Path(client.download_artifacts(run_id, REPORT_ARTIFACT_DIR, scratch))
        except (MlflowException, OSError):
            return None
        if not (folder / "report.json").is_file():
            return None
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        if (folder / "report.md").is_file():
            shutil.copyfile(folder / "report.md", destination / GATE_REPORT_NAME)
    summary = {key: report.get(key) for key in GATE_SUMMARY_KEYS}
    summary["paired"] = report.get("paired")
    summary["behaviour"] = {
        name: {key: check.get(key) for key in ("kind", "passed", "total", "pass_rate", "minimum")}
        for name, check in (report.get("behaviour") or {}).items()
    }
    summary["report"] = GATE_REPORT_NAME if (destination / GATE_REPORT_NAME).is_file() else None
    return summary


def build_card(
    client: MlflowClient,
    version: ModelVersion,
    alias: str,
    verified: integrity.VerifiedModel,
    gate: dict[str, Any] | None,
) -> dict[str, Any]:
    """The model card: identity, lineage, hold-out metrics, verified digests and the gate."""
    run = client.get_run(version.run_id)
    tags = version.tags
    return {
        "name": version.name,
        "version": str(version.version),
        "alias": alias,
        "run_id": version.run_id,
        "git_sha": tags.get("git_sha", lineage.UNKNOWN),
        "git_dirty": tags.get("git_dirty", lineage.UNKNOWN),
        "data_md5": tags.get("data_md5", lineage.UNKNOWN),
        "data_version": tags.get("data_version", lineage.UNKNOWN),
        "train_rows": tags.get("train_rows", lineage.UNKNOWN),
        TEST_MD5_TAG: tags.get(TEST_MD5_TAG, lineage.UNKNOWN),
        "tune_run_id": tags.get("tune_run_id", lineage.UNKNOWN),
        "params": dict(sorted(run.data.params.items())),
        "metrics": {key: run.data.metrics[key] for key in METRIC_KEYS if key in run.data.metrics},
        "trained_at": datetime.fromtimestamp(run.info.start_time / 1000, tz=UTC).isoformat(),
        MODEL_SHA256_TAG: verified.model_sha256,
        CODE_SHA256_TAG: verified.code_sha256,
        CODE_FILES_TAG: verified.code_files,
        "verified_against": f"registry tags of {version.name} version {version.version}",
        "gate": gate,
    }


def _swap_in(staged: Path, target: Path) -> None:
    """Replace target with staged; the old folder is removed only after the rename succeeded."""
    retired = target.with_name(f".{target.name}.old")
    shutil.rmtree(retired, ignore_errors=True)
    if target.exists():
        target.rename(retired)
    staged.rename(target)
    shutil.rmtree(retired, ignore_errors=True)


def export(client: MlflowClient, name: str, alias: str, out: Path) -> dict[str, Any]:
    version = tracking.resolve_alias(client, name, alias)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        verified = tracking.download_verified(version, staging)
        gate = gate_verdict(client, version.run_id, staging)
        if alias == CHAMPION_ALIAS and (gate is None or not gate.get("passed")):
            raise PipelineError(
                f"{name} version {version.version} is @{alias} but has no passing gate report "
                f"in run {version.run_id}: promote it with python -m ml.promote"
            )
        card = build_card(client, version, alias, verified, gate)
        (staging / CARD_NAME).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        staging.chmod(0o755)
        _swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return card


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.export", description=__doc__.split("\n")[0])
    parser.add_argument("--alias", default=CHAMPION_ALIAS, help="registry alias to export")
    parser.add_argument("--out", type=Path, default=Path("build/model"), help="destination folder")
    args = parser.parse_args(argv)
    settings = MLSettings()
    client = tracking.connect(settings)
    out = settings.path(args.out)
    card = export(client, settings.model_name, args.alias, out)
    log.info(
        "exported %s version %s (@%s, run %s) to %s; model sha256 %s, code %s (verified against "
        "the registry)",
        card["name"],
        card["version"],
        args.alias,
        card["run_id"],
        args.out,
        card[MODEL_SHA256_TAG],
        card[CODE_SHA256_TAG],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli("ml.export", main, None))
