"""Hold-out metrics and the data behind the confusion-matrix and ROC plots."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from ml.model import LABEL_NAMES, POSITIVE


class ProbabilisticModel(Protocol):
    def predict_proba(self, texts: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Scores:
    accuracy: float
    f1: float
    roc_auc: float
    recall_negative: float
    recall_positive: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Evaluation:
    scores: Scores
    labels: np.ndarray
    positive_probability: np.ndarray

    @property
    def predicted(self) -> np.ndarray:
        return (self.positive_probability >= 0.5).astype(int)

    @property
    def correct(self) -> np.ndarray:
        """Per review, whether the model got it right (the gate pairs these across models)."""
        return self.predicted == self.labels

    def confusion_rows(self) -> pd.DataFrame:
        """One row per review, named labels: the input DVC's confusion template expects."""
        return pd.DataFrame(
            {
                "actual": [LABEL_NAMES[int(v)] for v in self.labels],
                "predicted": [LABEL_NAMES[int(v)] for v in self.predicted],
            }
        )

    def confusion_matrix(self) -> np.ndarray:
        return confusion_matrix(self.labels, self.predicted, labels=[0, 1])

    def roc_points(self) -> pd.DataFrame:
        fpr, tpr, thresholds = roc_curve(self.labels, self.positive_probability)
        # roc_curve starts at an infinite threshold; clip so the CSV stays numeric.
        return pd.DataFrame(
            {"fpr": fpr, "tpr": tpr, "threshold": np.minimum(thresholds, 1.0)}
        ).round(6)


def evaluate(model: ProbabilisticModel, frame: pd.DataFrame) -> Evaluation:
    """Score a model on a frame with review and label columns."""
    texts = frame["review"].to_numpy(dtype=str)
    labels = frame["label"].to_numpy(dtype=int)
    probability = np.asarray(model.predict_proba(texts))[:, POSITIVE]
    predicted = (probability >= 0.5).astype(int)
    recall = recall_score(labels, predicted, labels=[0, 1], average=None, zero_division=0.0)
    scores = Scores(
        accuracy=round(float(accuracy_score(labels, predicted)), 6),
        f1=round(float(f1_score(labels, predicted)), 6),
        roc_auc=round(float(roc_auc_score(labels, probability)), 6),
        recall_negative=round(float(recall[0]), 6),
        recall_positive=round(float(recall[1]), 6),
    )
    return Evaluation(scores=scores, labels=labels, positive_probability=probability)
