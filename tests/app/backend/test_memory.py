"""What the service keeps in memory: no pandas, no pickle bytes, the load's objects frozen."""

from __future__ import annotations

import gc
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.backend import lean_imports
from app.backend.model import load_folder
from tests.conftest import REPO_ROOT

REVIEWS = [
    "a wonderful film, not boring at all",
    "dull, too long; I didn't like the cast",
    "",
    "<br />great great great, awful",
]


def test_hidden_makes_an_unimported_module_fail_and_then_importable_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rp_hidden_probe.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with lean_imports.hidden(("rp_hidden_probe",)), pytest.raises(ImportError):
        import rp_hidden_probe
    import rp_hidden_probe

    assert rp_hidden_probe.VALUE == 1
    monkeypatch.delitem(sys.modules, "rp_hidden_probe")


def test_hidden_leaves_a_module_already_imported_alone() -> None:
    with lean_imports.hidden(("json",)):
        import json as again

    assert again is json
    assert sys.modules["json"] is json


def test_a_loaded_model_keeps_its_digests_but_not_its_pickle_bytes(tiny_model: Path) -> None:
    predictor = load_folder(tiny_model)
    assert predictor.verified.pickle_bytes == b""
    digest = hashlib.sha256((tiny_model / "model.pkl").read_bytes()).hexdigest()
    assert predictor.verified.model_sha256 == digest
    assert predictor.describe()["integrity"]["model_sha256"] == digest


def test_the_app_freezes_what_it_loaded_and_thaws_it_at_shutdown(
    app_factory: Callable[..., TestClient], tiny_model: Path
) -> None:
    client = app_factory(model_path=tiny_model)
    assert gc.get_freeze_count() > 0
    assert client.post("/predict", json={"text": "a wonderful film"}).status_code == 200
    client.__exit__(None, None, None)
    assert gc.get_freeze_count() == 0


@pytest.mark.integration
def test_the_service_loads_its_model_without_pandas_and_scores_the_same(tiny_model: Path) -> None:
    """In a fresh process (as uvicorn runs it), loading the model imports sklearn without pandas,
    as in the backend image, and every probability equals this process's (pandas imported)."""
    pytest.importorskip("pandas")  # the dev environment has it; the image does not
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from app.backend.model import load_folder\n"
        "predictor = load_folder(Path(sys.argv[1]))\n"
        "imported = 'pandas' in sys.modules\n"
        "import pandas\n"
        "scores = predictor.positive_probabilities(json.loads(sys.argv[2]))\n"
        "print(json.dumps({'pandas_during_load': imported, 'fast_path': predictor.fast_path,\n"
        "                  'probabilities': scores}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tiny_model), json.dumps(REVIEWS)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    answer = json.loads(result.stdout)
    assert answer["pandas_during_load"] is False
    assert answer["fast_path"] is True
    here = load_folder(tiny_model)
    assert "pandas" in sys.modules
    assert answer["probabilities"] == here.positive_probabilities(REVIEWS)
    expected = here.pipeline.predict_proba(np.array(REVIEWS, dtype=object))
    assert answer["probabilities"] == pytest.approx(expected[:, 1].tolist(), abs=1e-5)
