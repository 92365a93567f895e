"""The reference: the hold-out reviews, scored by the served model.

The hold-out was never trained on, like a live review, so the model's confidence on it is what
confidence on live reviews should look like while nothing has changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ml.data.read import read_split
from ml.errors import PipelineError
from ml.monitor.served import ServedModel
from ml.monitor.signals import VocabularyProbe, confidence

SIGNAL_COLUMNS = ["review_length", "oov_rate", "confidence", "predicted_label"]


@dataclass(frozen=True)
class Reference:
    source: str
    signals: pd.DataFrame  # SIGNAL_COLUMNS
    accuracy: float

    @property
    def positive_share(self) -> float:
        return float((self.signals["predicted_label"] == "positive").mean())


def signals_frame(
    lengths: np.ndarray, oov: np.ndarray, positive_probability: np.ndarray
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "review_length": lengths.astype(np.float64),
            "oov_rate": oov,
            "confidence": confidence(positive_probability),
            "predicted_label": np.where(positive_probability >= 0.5, "positive", "negative"),
        }
    )


def load_reference(path: Path, model: ServedModel, probe: VocabularyProbe) -> Reference:
    frame = read_split(path.parent, path.stem) if path.suffix == ".csv" else None
    if frame is None:
        raise PipelineError(f"reference {path} must be a prepared CSV (review,label)")
    if len(frame) < 2:
        raise PipelineError(f"reference {path} has {len(frame)} reviews; it needs at least 2")
    reviews = frame["review"].astype(str).tolist()
    positive = model.pipeline.predict_proba(np.asarray(reviews, dtype=object))[:, 1]
    lengths = np.fromiter((len(review) for review in reviews), dtype=np.int64, count=len(reviews))
    signals = signals_frame(lengths, probe.oov_rates(reviews), positive)
    accuracy = float(((positive >= 0.5).astype(int) == frame["label"].to_numpy()).mean())
    return Reference(str(path), signals, accuracy)
