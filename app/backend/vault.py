"""The service's secrets from HashiCorp Vault, read once at start-up when VAULT_ADDR is set.

Two calls of Vault's HTTP API, with the standard library (the image stays small):

- ``POST /v1/auth/<mount>/login`` with ``{"role", "jwt"}``: Kubernetes auth, the JWT being the
  pod's projected ServiceAccount token (audience ``vault``). In development a token file is read
  instead and this call is skipped.
- ``GET /v1/<kv mount>/data/<path>`` with ``X-Vault-Token``: a KV version 2 read.

Every failure becomes a :class:`VaultError` with one line that names the address, the auth role
or the secret path and what went wrong. No message and no log line ever holds a secret value, a
token or the JWT.
"""

from __future__ import annotations

import json
import logging
import ssl
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from app.backend.settings import Settings

log = logging.getLogger(__name__)

# The keys of secret/rotten-potatoes/backend (written by the vault role) and what each one sets.
KEY_DATABASE_PASSWORD = "database_password"  # noqa: S105 - a key name, not a value
KEY_API_KEY = "api_key"
KEY_ES_USERNAME = "es_username"
KEY_ES_PASSWORD = "es_password"  # noqa: S105 - a key name, not a value
_ERROR_DETAIL_LIMIT = 200


class VaultError(RuntimeError):
    """Vault could not provide the service's secrets; the message is safe to print."""


class VaultClient:
    """Just the two Vault endpoints the service needs, over http or https."""

    def __init__(self, addr: str, *, cacert: Path | None = None, timeout: float = 5.0) -> None:
        self.addr = addr.rstrip("/")
        self.cacert = cacert
        self.timeout = timeout
        self._context = self._tls_context() if self.addr.startswith("https://") else None

    def _tls_context(self) -> ssl.SSLContext:
        if self.cacert is None:
            return ssl.create_default_context()
        try:
            return ssl.create_default_context(cafile=str(self.cacert))
        except (OSError, ssl.SSLError) as error:
            raise VaultError(
                f"the CA file {self.cacert} (VAULT_CACERT) for Vault at {self.addr} cannot be "
                f"loaded: {getattr(error, 'strerror', None) or error}"
            ) from None

    def _describe_tls(self) -> str:
        return f"CA file {self.cacert} (VAULT_CACERT)" if self.cacert else "the system CA store"

    def _call(
        self, method: str, path: str, *, body: dict[str, Any] | None = None, token: str = ""
    ) -> tuple[int, dict[str, Any]]:
        """Status and JSON body of one request; transport failures raise VaultError."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["X-Vault-Token"] = token
        request = urllib.request.Request(  # noqa: S310 - the operator's VAULT_ADDR
            f"{self.addr}/v1/{path}", data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=self.timeout, context=self._context
            ) as response:
                return response.status, _json_object(response.read())
        except urllib.error.HTTPError as error:
            try:
                return error.code, _json_object(error.read())
            finally:
                error.close()
        except urllib.error.URLError as error:
            raise self._transport_error(error.reason) from None
        except (TimeoutError, OSError) as error:
            raise self._transport_error(error) from None

    def _transport_error(self, reason: object) -> VaultError:
        if isinstance(reason, ssl.SSLCertVerificationError):
            return VaultError(
                f"TLS verification of Vault at {self.addr} failed "
                f"({reason.verify_message or reason.reason}); it was checked against "
                f"{self._describe_tls()}"
            )
        if isinstance(reason, ssl.SSLError):
            return VaultError(f"TLS handshake with Vault at {self.addr} failed ({reason.reason})")
        if isinstance(reason, TimeoutError):
            detail = f"no answer within {self.timeout:g} s"
        else:
            detail = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
        return VaultError(f"Vault at {self.addr} is unreachable ({detail})")

    def login_kubernetes(self, mount: str, role: str, jwt: str) -> str:
        status, body = self._call(
            "POST", f"auth/{_quote(mount)}/login", body={"role": role, "jwt": jwt}
        )
        if status in (400, 401, 403):
            raise VaultError(
                f"Vault at {self.addr} refused the Kubernetes login for role '{role}' "
                f"(auth mount '{mount}', HTTP {status}{_vault_errors(body)}): the ServiceAccount "
                "token is expired, has the wrong audience, or is not bound to that role"
            )
        if status != 200:
            raise _unexpected(self.addr, status, body, f"the Kubernetes login for role '{role}'")
        token = (body.get("auth") or {}).get("client_token")
        if not isinstance(token, str) or not token:
            raise VaultError(
                f"Vault at {self.addr} answered the Kubernetes login for role '{role}' without "
                "a client token"
            )
        return token

    def read_kv2(self, mount: str, path: str, token: str) -> dict[str, Any]:
        name = f"{mount}/{path}"
        status, body = self._call("GET", f"{_quote(mount)}/data/{_quote(path)}", token=token)
        if status == 404:
            raise VaultError(f"secret {name} not found at {self.addr} (HTTP 404)")
        if status in (401, 403):
            raise VaultError(
                f"Vault at {self.addr} denied reading secret {name} (HTTP {status}"
                f"{_vault_errors(body)}): the token has expired or lacks a policy that reads "
                f"{mount}/data/{path}"
            )
        if status != 200:
            raise _unexpected(self.addr, status, body, f"reading secret {name}")
        values = (body.get("data") or {}).get("data")
        if not isinstance(values, dict):
            raise VaultError(
                f"secret {name} at {self.addr} is not a KV version 2 secret (no data.data in "
                f"the answer): is '{mount}' a KV v2 mount?"
            )
        return values


def _quote(path: str) -> str:
    return urllib.parse.quote(path.strip("/"), safe="/")


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _vault_errors(body: dict[str, Any]) -> str:
    """Vault's own error strings ("permission denied", "invalid role name ..."), shortened."""
    errors = body.get("errors")
    if not isinstance(errors, list) or not errors:
        return ""
    text = "; ".join(str(item) for item in errors)
    return f": {text[:_ERROR_DETAIL_LIMIT]}"


def _unexpected(addr: str, status: int, body: dict[str, Any], what: str) -> VaultError:
    hint = " (Vault is sealed or in standby)" if status in (429, 503) else ""
    detail = _vault_errors(body)
    return VaultError(f"Vault at {addr} answered HTTP {status} to {what}{hint}{detail}")


def _read_credential(path: Path, what: str, variable: str) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise VaultError(
            f"the {what} {path} ({variable}) cannot be read: {error.strerror or error}"
        ) from None
    if not value:
        raise VaultError(f"the {what} {path} ({variable}) is empty")
    return value


def vault_token(settings: Settings, client: VaultClient) -> str:
    """A Vault token, by the configured auth method."""
    if settings.vault_auth_method == "token":
        if settings.vault_token_file is None:
            raise VaultError(
                "VAULT_AUTH_METHOD is token but VAULT_TOKEN_FILE is not set "
                f"(Vault at {client.addr})"
            )
        return _read_credential(settings.vault_token_file, "Vault token file", "VAULT_TOKEN_FILE")
    jwt = _read_credential(
        settings.vault_jwt_path, "Kubernetes ServiceAccount token", "VAULT_JWT_PATH"
    )
    return client.login_kubernetes(
        settings.vault_kubernetes_mount, settings.vault_kubernetes_role, jwt
    )


def read_secrets(settings: Settings) -> dict[str, str]:
    """The values at VAULT_KV_MOUNT/VAULT_SECRET_PATH; every VAULT_REQUIRED_KEYS key present."""
    if not settings.vault_addr:
        raise VaultError("VAULT_ADDR is not set")
    client = VaultClient(
        settings.vault_addr, cacert=settings.vault_cacert, timeout=settings.vault_timeout_seconds
    )
    token = vault_token(settings, client)
    values = client.read_kv2(settings.vault_kv_mount, settings.vault_secret_path, token)
    name = f"{settings.vault_kv_mount}/{settings.vault_secret_path}"
    missing = [key for key in settings.vault_required_keys if key not in values]
    if missing:
        raise VaultError(
            f"secret {name} at {client.addr} lacks the key(s) {', '.join(sorted(missing))}"
        )
    not_text = sorted(key for key, value in values.items() if not isinstance(value, str))
    if not_text:
        raise VaultError(
            f"secret {name} at {client.addr} has non-string value(s) for {', '.join(not_text)}"
        )
    log.info(
        "read secret %s from Vault at %s (keys: %s)",
        name,
        client.addr,
        ", ".join(sorted(values)),
    )
    return values


def apply_secrets(settings: Settings, values: dict[str, str]) -> Settings:
    """A copy of the settings with Vault's values, which win over the environment's."""
    update: dict[str, Any] = {}
    password = values.get(KEY_DATABASE_PASSWORD)
    if password:
        url = make_url(settings.resolved_database_url)
        if url.get_backend_name() == "sqlite":
            log.info("database_password from Vault is unused: the database is sqlite")
        else:
            update["database_url"] = url.set(password=password).render_as_string(
                hide_password=False
            )
    if KEY_API_KEY in values:
        update["api_key"] = SecretStr(values[KEY_API_KEY]) if values[KEY_API_KEY] else None
    if values.get(KEY_ES_USERNAME):
        update["es_username"] = values[KEY_ES_USERNAME]
    if values.get(KEY_ES_PASSWORD):
        update["es_password"] = SecretStr(values[KEY_ES_PASSWORD])
    return settings.model_copy(update=update)


def settings_with_vault_secrets(settings: Settings) -> Settings:
    """The settings unchanged without VAULT_ADDR; else with Vault's values (or VaultError)."""
    if not settings.vault_addr:
        return settings
    return apply_secrets(settings, read_secrets(settings))
