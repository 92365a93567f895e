"""params.yaml, validated, so a typo fails before any work starts."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    model_validator,
)

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
    negation: bool
    nb_alpha: float = Field(gt=0)
    C: float = Field(gt=0)
    max_iter: int = Field(ge=1)


GridValue = StrictBool | StrictInt | StrictFloat


class TuneParams(_Strict):
    folds: int = Field(ge=2, le=20)
    seed: int
    # Parallel fits; 0 takes one per CPU.
    jobs: int = Field(ge=0)
    grid: dict[str, list[GridValue]] = Field(min_length=1)


class PairedParams(_Strict):
    # One-sided level of both paired tests (McNemar's exact test and the bootstrap bound).
    alpha: float = Field(gt=0, lt=0.5)
    # Non-inferiority margin: the bootstrap's lower bound on (candidate - champion) accuracy
    # must stay above -max_regression.
    max_regression: float = Field(ge=0, le=1)
    bootstrap_resamples: int = Field(ge=1000)
    seed: int


class GateParams(_Strict):
    min_accuracy: float = Field(ge=0, le=1)
    min_f1: float = Field(ge=0, le=1)
    min_roc_auc: float = Field(ge=0, le=1)
    # Floor on the recall of each class (negative and positive).
    min_class_recall: float = Field(ge=0, le=1)
    paired: PairedParams
    # Behavioural check name -> the minimum share of its cases that must pass.
    behaviour: dict[str, float] = Field(min_length=1)

    @model_validator(mode="after")
    def _rates_are_shares(self) -> GateParams:
        for name, rate in self.behaviour.items():
            if not 0 <= rate <= 1:
                raise ValueError(f"behaviour.{name} must be between 0 and 1, got {rate}")
        return self


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
    tune: TuneParams
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

    @model_validator(mode="after")
    def _grid_names_train_settings(self) -> Params:
        unknown = sorted(set(self.tune.grid) - set(TrainParams.model_fields))
        if unknown:
            known = ", ".join(TrainParams.model_fields)
            raise ValueError(f"tune.grid has unknown settings {unknown} (train settings: {known})")
        for name, values in self.tune.grid.items():
            if not values:
                raise ValueError(f"tune.grid.{name} is empty")
            for value in values:
                try:
                    TrainParams.model_validate({**self.train.model_dump(), name: value})
                except ValidationError as error:
                    problem = error.errors()[0]["msg"]
                    raise ValueError(f"tune.grid.{name} value {value!r}: {problem}") from None
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
