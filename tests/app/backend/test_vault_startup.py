"""Start-up with VAULT_ADDR: the secrets are applied, or the process ends with one clear line.

Vault is the local HTTP double of its two endpoints (tests/app/backend/vault_double.py; no Vault
binary can be downloaded here, the real one runs in the vault role's `online` scenario).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.backend.main import create_app
from tests.app.backend.conftest import make_settings
from tests.app.backend.vault_double import VaultDouble, serve
from tests.conftest import REPO_ROOT

PATH = "rotten-potatoes/backend"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_api_key_from_vault_guards_the_api(tiny_model: Path, tmp_path: Path) -> None:
    api_key = secrets.token_urlsafe(18)
    values = {
        "database_password": secrets.token_urlsafe(18),
        "api_key": api_key,
        "es_username": "rotten_potatoes_shipper",
        "es_password": secrets.token_urlsafe(18),
    }
    with serve(VaultDouble(kv={PATH: values})) as double:
        token_file = tmp_path / "token"
        token_file.write_text(double.token, encoding="utf-8")
        settings = make_settings(
            tmp_path / "data",
            model_path=tiny_model,
            vault_addr=double.url,
            vault_auth_method="token",
            vault_token_file=token_file,
        )
        app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/predict", json={"text": "great"}).status_code == 401
        answer = client.post("/predict", json={"text": "great"}, headers={"X-API-Key": api_key})
        assert answer.status_code == 200, answer.text


def test_create_app_fails_fast_when_vault_is_unreachable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    addr = f"http://127.0.0.1:{closed_port()}"
    jwt = tmp_path / "jwt"
    jwt.write_text("not-a-real-jwt", encoding="utf-8")
    settings = make_settings(tmp_path / "data", vault_addr=addr, vault_jwt_path=jwt)

    with pytest.raises(SystemExit) as raised:
        create_app(settings)

    assert raised.value.code == 1
    [line] = [json.loads(text) for text in capsys.readouterr().out.splitlines() if text]
    assert line["level"] == "CRITICAL"
    assert line["message"].startswith(f"cannot start: Vault at {addr} is unreachable (")


@pytest.mark.integration
def test_uvicorn_exits_with_the_message_and_no_traceback(tmp_path: Path) -> None:
    addr = f"http://127.0.0.1:{closed_port()}"
    token_file = tmp_path / "token"
    token = secrets.token_urlsafe(18)
    token_file.write_text(token, encoding="utf-8")
    env = {
        **os.environ,
        "VAULT_ADDR": addr,
        "VAULT_AUTH_METHOD": "token",
        "VAULT_TOKEN_FILE": str(token_file),
        "DATA_DIR": str(tmp_path / "data"),
    }
    uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "app.backend.main:create_app"]
    result = subprocess.run(
        [*uvicorn, "--host", "127.0.0.1", "--port", str(closed_port())],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    assert f"cannot start: Vault at {addr} is unreachable" in result.stdout
    assert token not in output
    assert "Uvicorn running" not in output
