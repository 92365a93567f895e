"""Page settings from the environment."""

from __future__ import annotations

import pytest

from app.frontend.settings import FrontendSettings, SettingsError, load_settings


def test_defaults(page_env: pytest.MonkeyPatch):
    settings = load_settings()
    assert settings.api_url == "http://127.0.0.1:8000"
    assert settings.api_key is None
    assert settings.batch_size == 256
    assert settings.request_timeout == 10.0


def test_environment(page_env: pytest.MonkeyPatch):
    page_env.setenv("API_URL", " https://api.example:8443/ ")
    page_env.setenv("API_KEY", "s3cret")
    page_env.setenv("FRONTEND_REQUEST_TIMEOUT", "2.5")
    page_env.setenv("FRONTEND_BATCH_SIZE", "64")
    page_env.setenv("FRONTEND_RECENT_LIMIT", "5")
    settings = load_settings()
    assert settings.api_url == "https://api.example:8443"
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
    assert (settings.request_timeout, settings.batch_size, settings.recent_limit) == (2.5, 64, 5)


def test_blank_api_key_means_none(page_env: pytest.MonkeyPatch):
    page_env.setenv("API_KEY", "  ")
    assert load_settings().api_key is None


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("API_URL", "127.0.0.1:8000", "API_URL: Value error, must start with http://"),
        ("FRONTEND_BATCH_SIZE", "257", "FRONTEND_BATCH_SIZE: Input should be less than or equal"),
        ("FRONTEND_REQUEST_TIMEOUT", "soon", "FRONTEND_REQUEST_TIMEOUT: Input should be a valid"),
    ],
)
def test_bad_values_name_the_variable(
    page_env: pytest.MonkeyPatch, name: str, value: str, message: str
):
    page_env.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_constructor_takes_field_names():
    assert FrontendSettings(api_url="http://x:1/").api_url == "http://x:1"
