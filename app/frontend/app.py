"""The Streamlit script: ``streamlit run app/frontend/app.py``.

Streamlit executes this file top to bottom on every interaction, with this folder first on
``sys.path``. That would make ``import app`` find this very file, so the only module-level work is
putting the repository root in its place; everything else lives in functions.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _make_package_importable() -> None:
    here = Path(__file__).resolve().parent
    root = str(here.parent.parent)
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]
    if root not in sys.path:
        sys.path.insert(0, root)


_make_package_importable()

import streamlit as st  # noqa: E402

from app.frontend.client import ApiClient, ApiError, ModelCard  # noqa: E402
from app.frontend.settings import FrontendSettings, SettingsError, load_settings  # noqa: E402
from app.frontend.views.analyze import render_analyze  # noqa: E402
from app.frontend.views.batch import render_batch  # noqa: E402
from app.frontend.views.errors import show_api_error  # noqa: E402
from app.frontend.views.model_card import render_model_card  # noqa: E402
from app.frontend.views.recent import render_recent  # noqa: E402

TITLE = "Movie Review Sentiment Analyzer"


def make_client(settings: FrontendSettings) -> ApiClient:
    key = settings.api_key.get_secret_value() if settings.api_key else None
    return ApiClient(
        settings.api_url,
        api_key=key,
        timeout=settings.request_timeout,
        connect_timeout=settings.connect_timeout,
    )


def fetch_model_card(client: ApiClient) -> tuple[ModelCard | None, ApiError | None]:
    try:
        return client.version(), None
    except ApiError as error:
        return None, error


def main() -> None:
    st.set_page_config(page_title=TITLE, page_icon=":material/movie:", layout="centered")
    st.title(TITLE)
    try:
        settings = load_settings()
    except SettingsError as error:
        st.error(str(error), icon=":material/settings:")
        return
    if settings.public_api_url:
        # API_URL itself is often a name only the page's network resolves: never shown.
        st.caption(f"API: {settings.public_api_url} · [docs]({settings.public_api_url}/docs)")

    with make_client(settings) as client:
        card, error = fetch_model_card(client)
        if error is not None:
            show_api_error(error, action="Loading the model version")
        render_model_card(card)
        backend_down = error is not None and error.backend_down

        single, batch, recent = st.tabs(["Analyze a review", "Batch (CSV)", "Recent predictions"])
        with single:
            render_analyze(client)
        with batch:
            render_batch(client, settings)
        with recent:
            render_recent(client, limit=settings.recent_limit, backend_down=backend_down)


if __name__ == "__main__":
    main()
