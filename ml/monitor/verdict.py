"""The thresholds of params.yaml applied to the measurements: the checks and the verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ml.monitor.drift import DriftResult
from ml.params import MonitorParams

EXIT_RETRAIN_ADVISED = 3
Verdict = Literal["no_drift", "retrain_advised", "insufficient_data"]


@dataclass(frozen=True)
class Check:
    name: str
    statistic: str
    value: float | None
    threshold: float
    flagged: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mean(values: pd.Series) -> float:
    return float(np.nanmean(values.to_numpy(dtype=np.float64)))


def _psi_check(
    name: str, drift: DriftResult, params: MonitorParams, detail: str, *, also: bool = True
) -> Check:
    value = drift.psi.get(name)
    if value is None:
        return Check(name, "psi", None, params.psi_threshold, False, "not measured: " + detail)
    return Check(
        name, "psi", value, params.psi_threshold, value > params.psi_threshold and also, detail
    )


def distribution_checks(
    reference: pd.DataFrame, current: pd.DataFrame, drift: DriftResult, params: MonitorParams
) -> list[Check]:
    ks_p = drift.confidence_ks_pvalue
    ref_share = float((reference["predicted_label"] == "positive").mean())
    cur_share = float((current["predicted_label"] == "positive").mean())
    shift = abs(cur_share - ref_share)
    measured_oov = int(current["oov_rate"].notna().sum())
    oov_detail = (
        f"mean {_mean(current['oov_rate']):.1%} of words unknown to the model "
        f"(reference {_mean(reference['oov_rate']):.1%})"
        if measured_oov
        else "the window has no review text (the service runs with STORE_TEXT=false)"
    )
    return [
        _psi_check(
            "review_length",
            drift,
            params,
            f"median {current['review_length'].median():.0f} characters "
            f"(reference {reference['review_length'].median():.0f})",
        ),
        _psi_check("oov_rate", drift, params, oov_detail),
        _psi_check(
            "confidence",
            drift,
            params,
            f"mean {current['confidence'].mean():.3f} (reference "
            f"{reference['confidence'].mean():.3f}); KS p-value {ks_p:.2g}",
            also=ks_p < params.ks_pvalue,
        ),
        Check(
            "positive_share",
            "absolute_shift",
            shift,
            params.max_positive_share_shift,
            shift > params.max_positive_share_shift,
            f"{cur_share:.1%} positive (reference {ref_share:.1%})",
        ),
    ]


def feedback_check(
    window: pd.DataFrame, reference_accuracy: float, params: MonitorParams
) -> tuple[Check, int]:
    """Accuracy on the verdicts received for the window's predictions, against the hold-out."""
    judged = window[window["feedback_label"].isin(["positive", "negative"])]
    count = len(judged)
    if count < params.min_feedback_rows:
        return (
            Check(
                "feedback_accuracy",
                "accuracy_drop",
                None,
                params.max_accuracy_drop,
                False,
                f"{count} verdicts in the window, fewer than {params.min_feedback_rows}: "
                "not judged",
            ),
            count,
        )
    accuracy = float((judged["label"] == judged["feedback_label"]).mean())
    drop = reference_accuracy - accuracy
    return (
        Check(
            "feedback_accuracy",
            "accuracy_drop",
            drop,
            params.max_accuracy_drop,
            drop > params.max_accuracy_drop,
            f"{accuracy:.1%} right on {count} verdicts (hold-out {reference_accuracy:.1%})",
        ),
        count,
    )


def verdict_of(checks: list[Check], enough_data: bool) -> Verdict:
    if not enough_data:
        return "insufficient_data"
    return "retrain_advised" if any(check.flagged for check in checks) else "no_drift"
