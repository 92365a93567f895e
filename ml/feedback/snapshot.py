"""The feedback snapshot on disk: ``data/feedback.csv`` (the exported rows) and its record.

The record ``data/feedback.json`` is small and holds no review text: the time range, the row
count, the sha256 of the CSV's bytes, the conflict rule and the counts. It is committed with the
project (as ``dvc.lock`` is) and is a dependency of the DVC ``prepare`` stage, so a new snapshot
prepares the feedback data version again. Its committed default records no snapshot.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd

from ml.errors import PipelineError
from ml.feedback.rows import EXPORT_COLUMNS, sha256
from ml.files import atomic_write

ROWS_FILE = "feedback.csv"
RECORD_FILE = "feedback.json"
EXPORT_HINT = "run python -m ml.feedback (make feedback) with DATABASE_URL set"


def write_snapshot(data_dir: Path, rows: bytes, record: dict[str, Any]) -> None:
    """Rows first, then the record that vouches for them: a reader checks one against the other."""
    atomic_write(data_dir / ROWS_FILE, rows)
    atomic_write(data_dir / RECORD_FILE, (json.dumps(record, indent=2) + "\n").encode())


def read_record(data_dir: Path) -> dict[str, Any]:
    path = data_dir / RECORD_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{path} not found; {EXPORT_HINT}") from None
    except json.JSONDecodeError as error:
        raise PipelineError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(record, dict):
        raise PipelineError(f"{path} is not a feedback snapshot record")
    return record


def read_snapshot(data_dir: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The exported rows and their record, after checking that they belong together."""
    record = read_record(data_dir)
    if not record.get("rows"):
        raise PipelineError(f"{data_dir / RECORD_FILE} records no feedback snapshot; {EXPORT_HINT}")
    path = data_dir / ROWS_FILE
    try:
        payload = path.read_bytes()
    except FileNotFoundError:
        raise PipelineError(f"{path} not found; {EXPORT_HINT}") from None
    if sha256(payload) != record.get("sha256"):
        raise PipelineError(
            f"{path} is not the snapshot {data_dir / RECORD_FILE} records (sha256 "
            f"{sha256(payload)[:12]}... instead of {str(record.get('sha256'))[:12]}...); "
            f"{EXPORT_HINT}"
        )
    frame = pd.read_csv(io.BytesIO(payload), dtype=str, keep_default_na=False)
    if list(frame.columns) != EXPORT_COLUMNS or len(frame) != record["rows"]:
        raise PipelineError(f"{path} does not hold the {record['rows']} rows its record names")
    return frame, record
