"""The backend's Vault client (app/backend/vault.py) against a local HTTP double of Vault.

The double (tests/app/backend/vault_double.py) answers only the two endpoints the client calls,
the Kubernetes login and the KV v2 read, as Vault documents them: no Vault binary can be
downloaded here, and the real server is exercised by the vault role's `online` scenario. Nothing
else is faked: the requests go over real sockets (and real TLS in the TLS tests), the files are
real files. Every secret value is random per test, so none is ever written in this repository.
"""

from __future__ import annotations

import logging
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from app.backend.settings import Settings
from app.backend.vault import VaultError, read_secrets, settings_with_vault_secrets
from tests.app.backend.vault_double import VaultDouble, serve
from tests.support.certificates import self_signed_certificate

PATH = "rotten-potatoes/backend"


def backend_values() -> dict[str, str]:
    return {
        "database_password": secrets.token_urlsafe(18),
        "api_key": secrets.token_urlsafe(18),
        "es_username": "rotten_potatoes_shipper",
        "es_password": secrets.token_urlsafe(18),
    }


@pytest.fixture
def double() -> Iterator[VaultDouble]:
    with serve(VaultDouble(kv={PATH: backend_values()})) as running:
        yield running


def settings_for(addr: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "vault_addr": addr,
        "vault_timeout_seconds": 3,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def write(path: Path, text: str) -> Path:
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def kubernetes_settings(double: VaultDouble, tmp_path: Path, **overrides: object) -> Settings:
    jwt = write(tmp_path / "jwt", double.jwt)
    return settings_for(double.url, tmp_path, vault_jwt_path=jwt, **overrides)


def token_settings(
    double: VaultDouble, tmp_path: Path, token: str | None = None, **overrides: object
) -> Settings:
    token_file = write(tmp_path / "token", double.token if token is None else token)
    return settings_for(
        double.url, tmp_path, vault_auth_method="token", vault_token_file=token_file, **overrides
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def failure(settings: Settings) -> str:
    with pytest.raises(VaultError) as raised:
        read_secrets(settings)
    return str(raised.value)


def assert_nothing_leaks(text: str, double: VaultDouble) -> None:
    for value in [double.jwt, double.token, *double.kv.get(PATH, {}).values()]:
        if value != "rotten_potatoes_shipper":  # a user name, not a secret
            assert value not in text


def test_kubernetes_login_sends_the_role_and_the_jwt_from_the_file(
    double: VaultDouble, tmp_path: Path
) -> None:
    values = read_secrets(kubernetes_settings(double, tmp_path))

    assert values == double.kv[PATH]
    login, read = double.requests
    assert (login.method, login.path) == ("POST", "/v1/auth/kubernetes/login")
    assert login.body == {"role": "rotten-potatoes-backend", "jwt": double.jwt}
    assert "x-vault-token" not in login.headers
    assert (read.method, read.path) == ("GET", f"/v1/secret/data/{PATH}")
    assert read.headers["x-vault-token"] == double.token


def test_role_and_mounts_come_from_the_settings(tmp_path: Path) -> None:
    shaped = VaultDouble(role="other-role", auth_mount="k8s-prod", kv_mount="kv")
    shaped.kv["apps/backend"] = backend_values()
    with serve(shaped) as double:
        settings = kubernetes_settings(
            double,
            tmp_path,
            vault_kubernetes_role="other-role",
            vault_kubernetes_mount="k8s-prod",
            vault_kv_mount="kv",
            vault_secret_path="apps/backend",  # noqa: S106 - a Vault path, not a password
        )
        assert read_secrets(settings) == shaped.kv["apps/backend"]
    assert [request.path for request in double.requests] == [
        "/v1/auth/k8s-prod/login",
        "/v1/kv/data/apps/backend",
    ]


def test_token_file_auth_reads_with_the_token_and_skips_the_login(
    double: VaultDouble, tmp_path: Path
) -> None:
    values = read_secrets(token_settings(double, tmp_path))

    assert values == double.kv[PATH]
    [read] = double.requests
    assert read.path == f"/v1/secret/data/{PATH}"
    assert read.headers["x-vault-token"] == double.token


def test_vault_values_win_over_the_environment(double: VaultDouble, tmp_path: Path) -> None:
    env_password = secrets.token_urlsafe(12)
    settings = token_settings(
        double,
        tmp_path,
        database_url=f"postgresql+psycopg://rotten:{env_password}@postgres:5432/rotten_potatoes",
        api_key=secrets.token_urlsafe(12),
        es_username="someone-else",
    )
    applied = settings_with_vault_secrets(settings)

    expected = double.kv[PATH]
    url = make_url(applied.resolved_database_url)
    assert url.password == expected["database_password"]
    assert (url.username, url.host, url.port, url.database) == (
        "rotten",
        "postgres",
        5432,
        "rotten_potatoes",
    )
    assert applied.api_key is not None
    assert applied.api_key.get_secret_value() == expected["api_key"]
    assert applied.es_username == "rotten_potatoes_shipper"
    assert applied.es_password is not None
    assert applied.es_password.get_secret_value() == expected["es_password"]


def test_a_password_with_url_characters_survives_the_url(tmp_path: Path) -> None:
    values = {**backend_values(), "database_password": "p@ss/w:rd%" + secrets.token_hex(4)}
    with serve(VaultDouble(kv={PATH: values})) as double:
        settings = token_settings(double, tmp_path, database_url="postgresql+psycopg://u@db/app")
        applied = settings_with_vault_secrets(settings)
    assert make_url(applied.resolved_database_url).password == values["database_password"]


def test_sqlite_keeps_its_url(double: VaultDouble, tmp_path: Path) -> None:
    settings = token_settings(double, tmp_path)
    applied = settings_with_vault_secrets(settings)
    assert applied.resolved_database_url == settings.resolved_database_url
    assert applied.api_key is not None


def test_without_vault_addr_nothing_is_called(double: VaultDouble, tmp_path: Path) -> None:
    settings = settings_for("", tmp_path)
    assert settings.vault_addr is None
    assert settings_with_vault_secrets(settings) is settings
    assert double.requests == []


def test_unreachable_vault_names_the_address(tmp_path: Path) -> None:
    addr = f"http://127.0.0.1:{closed_port()}"
    message = failure(settings_for(addr, tmp_path, vault_jwt_path=write(tmp_path / "j", "x")))
    assert message.startswith(f"Vault at {addr} is unreachable (")


def test_a_silent_vault_times_out_with_a_clear_message(tmp_path: Path) -> None:
    # Accepts connections (the kernel's backlog) but never answers.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        addr = f"http://127.0.0.1:{listener.getsockname()[1]}"
        settings = settings_for(
            addr, tmp_path, vault_jwt_path=write(tmp_path / "j", "x"), vault_timeout_seconds=0.5
        )
        message = failure(settings)
    assert message == f"Vault at {addr} is unreachable (no answer within 0.5 s)"


def test_an_expired_token_is_a_clear_403(double: VaultDouble, tmp_path: Path) -> None:
    expired = "hvs." + secrets.token_urlsafe(24)
    message = failure(token_settings(double, tmp_path, token=expired))
    assert message == (
        f"Vault at {double.url} denied reading secret secret/{PATH} (HTTP 403: permission "
        f"denied): the token has expired or lacks a policy that reads secret/data/{PATH}"
    )
    assert expired not in message


def test_a_rejected_jwt_names_the_role(double: VaultDouble, tmp_path: Path) -> None:
    stale_jwt = "jwt-" + secrets.token_urlsafe(24)
    settings = settings_for(double.url, tmp_path, vault_jwt_path=write(tmp_path / "j", stale_jwt))
    message = failure(settings)
    assert message.startswith(
        f"Vault at {double.url} refused the Kubernetes login for role 'rotten-potatoes-backend' "
        "(auth mount 'kubernetes', HTTP 403: permission denied)"
    )
    assert stale_jwt not in message


def test_an_unknown_role_is_vaults_400(double: VaultDouble, tmp_path: Path) -> None:
    message = failure(kubernetes_settings(double, tmp_path, vault_kubernetes_role="nobody"))
    assert "refused the Kubernetes login for role 'nobody'" in message
    assert 'HTTP 400: invalid role name "nobody"' in message


def test_a_missing_secret_path_is_a_clear_404(double: VaultDouble, tmp_path: Path) -> None:
    missing = {"vault_secret_path": "rotten-potatoes/nope"}
    message = failure(token_settings(double, tmp_path, **missing))
    assert message == f"secret secret/rotten-potatoes/nope not found at {double.url} (HTTP 404)"


def test_missing_keys_are_named(tmp_path: Path) -> None:
    values = backend_values()
    del values["es_password"], values["api_key"]
    with serve(VaultDouble(kv={PATH: values})) as double:
        message = failure(token_settings(double, tmp_path))
    assert message == f"secret secret/{PATH} at {double.url} lacks the key(s) api_key, es_password"


def test_required_keys_are_a_setting(tmp_path: Path) -> None:
    values = {"database_password": secrets.token_urlsafe(12)}
    with serve(VaultDouble(kv={PATH: values})) as double:
        settings = token_settings(double, tmp_path, vault_required_keys=["database_password"])
        assert read_secrets(settings) == values


def test_a_missing_jwt_file_is_named(double: VaultDouble, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-token"
    message = failure(settings_for(double.url, tmp_path, vault_jwt_path=missing))
    assert message == (
        f"the Kubernetes ServiceAccount token {missing} (VAULT_JWT_PATH) cannot be read: "
        "No such file or directory"
    )
    assert double.requests == []


def test_token_auth_without_a_token_file_is_refused(double: VaultDouble, tmp_path: Path) -> None:
    message = failure(settings_for(double.url, tmp_path, vault_auth_method="token"))
    assert message.startswith("VAULT_AUTH_METHOD is token but VAULT_TOKEN_FILE is not set")


def test_an_empty_token_file_is_named(double: VaultDouble, tmp_path: Path) -> None:
    message = failure(token_settings(double, tmp_path, token=""))
    assert message == f"the Vault token file {tmp_path / 'token'} (VAULT_TOKEN_FILE) is empty"


@pytest.fixture
def tls_double(tmp_path: Path) -> Iterator[tuple[VaultDouble, Path]]:
    cert, key = self_signed_certificate(tmp_path / "server")
    with serve(VaultDouble(kv={PATH: backend_values()}), tls=(cert, key)) as double:
        yield double, cert


def test_tls_with_the_right_ca_file_works(
    tls_double: tuple[VaultDouble, Path], tmp_path: Path
) -> None:
    double, cert = tls_double
    assert double.url.startswith("https://")
    assert read_secrets(token_settings(double, tmp_path, vault_cacert=cert)) == double.kv[PATH]


def test_tls_verification_failure_names_the_ca_file(
    tls_double: tuple[VaultDouble, Path], tmp_path: Path
) -> None:
    double, _ = tls_double
    other_ca, _ = self_signed_certificate(tmp_path / "other")
    message = failure(token_settings(double, tmp_path, vault_cacert=other_ca))
    assert message.startswith(f"TLS verification of Vault at {double.url} failed (")
    assert message.endswith(f"it was checked against CA file {other_ca} (VAULT_CACERT)")
    assert double.requests == []


def test_tls_verification_failure_without_a_ca_file(
    tls_double: tuple[VaultDouble, Path], tmp_path: Path
) -> None:
    double, _ = tls_double
    message = failure(token_settings(double, tmp_path))
    assert "self-signed certificate" in message
    assert message.endswith("it was checked against the system CA store")


def test_an_unreadable_ca_file_is_named(double: VaultDouble, tmp_path: Path) -> None:
    missing = tmp_path / "ca.pem"
    https_addr = double.url.replace("http://", "https://")
    message = failure(settings_for(https_addr, tmp_path, vault_cacert=missing))
    assert message.startswith(f"the CA file {missing} (VAULT_CACERT) for Vault at {https_addr}")


def test_no_secret_reaches_a_message_or_a_log_line(
    double: VaultDouble, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    messages = [
        failure(token_settings(double, tmp_path, token="hvs." + secrets.token_urlsafe(8))),
        failure(kubernetes_settings(double, tmp_path, **{"vault_secret_path": "missing/path"})),
        failure(kubernetes_settings(double, tmp_path, vault_required_keys=["absent"])),
    ]
    applied = settings_with_vault_secrets(kubernetes_settings(double, tmp_path))

    assert "read secret secret/rotten-potatoes/backend from Vault" in caplog.text
    assert "api_key, database_password, es_password, es_username" in caplog.text
    assert_nothing_leaks("\n".join(messages) + caplog.text, double)
    # The settings' own repr hides the values too (SecretStr).
    assert double.kv[PATH]["api_key"] not in repr(applied)
