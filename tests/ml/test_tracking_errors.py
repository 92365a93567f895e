"""Tracking-server failures are reported with the URL, quickly."""

import pytest

from ml.errors import PipelineError
from ml.tracking import ensure_reachable
from tests.support.network import free_port


def test_closed_port_is_reported_with_its_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PipelineError, match=rf"MLflow tracking server {url} cannot be reached"):
        ensure_reachable(url, timeout_seconds=2)


def test_local_stores_need_no_probe() -> None:
    ensure_reachable("sqlite:///nowhere/mlflow.db", timeout_seconds=0.1)
