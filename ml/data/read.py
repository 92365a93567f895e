"""Reading the prepared data files back, with a clear error when they are missing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ml.errors import PipelineError

PREPARE_HINT = "run python -m ml.data --version N (or dvc repro) first"


def read_split(data_dir: Path, split: str) -> pd.DataFrame:
    path = data_dir / f"{split}.csv"
    try:
        frame = pd.read_csv(path, dtype={"review": str, "label": "int64"}, keep_default_na=False)
    except FileNotFoundError:
        raise PipelineError(f"{path} not found; {PREPARE_HINT}") from None
    except (ValueError, pd.errors.ParserError) as error:
        raise PipelineError(f"{path} is not a prepared data file: {error}") from None
    if list(frame.columns) != ["review", "label"]:
        raise PipelineError(f"{path} has columns {list(frame.columns)}; {PREPARE_HINT}")
    return frame


def read_manifest(data_dir: Path) -> dict[str, Any]:
    path = data_dir / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{path} not found; {PREPARE_HINT}") from None
    except json.JSONDecodeError as error:
        raise PipelineError(f"{path} is not valid JSON: {error}") from None
