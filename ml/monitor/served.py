"""The exported model (``ml.export``'s folder), loaded only when its pickle matches its card."""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml import lineage
from ml.contract import CARD_NAME, MODEL_FILE
from ml.errors import PipelineError


@dataclass(frozen=True)
class ServedModel:
    pipeline: Any  # the fitted sklearn Pipeline (tfidf -> nb -> clf)
    card: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.card.get("version", "unknown"))


def load_served_model(folder: Path) -> ServedModel:
    card_path = folder / CARD_NAME
    pickle_path = folder / MODEL_FILE
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(
            f"{card_path} not found; export the served model first "
            "(python -m ml.export --alias champion --out build/model)"
        ) from None
    except json.JSONDecodeError as error:
        raise PipelineError(f"{card_path} is not valid JSON: {error}") from None
    if not pickle_path.is_file():
        raise PipelineError(f"{pickle_path} not found beside its model card")
    expected = card.get("model_sha256")
    actual = lineage.file_digest(pickle_path, "sha256")
    if not expected or actual != expected:
        raise PipelineError(
            f"{pickle_path} has sha256 {actual[:12]}... but {card_path.name} records "
            f"{str(expected)[:12]}...; refusing to load it"
        )
    with pickle_path.open("rb") as stream:
        pipeline = pickle.load(stream)  # noqa: S301 - checked against the card's sha256 above
    if "tfidf" not in getattr(pipeline, "named_steps", {}):
        raise PipelineError(f"{pickle_path} is not the text pipeline ml.train builds")
    return ServedModel(pipeline, card)
