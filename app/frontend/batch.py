"""Batch analysis of an uploaded CSV, without any Streamlit: read, chunk, predict, export.

Policy: the CSV needs a ``review`` or ``text`` column (case-insensitive; ``review`` wins when both
exist). Blank rows are skipped and counted. Files with more rows than ``max_rows`` are refused;
anything up to that is sent in chunks of ``batch_size`` (at most 256, the API's limit per call).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from app.frontend.client import ApiClient, ApiError, FieldError

TEXT_COLUMNS = ("review", "text")
RESULT_COLUMNS = ("row", "review", "label", "probability", "model_version", "request_id")


class BatchInputError(ValueError):
    """The uploaded file cannot be analysed; the message says why and what to change."""


@dataclass(frozen=True)
class BatchInput:
    """The reviews to analyse, with their 1-based row numbers in the uploaded file."""

    column: str
    rows: tuple[int, ...]
    texts: tuple[str, ...]
    skipped_blank: int


def read_reviews_csv(data: bytes, *, max_rows: int) -> BatchInput:
    """Parse an uploaded CSV into the reviews to send, or raise :class:`BatchInputError`."""
    if not data.strip():
        raise BatchInputError(
            "The CSV file is empty: it needs a header row with a `review` or `text` column."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BatchInputError(
            f"The file is not UTF-8 text (byte {exc.start} cannot be decoded); save it as a "
            "UTF-8 CSV."
        ) from exc
    try:
        _check_field_counts(text)
        # index_col=False: pandas would otherwise turn surplus fields into an index silently.
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            index_col=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise BatchInputError(f"The file is not a readable CSV: {exc}".strip()) from exc

    columns = {str(name).strip().lower(): name for name in frame.columns}
    column = next((columns[name] for name in TEXT_COLUMNS if name in columns), None)
    if column is None:
        found = ", ".join(f"`{name}`" for name in frame.columns) or "none"
        raise BatchInputError(f"The CSV has no `review` or `text` column (columns found: {found}).")
    if frame.empty:
        raise BatchInputError(f"The CSV has a `{column}` column but no rows.")

    values = frame[column].astype(str)
    keep = values.str.strip() != ""
    texts = tuple(values[keep])
    rows = tuple(int(index) + 1 for index in frame.index[keep])
    if not texts:
        raise BatchInputError(f"Every row of the `{column}` column is blank.")
    if len(texts) > max_rows:
        raise BatchInputError(
            f"The CSV has {len(texts)} reviews; this page analyses at most {max_rows} per file. "
            "Split the file, or raise FRONTEND_MAX_UPLOAD_ROWS."
        )
    return BatchInput(column=str(column), rows=rows, texts=texts, skipped_blank=int((~keep).sum()))


def _check_field_counts(text: str) -> None:
    """Refuse rows with more fields than the header: an unquoted comma splits a review."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    for fields in reader:
        if len(fields) > len(header):
            raise BatchInputError(
                f"Line {reader.line_num} has {len(fields)} fields but the header has "
                f"{len(header)}: put reviews that contain commas in double quotes."
            )


def chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    return [items[start : start + size] for start in range(0, len(items), size)]


def predict_in_batches(
    client: ApiClient,
    batch: BatchInput,
    *,
    batch_size: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Send the reviews in chunks; one row per review with its label and probability.

    A failing chunk raises :class:`ApiError` naming the rows it covered.
    """
    records: list[dict[str, object]] = []
    done = 0
    for chunk in chunks(batch.texts, batch_size):
        first_row, last_row = batch.rows[done], batch.rows[done + len(chunk) - 1]
        try:
            predictions = client.predict_batch(chunk)
        except ApiError as exc:
            raise ApiError(
                f"Rows {first_row}-{last_row} of the file: {exc.message}",
                kind=exc.kind,
                status_code=exc.status_code,
                field_errors=[
                    _to_file_row(error, batch.rows[done : done + len(chunk)])
                    for error in exc.field_errors
                ],
            ) from exc
        for offset, prediction in enumerate(predictions):
            records.append(
                {
                    "row": batch.rows[done + offset],
                    "review": chunk[offset],
                    "label": prediction.label,
                    "probability": prediction.probability,
                    "model_version": prediction.model_version,
                    "request_id": prediction.request_id,
                }
            )
        done += len(chunk)
        if on_progress is not None:
            on_progress(done, len(batch.texts))
    return pd.DataFrame.from_records(records, columns=list(RESULT_COLUMNS))


def _to_file_row(error: FieldError, rows: Sequence[int]) -> FieldError:
    """``texts.3`` of a chunk → ``row 17`` of the uploaded file."""
    match error.loc:
        case ("texts", int(index), *rest) if 0 <= index < len(rows):
            return FieldError((f"row {rows[index]}", *rest), error.message)
    return error


def label_counts(results: pd.DataFrame) -> pd.DataFrame:
    """How many reviews got each label (both labels always present), for the chart."""
    counts = results["label"].value_counts().reindex(["positive", "negative"], fill_value=0)
    return counts.rename_axis("label").to_frame("reviews")


def results_csv(results: pd.DataFrame) -> bytes:
    return results.to_csv(index=False).encode("utf-8")
