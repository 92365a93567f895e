"""The most recent predictions the API stored (``GET /predictions``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.frontend.client import ApiClient, ApiError, Prediction
from app.frontend.views.errors import show_api_error

COLUMNS = (
    "created_at",
    "label",
    "probability",
    "feedback",
    "model_version",
    "text",
    "request_id",
)
_PREVIEW_CHARS = 120


def predictions_table(predictions: list[Prediction]) -> pd.DataFrame:
    rows = []
    for prediction in predictions:
        text = prediction.text or ""
        rows.append(
            {
                "created_at": prediction.created_at or "",
                "label": prediction.label,
                "probability": round(prediction.probability, 4),
                # The real API adds feedback_label once someone pressed thumbs up/down.
                "feedback": (prediction.model_extra or {}).get("feedback_label") or "",
                "model_version": prediction.model_version,
                "text": text if len(text) <= _PREVIEW_CHARS else text[:_PREVIEW_CHARS] + "…",
                "request_id": prediction.request_id,
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def render_recent(client: ApiClient, *, limit: int, backend_down: bool) -> None:
    st.button("Refresh", key="recent_refresh")
    if backend_down:
        st.info("Recent predictions are not available while the API is unreachable.")
        return
    try:
        predictions = client.recent_predictions(limit)
    except ApiError as error:
        show_api_error(error, action="Loading recent predictions")
        return
    if not predictions:
        st.info("No predictions yet.")
        return
    st.caption(f"The {len(predictions)} most recent predictions (newest first).")
    st.dataframe(predictions_table(predictions), hide_index=True, width="stretch")
