"""params.yaml, validated, so a typo fails before any work starts."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ml.errors import PipelineError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataParams(_Strict):
    raw_csv: Path
    version: int
    versions: dict[int, int | None] = Field(min_length=1)
    test_fraction: float = Field(gt=0, lt=1)
    seed: int

    @model_validator(mode="after")
    def _version_is_known(self) -> DataParams:
        if self.version not in self.versions:
            known = ", ".join(str(v) for v in sorted(self.versions))
            raise ValueError(f"data.version {self.version} is not one of data.versions ({known})")
        for version, rows in self.versions.items():
            if rows is not None and rows < 2:
                raise ValueError(f"data.versions[{version}] must be null or at least 2 rows")
        return self


class TrainParams(_Strict):
    ngram_max: int = Field(ge=1, le=3)
    min_df: int = Field(ge=1)
    max_df: float = Field(gt=0, le=1)
    nb_alpha: float = Field(gt=0)
    C: float = Field(gt=0)
    max_iter: int = Field(ge=1)


class GateParams(_Strict):
    min_accuracy: float = Field(ge=0, le=1)
    min_f1: float = Field(ge=0, le=1)
    min_roc_auc: float = Field(ge=0, le=1)
    max_regression: float = Field(ge=0, le=1)
    min_behaviour_pass_rate: float = Field(ge=0, le=1)


class FeedbackParams(_Strict):
    """ml.feedback: how the users' verdicts become the feedback data version."""

    data_version: int
    min_rows: int = Field(ge=1)
    conflict_rule: Literal["majority", "drop"]


class MonitorParams(_Strict):
    """ml.monitor: the window it reads and the thresholds past which it advises retraining."""

    window_hours: float = Field(gt=0)
    min_window_rows: int = Field(ge=10)
    oov_sample: int = Field(ge=100)
    psi_bins: int = Field(ge=2, le=100)
    psi_threshold: float = Field(gt=0)
    ks_pvalue: float = Field(gt=0, lt=1)
    max_positive_share_shift: float = Field(gt=0, lt=1)
    min_feedback_rows: int = Field(ge=1)
    max_accuracy_drop: float = Field(gt=0, lt=1)


class Params(_Strict):
    data: DataParams
    train: TrainParams
    gate: GateParams
    feedback: FeedbackParams
    monitor: MonitorParams

    @model_validator(mode="after")
    def _feedback_version_is_known(self) -> Params:
        if self.feedback.data_version not in self.data.versions:
            raise ValueError(
                f"feedback.data_version {self.feedback.data_version} is not one of data.versions"
            )
        if self.data.versions[self.feedback.data_version] is not None:
            raise ValueError(
                f"data.versions[{self.feedback.data_version}] must be null: the feedback version "
                "is the whole training pool plus the feedback"
            )
        return self


def load_params(path: Path) -> Params:
    """Load and validate params.yaml; every problem is reported with its key."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"parameters file {path} not found") from None
    except yaml.YAMLError as error:
        raise PipelineError(f"parameters file {path} is not valid YAML: {error}") from None
    try:
        return Params.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or '(root)'}: {issue['msg']}"
            for issue in error.errors()
        )
        raise PipelineError(f"parameters file {path} is invalid: {problems}") from None
