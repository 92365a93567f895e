from pathlib import Path

import pytest
import yaml

from ml.errors import PipelineError
from ml.params import load_params
from tests.ml.conftest import TEST_PARAMS


def test_repository_params_are_valid(repo_root: Path) -> None:
    params = load_params(repo_root / "params.yaml")
    assert params.data.versions[1] == 10_000
    assert params.data.versions[2] is None


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match=r"parameters file .*absent\.yaml not found"):
        load_params(tmp_path / "absent.yaml")


def test_wrong_type_names_the_key(tmp_path: Path) -> None:
    bad = {**TEST_PARAMS, "train": {**TEST_PARAMS["train"], "C": "strong"}}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(PipelineError, match=r"train\.C: "):
        load_params(path)


def test_default_version_must_be_declared(tmp_path: Path) -> None:
    bad = {**TEST_PARAMS, "data": {**TEST_PARAMS["data"], "version": 5}}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(PipelineError, match=r"data.version 5 is not one of data.versions"):
        load_params(path)


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    bad = {**TEST_PARAMS, "gate": {**TEST_PARAMS["gate"], "min_acuracy": 0.9}}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(PipelineError, match=r"gate\.min_acuracy: Extra inputs are not permitted"):
        load_params(path)


def test_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("data: [unclosed\n")
    with pytest.raises(PipelineError, match="not valid YAML"):
        load_params(path)
