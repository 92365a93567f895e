"""Settings of the web page, read from the environment at every script run."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The backend refuses larger batches (``POST /predict/batch`` takes 1 to 256 texts).
API_BATCH_LIMIT = 256


class FrontendSettings(BaseSettings):
    """Where the API is and how the page talks to it.

    ``API_URL`` and ``API_KEY`` are shared with the rest of the stack; the page's own knobs carry
    the ``FRONTEND_`` prefix.
    """

    model_config = SettingsConfigDict(
        env_prefix="FRONTEND_", extra="ignore", populate_by_name=True, frozen=True
    )

    api_url: str = Field(
        default="http://127.0.0.1:8000",
        validation_alias=AliasChoices("API_URL", "FRONTEND_API_URL"),
        description="Base URL of the prediction API.",
    )
    public_api_url: str | None = Field(
        default=None,
        description=(
            "The API's address as the user's browser reaches it, shown on the page with a link "
            "to its docs. Unset: no address is shown, because API_URL is often a name that only "
            "the page's own network resolves (a container or Service name)."
        ),
    )
    api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("API_KEY", "FRONTEND_API_KEY"),
        description="Sent as X-API-Key when set.",
    )
    request_timeout: float = Field(
        default=10.0, gt=0, le=300, description="Seconds before a request to the API is abandoned."
    )
    connect_timeout: float = Field(
        default=3.0, gt=0, le=60, description="Seconds to wait for the API's TCP connection."
    )
    batch_size: int = Field(
        default=API_BATCH_LIMIT,
        ge=1,
        le=API_BATCH_LIMIT,
        description="Rows per POST /predict/batch call when a CSV is analysed.",
    )
    max_upload_rows: int = Field(
        default=5000, ge=1, le=100_000, description="Larger CSV files are refused."
    )
    recent_limit: int = Field(
        default=20, ge=1, le=500, description="How many recent predictions are listed."
    )

    @field_validator("api_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https:// (got {value!r})")
        return value

    @field_validator("public_api_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return cls._check_url(value)

    @field_validator("api_key")
    @classmethod
    def _blank_key_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None
        return value


class SettingsError(Exception):
    """The environment holds a setting the page cannot use; the message names it."""


def load_settings() -> FrontendSettings:
    """Read the settings, turning pydantic's error into one readable line per bad variable."""
    try:
        return FrontendSettings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "?"
            # Aliased fields report their variable (API_URL); the others their field name.
            env_name = name if name.isupper() else f"FRONTEND_{name.upper()}"
            problems.append(f"{env_name}: {error['msg']}")
        raise SettingsError("Invalid page settings: " + "; ".join(problems)) from exc
