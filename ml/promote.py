"""The promotion gate: ``python -m ml.promote``.

Judges ``candidate`` against ``champion`` (when there is one) on the fixed hold-out:

1. both were scored on the same hold-out as ``data/test.csv`` (equal ``test_md5`` tags), or the
   gate refuses without scoring anything, saying which md5s differ;
2. floors on accuracy, F1, ROC-AUC and each class's recall;
3. a paired comparison with the champion, review by review (ml/gate/paired.py): refused when
   significantly worse (McNemar's exact test) or not shown within ``max_regression``;
4. the behavioural suite (ml/gate/behaviour.py), each check with its minimum pass rate.

Both models are loaded verified against their registry tags, with the code each was trained
with. The report goes to MLflow (``gate/report.md`` and ``gate/report.json`` in the candidate's
run), to ``reports/gate.json`` and ``reports/gate.md``, and from there into the model card. A
candidate that passes becomes ``champion``; one that fails leaves ``champion`` where it was and
exits 1 with the reasons, so CI stops.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from ml import lineage, tracking
from ml.contract import (
    CANDIDATE_ALIAS,
    CHAMPION_ALIAS,
    CODE_SHA256_TAG,
    MODEL_SHA256_TAG,
    TEST_MD5_TAG,
)
from ml.data import read as dataset
from ml.errors import GateRefusedError, PipelineError, run_cli
from ml.files import atomic_write
from ml.gate import paired, rules
from ml.gate.behaviour import run_checks
from ml.gate.report import GateReport
from ml.metrics import evaluate
from ml.params import GateParams, load_params
from ml.settings import MLSettings

log = logging.getLogger(__name__)

REPORT_ARTIFACT_DIR = "gate"


def _hold_out_mismatches(
    local_md5: str, candidate: ModelVersion, champion: ModelVersion | None
) -> list[str]:
    """Reasons the candidate cannot be judged on this hold-out (or against this champion)."""
    reasons = []
    candidate_md5 = candidate.tags.get(TEST_MD5_TAG)
    if candidate_md5 != local_md5:
        reasons.append(
            f"data/test.csv has md5 {local_md5}, but candidate version {candidate.version} was "
            f"scored on a hold-out with md5 {candidate_md5 or 'unknown'} (tag {TEST_MD5_TAG}): "
            "restore the data it was trained with (dvc pull) or train it again"
        )
    if champion is not None and champion.tags.get(TEST_MD5_TAG) != candidate_md5:
        reasons.append(
            f"candidate version {candidate.version} (test_md5 {candidate_md5 or 'unknown'}) and "
            f"champion version {champion.version} (test_md5 "
            f"{champion.tags.get(TEST_MD5_TAG) or 'unknown'}) were scored on different hold-outs, "
            "so they cannot be compared; to start over on a new hold-out, remove the champion "
            "alias in the registry first"
        )
    return reasons


def _load_champion(version: ModelVersion) -> tuple[Any, list[str]]:
    """The champion, verified; one registered before integrity tags is loaded with a note."""
    if version.tags.get(MODEL_SHA256_TAG) and version.tags.get(CODE_SHA256_TAG):
        return tracking.load_verified(version), []
    note = (
        f"champion version {version.version} predates the integrity tags; it was loaded "
        "unverified, with the current code, for the comparison only"
    )
    log.warning(note)
    return tracking.load_unverified(version.name, str(version.version)), [note]


def run_gate(
    client: MlflowClient, settings: MLSettings, thresholds: GateParams
) -> GateReport | None:
    """Decide on the candidate; None when it already is the champion."""
    rules.check_thresholds_cover_the_suite(thresholds)
    name = settings.model_name
    candidate = tracking.resolve_alias(client, name, CANDIDATE_ALIAS)
    champion = tracking.find_alias(client, name, CHAMPION_ALIAS)
    if champion is not None and champion.version == candidate.version:
        log.info("%s version %s is already @%s", name, candidate.version, CHAMPION_ALIAS)
        return None
    hold_out_path = settings.data_dir / "test.csv"
    hold_out = dataset.read_split(settings.data_dir, "test")
    local_md5 = lineage.file_digest(hold_out_path)
    report = partial(
        GateReport,
        model_name=name,
        candidate_version=str(candidate.version),
        candidate_run_id=candidate.run_id,
        champion_version=str(champion.version) if champion else None,
        test_md5=local_md5,
        decided_at=datetime.now(tz=UTC).isoformat(timespec="seconds"),
        thresholds=thresholds,
    )
    mismatches = _hold_out_mismatches(local_md5, candidate, champion)
    if mismatches:
        return report(reasons=mismatches)

    candidate_model = tracking.load_verified(candidate)
    candidate_evaluation = evaluate(candidate_model, hold_out)
    behaviour = run_checks(candidate_model)
    champion_scores = comparison = None
    notes: list[str] = []
    if champion is not None:
        champion_model, notes = _load_champion(champion)
        champion_evaluation = evaluate(champion_model, hold_out)
        champion_scores = champion_evaluation.scores
        comparison = paired.compare(
            candidate_evaluation.correct, champion_evaluation.correct, thresholds.paired
        )
    return report(
        reasons=rules.judge(candidate_evaluation.scores, comparison, behaviour, thresholds),
        hold_out_reviews=len(hold_out),
        candidate=candidate_evaluation.scores,
        champion=champion_scores,
        comparison=comparison,
        behaviour=behaviour,
        notes=notes,
    )


def record(client: MlflowClient, report: GateReport) -> None:
    """The report into the candidate's run, the verdict into its tags, and the alias on pass."""
    name, version = report.model_name, report.candidate_version
    try:
        client.log_text(
            report.candidate_run_id, report.markdown(), f"{REPORT_ARTIFACT_DIR}/report.md"
        )
        client.log_dict(
            report.candidate_run_id, report.as_dict(), f"{REPORT_ARTIFACT_DIR}/report.json"
        )
    except (MlflowException, OSError) as error:
        raise PipelineError(
            f"cannot store the gate report in run {report.candidate_run_id}: {error}"
        ) from None
    tags = {
        "gate_status": "passed" if report.passed else "failed",
        "gate_decided_at": report.decided_at,
        "gate_report": f"runs:/{report.candidate_run_id}/{REPORT_ARTIFACT_DIR}/report.md",
        "gate_reasons": " | ".join(report.reasons)[:5000],
    }
    if report.candidate is not None:
        tags["gate_accuracy"] = f"{report.candidate.accuracy:.6f}"
    if report.comparison is not None:
        tags["gate_vs_champion"] = (
            f"{report.comparison.difference:+.4f} vs version {report.champion_version} "
            f"(bootstrap lower {report.comparison.bootstrap_lower:+.4f}, McNemar p "
            f"{report.comparison.mcnemar_p_worse:.3g})"
        )
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    if report.passed:
        client.set_registered_model_alias(name, CHAMPION_ALIAS, version)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ml.promote", description=__doc__.split("\n")[0]
    )
    parser.parse_args(argv)
    settings = MLSettings()
    thresholds = load_params(settings.path(settings.params_file)).gate
    client = tracking.connect(settings)
    report = run_gate(client, settings, thresholds)
    if report is None:
        return 0
    record(client, report)
    atomic_write(
        settings.reports_dir / "gate.json",
        (json.dumps(report.as_dict(), indent=2) + "\n").encode(),
    )
    atomic_write(settings.reports_dir / "gate.md", report.markdown().encode())
    if not report.passed:
        raise GateRefusedError(
            f"candidate version {report.candidate_version} refused; champion stays at "
            f"{report.champion_version or 'none'}: " + "; ".join(report.reasons)
        )
    log.info(
        "promoted version %s to @%s (was %s); hold-out %s",
        report.candidate_version,
        CHAMPION_ALIAS,
        report.champion_version or "none",
        report.candidate.as_dict() if report.candidate else {},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli("ml.promote", main, None))
