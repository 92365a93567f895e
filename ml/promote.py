"""The promotion gate: ``python -m ml.promote``.

Scores ``candidate`` (and ``champion``, when there is one) on the fixed hold-out, runs the
behavioural checks, and compares against the thresholds in params.yaml. A candidate that passes
becomes ``champion``; one that fails leaves ``champion`` where it was and exits 1 with the
reasons, so CI stops.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from mlflow import MlflowClient

from ml import tracking
from ml.behaviour import SuiteResult, run_behaviour_checks
from ml.contract import CANDIDATE_ALIAS, CHAMPION_ALIAS
from ml.data import read as dataset
from ml.errors import GateRefusedError, run_cli
from ml.files import atomic_write
from ml.metrics import Scores, evaluate
from ml.params import GateParams, load_params
from ml.settings import MLSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateDecision:
    candidate_version: str
    champion_version: str | None
    candidate_scores: Scores
    champion_scores: Scores | None
    behaviour: list[SuiteResult]
    reasons: list[str]

    @property
    def passed(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "candidate_version": self.candidate_version,
            "champion_version": self.champion_version,
            "candidate": self.candidate_scores.as_dict(),
            "champion": self.champion_scores.as_dict() if self.champion_scores else None,
            "behaviour": {
                suite.name: {
                    "passed": suite.passed,
                    "total": suite.total,
                    "failures": suite.failures,
                }
                for suite in self.behaviour
            },
            "reasons": self.reasons,
        }


def judge(
    candidate: Scores,
    champion: Scores | None,
    behaviour: list[SuiteResult],
    thresholds: GateParams,
) -> list[str]:
    """Every reason the candidate falls short; empty means it passes."""
    reasons = [
        f"{name} {value:.4f} is below the minimum {floor:.4f}"
        for name, value, floor in (
            ("accuracy", candidate.accuracy, thresholds.min_accuracy),
            ("f1", candidate.f1, thresholds.min_f1),
            ("roc_auc", candidate.roc_auc, thresholds.min_roc_auc),
        )
        if value < floor
    ]
    if champion is not None and candidate.accuracy < champion.accuracy - thresholds.max_regression:
        reasons.append(
            f"accuracy {candidate.accuracy:.4f} is more than {thresholds.max_regression:.4f} "
            f"below the champion's {champion.accuracy:.4f}"
        )
    for suite in behaviour:
        if suite.pass_rate < thresholds.min_behaviour_pass_rate:
            reasons.append(
                f"behaviour '{suite.name}' passed {suite.passed}/{suite.total}: "
                + "; ".join(suite.failures)
            )
    return reasons


def run_gate(
    client: MlflowClient, settings: MLSettings, thresholds: GateParams
) -> GateDecision | None:
    """Decide on the candidate; None when it already is the champion."""
    name = settings.model_name
    candidate = tracking.resolve_alias(client, name, CANDIDATE_ALIAS)
    champion = tracking.find_alias(client, name, CHAMPION_ALIAS)
    if champion is not None and champion.version == candidate.version:
        log.info("%s version %s is already @%s", name, candidate.version, CHAMPION_ALIAS)
        return None
    hold_out = dataset.read_split(settings.data_dir, "test")
    candidate_model = tracking.load_sklearn(name, candidate.version)
    candidate_scores = evaluate(candidate_model, hold_out).scores
    behaviour = run_behaviour_checks(candidate_model)
    champion_scores = None
    if champion is not None:
        champion_scores = evaluate(tracking.load_sklearn(name, champion.version), hold_out).scores
    reasons = judge(candidate_scores, champion_scores, behaviour, thresholds)
    return GateDecision(
        candidate_version=str(candidate.version),
        champion_version=str(champion.version) if champion else None,
        candidate_scores=candidate_scores,
        champion_scores=champion_scores,
        behaviour=behaviour,
        reasons=reasons,
    )


def record(client: MlflowClient, name: str, decision: GateDecision) -> None:
    """Tag the candidate with the verdict, and move the champion alias when it passed."""
    version = decision.candidate_version
    client.set_model_version_tag(
        name, version, "gate_status", "passed" if decision.passed else "failed"
    )
    client.set_model_version_tag(
        name, version, "gate_accuracy", f"{decision.candidate_scores.accuracy:.6f}"
    )
    client.set_model_version_tag(name, version, "gate_reasons", " | ".join(decision.reasons)[:5000])
    if decision.passed:
        client.set_registered_model_alias(name, CHAMPION_ALIAS, version)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ml.promote", description=__doc__.split("\n")[0]
    )
    parser.parse_args(argv)
    settings = MLSettings()
    thresholds = load_params(settings.path(settings.params_file)).gate
    client = tracking.connect(settings)
    decision = run_gate(client, settings, thresholds)
    if decision is None:
        return 0
    record(client, settings.model_name, decision)
    atomic_write(
        settings.reports_dir / "gate.json",
        (json.dumps(decision.as_dict(), indent=2) + "\n").encode(),
    )
    if not decision.passed:
        raise GateRefusedError(
            f"candidate version {decision.candidate_version} refused; champion stays at "
            f"{decision.champion_version or 'none'}: " + "; ".join(decision.reasons)
        )
    log.info(
        "promoted version %s to @%s (was %s); hold-out %s",
        decision.candidate_version,
        CHAMPION_ALIAS,
        decision.champion_version or "none",
        decision.candidate_scores.as_dict(),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli("ml.promote", main, None))
