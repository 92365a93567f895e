"""Configuration of the prediction service, all of it from the environment (pydantic-settings)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var/backend")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class Settings(BaseSettings):
    """Every knob of the service. Environment variable names are the field names, upper-case."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    # The model: an export folder (preferred, baked into the image) or a registry URI.
    model_path: Path | None = Field(default=None, description="export folder of ml.export")
    model_uri: str | None = Field(default=None, description="e.g. models:/imdb-sentiment@champion")
    mlflow_tracking_uri: str | None = None
    # The digests the deployment expects (the registry's, passed by the deploy): the model card
    # (MODEL_PATH) or the registry tags (MODEL_URI) must say the same, and the files match them.
    model_sha256: str | None = Field(default=None, description="sha256 of model.pkl")
    model_code_sha256: str | None = Field(default=None, description="digest of code/ml")

    # Storage.
    data_dir: Path = Field(default=DEFAULT_DATA_DIR, description="spool, sqlite db, downloads")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<DATA_DIR>/predictions.db"
    )
    spool_path: Path | None = Field(default=None, description="default <DATA_DIR>/spool.sqlite3")
    spool_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    # Below the volume that holds the spool: the Kubernetes emptyDir is 256 Mi, and the file
    # takes at most ~1.3x this plus a 4 MiB WAL (spool.py). Full: 503 + Retry-After, no eviction.
    spool_max_bytes: int = Field(default=128 * 1024 * 1024, ge=64 * 1024)
    spool_full_retry_after_seconds: int = Field(default=30, ge=1)
    store_text: bool = Field(default=True, description="false: keep only sha256 + length")
    migrate_on_start: bool = True
    flush_batch_size: int = Field(default=500, ge=1, le=10_000)
    flush_interval_seconds: float = Field(default=0.2, gt=0)
    flush_max_backoff_seconds: float = Field(default=10.0, gt=0)
    shutdown_flush_seconds: float = Field(default=5.0, ge=0)
    db_connect_timeout_seconds: int = Field(default=3, ge=1)

    # HTTP.
    api_key: SecretStr | None = None
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # Characters in one /predict/batch, all texts together (413 above it): bounds the CPU one
    # request takes (about 0.2 s per million characters with the compiled scorer).
    max_batch_chars: int = Field(default=1_000_000, ge=20_000)
    # Batches scored at once on worker threads (the event loop never scores a batch). One: the
    # scorer is Python code, so a second thread adds no throughput, only contention for the GIL.
    batch_workers: int = Field(default=1, ge=1, le=32)
    # How often (seconds) CPython makes a running thread offer the GIL: below its 5 ms default, so
    # that the event loop gets it back quickly while a batch is scored.
    gil_switch_interval_seconds: float = Field(default=0.001, gt=0, le=0.1)
    # The preStop drain (python -m app.backend.drain) waits this long for the spool to empty.
    drain_timeout_seconds: float = Field(default=840.0, ge=0)

    # Logs.
    log_level: str = "INFO"
    log_json: bool = True
    es_url: str | None = None
    es_username: str | None = None
    es_password: SecretStr | None = None
    es_index_prefix: str = "rotten_potatoes_logs"
    es_queue_size: int = Field(default=10_000, ge=1)
    es_batch_size: int = Field(default=500, ge=1)
    es_flush_seconds: float = Field(default=1.0, gt=0)
    es_timeout_seconds: float = Field(default=5.0, gt=0)
    es_max_backoff_seconds: float = Field(default=30.0, gt=0)

    # Vault (app/backend/vault.py): when VAULT_ADDR is set, the secrets are read from the KV v2
    # secret VAULT_KV_MOUNT/VAULT_SECRET_PATH at start-up, and its values win over the ones above.
    vault_addr: str | None = Field(default=None, description="e.g. https://vault.example:8200")
    vault_auth_method: Literal["kubernetes", "token"] = Field(
        default="kubernetes", description="kubernetes: ServiceAccount JWT; token: a token file"
    )
    vault_kubernetes_role: str = "rotten-potatoes-backend"
    vault_kubernetes_mount: str = "kubernetes"
    vault_jwt_path: Path = Path("/var/run/secrets/vault/token")
    vault_token_file: Path | None = Field(default=None, description="token auth (development)")
    vault_kv_mount: str = "secret"
    vault_secret_path: str = "rotten-potatoes/backend"  # noqa: S105 - a path, not a password
    vault_cacert: Path | None = Field(default=None, description="CA bundle for an https Vault")
    vault_timeout_seconds: float = Field(default=5.0, gt=0)
    vault_required_keys: list[str] = Field(
        default=["database_password", "api_key", "es_username", "es_password"],
        description="keys the secret must hold (JSON list in the environment)",
    )

    @field_validator("model_sha256", "model_code_sha256", mode="before")
    @classmethod
    def _a_sha256(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str) or not _SHA256.fullmatch(value.strip().lower()):
            raise ValueError("must be 64 hexadecimal characters (a sha256)")
        return value.strip().lower()

    @field_validator("model_uri", "mlflow_tracking_uri", "database_url", "es_url", "api_key")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            return value if value.get_secret_value() else None
        return value or None

    # Before parsing: an empty path would otherwise become Path(".").
    @field_validator("vault_addr", "vault_token_file", "vault_cacert", mode="before")
    @classmethod
    def _empty_vault_value_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'predictions.db'}"

    @property
    def resolved_spool_path(self) -> Path:
        return self.spool_path or self.data_dir / "spool.sqlite3"


def drain_marker(settings: Settings) -> Path:
    """The file the preStop drain creates: while it exists, /ready answers 503 ``draining``."""
    return settings.resolved_spool_path.with_name("draining")
