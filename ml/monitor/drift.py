"""Drift statistics through Evidently, the report a person looks at.

Evidently 0.7.23 imports a pandas helper that pandas 3 removed (``infer_dtype_from_object``,
used only by a legacy column-type test this module never runs), so ``import evidently`` fails
with the project's pandas. ``_import_evidently`` supplies a stand-in that refuses to be called,
then imports it with telemetry switched off.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ml.params import MonitorParams

NUMERIC_SIGNALS = ("review_length", "oov_rate", "confidence")


def _import_evidently() -> Any:  # noqa: ANN401 - the evidently module
    # Evidently's usage telemetry lives in its UI service, which this never starts; these make
    # sure nothing else sends any either.
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("EVIDENTLY_DISABLE_TELEMETRY", "1")
    import pandas.core.dtypes.common as pandas_common

    if not hasattr(pandas_common, "infer_dtype_from_object"):

        def infer_dtype_from_object(dtype: object) -> object:
            raise NotImplementedError("evidently's legacy column-type test is not supported")

        pandas_common.infer_dtype_from_object = infer_dtype_from_object  # type: ignore[attr-defined]
    import evidently

    return evidently


@dataclass(frozen=True)
class DriftResult:
    psi: dict[str, float]  # per numeric signal that could be measured
    confidence_ks_pvalue: float
    snapshot: Any  # evidently's Snapshot, rendered by ml.monitor.report


# Fewer measured values than this in the window (say, the service stores no review text) and a
# signal is left out rather than compared.
MIN_MEASURED = 10


def measure_drift(
    reference: pd.DataFrame, current: pd.DataFrame, params: MonitorParams
) -> DriftResult:
    """PSI of each numeric signal and a KS test on confidence, current against reference."""
    evidently = _import_evidently()
    from evidently.metrics import ValueDrift

    columns = [
        column for column in NUMERIC_SIGNALS if current[column].notna().sum() >= MIN_MEASURED
    ]
    definition = evidently.DataDefinition(numerical_columns=columns)
    metrics = [
        ValueDrift(
            column=column, method="psi", threshold=params.psi_threshold, nbinsx=params.psi_bins
        )
        for column in columns
    ]
    metrics.append(ValueDrift(column="confidence", method="ks", threshold=params.ks_pvalue))
    report = evidently.Report(metrics)
    snapshot = report.run(
        current_data=evidently.Dataset.from_pandas(current[columns], data_definition=definition),
        reference_data=evidently.Dataset.from_pandas(
            reference[columns], data_definition=definition
        ),
    )
    values = [float(metric["value"]) for metric in snapshot.dict()["metrics"]]
    return DriftResult(
        psi=dict(zip(columns, values[: len(columns)], strict=True)),
        confidence_ks_pvalue=values[len(columns)],
        snapshot=snapshot,
    )
