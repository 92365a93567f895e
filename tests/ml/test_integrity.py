"""ml/integrity.py: the digests, what a pickle refers to, the staged code, and loading a pickle
against its own trained code without touching the importer's ``ml``."""

from __future__ import annotations

import pickle
import subprocess
from pathlib import Path

import pytest

import ml
from ml import integrity

# pickle.dumps(ml.text.model_text), written out so no test depends on the pickler's choices.
TEXT_PAYLOAD = b"\x80\x04\x95\x17\x00\x00\x00\x00\x00\x00\x00\x8c\x07ml.text\x8c\nmodel_text\x93."


def test_the_code_digest_is_sha256sum_s_manifest(tmp_path: Path) -> None:
    package = integrity.stage_code(TEXT_PAYLOAD, Path(ml.__file__).parent, tmp_path)
    (package / "sub").mkdir()
    (package / "sub" / "x.py").write_text("X = 1\n")
    # A fixed pipeline: the documented way to check a digest with coreutils alone.
    shell = subprocess.run(  # noqa: S602
        "find . -name '*.py' | sed 's|^\\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum",
        shell=True,
        cwd=package,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shell.stdout.split()[0] == integrity.code_digest(integrity.read_code(package))


def test_caches_are_ignored_and_anything_else_is_refused(tmp_path: Path) -> None:
    package = tmp_path / "ml"
    (package / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__pycache__" / "text.cpython-311.pyc").write_bytes(b"\0")
    assert set(integrity.read_code(package)) == {"__init__.py"}
    (package / "data.json").write_text("{}")
    with pytest.raises(integrity.IntegrityError, match="not a Python source file"):
        integrity.read_code(package)
    (package / "data.json").unlink()
    (package / "link.py").symlink_to(package / "__init__.py")
    with pytest.raises(integrity.IntegrityError, match="is a symbolic link"):
        integrity.read_code(package)


def test_the_globals_of_a_pickle_are_read_without_loading_it(fitted) -> None:
    pipeline, _ = fitted
    found = integrity.pickled_globals(pickle.dumps(pipeline))
    assert ("ml.text", "model_text") in found
    assert ("ml.features", "NaiveBayesWeighter") in found
    assert ("sklearn.pipeline", "Pipeline") in found
    for protocol in (0, 2):
        assert ("ml.text", "model_text") in integrity.pickled_globals(
            pickle.dumps(pipeline, protocol=protocol)
        )


def test_only_the_modules_the_pickle_needs_are_staged(fitted, tmp_path: Path) -> None:
    pipeline, _ = fitted
    package = integrity.stage_code(pickle.dumps(pipeline), Path(ml.__file__).parent, tmp_path)
    assert sorted(p.name for p in package.iterdir()) == ["__init__.py", "features.py", "text.py"]


def test_relative_imports_are_followed_and_absolute_ones_refused(tmp_path: Path) -> None:
    source = tmp_path / "src" / "ml"
    source.mkdir(parents=True)
    (source / "__init__.py").write_text("")
    (source / "helpers.py").write_text("def shout(s):\n    return s.upper()\n")
    (source / "text.py").write_text(
        "from .helpers import shout\n\ndef model_text(s):\n    return shout(s)\n"
    )
    payload = TEXT_PAYLOAD
    assert integrity.pickled_globals(payload) == {("ml.text", "model_text")}
    staged = integrity.stage_code(payload, source, tmp_path / "out")
    assert sorted(p.name for p in staged.iterdir()) == ["__init__.py", "helpers.py", "text.py"]

    (source / "text.py").write_text("from ml.helpers import shout\n")
    with pytest.raises(integrity.IntegrityError, match=r"imports ml\.helpers absolutely"):
        integrity.stage_code(payload, source, tmp_path / "again")


def _verified_as_written(folder: Path, payload: bytes) -> integrity.VerifiedModel:
    """Writes the pickle beside the staged code; verified against their own digests."""
    (folder / "model.pkl").write_bytes(payload)
    code = integrity.read_code(folder / "code" / "ml")
    return integrity.verify_folder(
        folder,
        integrity.Expected(integrity.sha256_bytes(payload), "test"),
        integrity.Expected(integrity.code_digest(code), "test"),
    )


def test_a_pickle_loads_against_its_own_code(tmp_path: Path) -> None:
    source = tmp_path / "src" / "ml"
    source.mkdir(parents=True)
    (source / "__init__.py").write_text("")
    (source / "text.py").write_text("def model_text(s):\n    return 'trained:' + s\n")
    payload = TEXT_PAYLOAD
    folder = tmp_path / "model"
    integrity.stage_code(payload, source, folder / "code")
    verified = _verified_as_written(folder, payload)

    model_text = integrity.unpickle(verified)

    assert model_text("x") == "trained:x"
    assert model_text.__module__ == f"_rp_model_code_{verified.code_sha256[:16]}.text"
    from ml.text import model_text as own

    assert own("x") == "x"


def test_a_pickle_needing_code_that_was_not_shipped_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    (folder / "code" / "ml").mkdir(parents=True)
    (folder / "code" / "ml" / "__init__.py").write_text("")
    payload = TEXT_PAYLOAD
    verified = _verified_as_written(folder, payload)
    with pytest.raises(integrity.IntegrityError, match=r"refers to ml\.text\.model_text"):
        integrity.unpickle(verified)


def test_a_deployment_digest_must_agree_with_the_recorded_one() -> None:
    recorded = integrity.Expected("a" * 64, "model_card.json model_sha256")
    assert integrity.check_agrees("x", recorded, None) is recorded
    agreed = integrity.check_agrees("x", recorded, integrity.Expected("a" * 64, "MODEL_SHA256"))
    assert agreed.source == "MODEL_SHA256 (= model_card.json model_sha256)"
    with pytest.raises(integrity.IntegrityError, match=f"MODEL_SHA256 is {'b' * 64}"):
        integrity.check_agrees("x", recorded, integrity.Expected("b" * 64, "MODEL_SHA256"))
