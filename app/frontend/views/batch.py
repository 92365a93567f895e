"""Batch analysis: upload a CSV, see a table and the label split, download the results."""

from __future__ import annotations

from pathlib import PurePath

import pandas as pd
import streamlit as st

from app.frontend.batch import (
    BatchInputError,
    label_counts,
    predict_in_batches,
    read_reviews_csv,
    results_csv,
)
from app.frontend.client import ApiClient, ApiError
from app.frontend.settings import FrontendSettings
from app.frontend.views.errors import show_api_error

UPLOAD_KEY = "batch_file"
RESULTS_KEY = "batch_results"


def render_batch(client: ApiClient, settings: FrontendSettings) -> None:
    st.write(
        "Upload a CSV with a `review` (or `text`) column. Up to "
        f"{settings.max_upload_rows} reviews per file, sent {settings.batch_size} at a time."
    )
    upload = st.file_uploader("Reviews CSV", type=["csv"], key=UPLOAD_KEY)
    if upload is None:
        st.session_state.pop(RESULTS_KEY, None)
        return
    try:
        batch = read_reviews_csv(upload.getvalue(), max_rows=settings.max_upload_rows)
    except BatchInputError as error:
        st.error(f"**{upload.name}:** {error}", icon=":material/description:")
        return
    note = f"{len(batch.texts)} reviews found in column `{batch.column}`."
    if batch.skipped_blank:
        note += f" {batch.skipped_blank} blank row(s) will be skipped."
    st.info(note)

    file_id = upload.file_id
    if st.button("Analyze file", key="batch_analyze", type="primary"):
        bar = st.progress(0.0, text="Sending reviews…")

        def progress(done: int, total: int) -> None:
            bar.progress(done / total, text=f"{done} / {total} reviews analysed")

        try:
            results = predict_in_batches(
                client, batch, batch_size=settings.batch_size, on_progress=progress
            )
        except ApiError as error:
            bar.empty()
            show_api_error(error, action="Batch analysis")
            st.session_state.pop(RESULTS_KEY, None)
            return
        bar.empty()
        st.session_state[RESULTS_KEY] = (file_id, results)

    stored = st.session_state.get(RESULTS_KEY)
    if stored is not None and stored[0] == file_id:
        render_results(stored[1], PurePath(upload.name).stem or "reviews")


def render_results(results: pd.DataFrame, stem: str) -> None:
    counts = label_counts(results)
    positive, negative = (int(counts.loc[label, "reviews"]) for label in ("positive", "negative"))
    left, right = st.columns(2)
    left.metric("Positive", positive)
    right.metric("Negative", negative)
    st.bar_chart(counts, y="reviews", horizontal=True)
    st.dataframe(results, hide_index=True, width="stretch")
    st.download_button(
        "Download results CSV",
        data=results_csv(results),
        file_name=f"{stem}-predictions.csv",
        mime="text/csv",
        key="batch_download",
        on_click="ignore",
    )
