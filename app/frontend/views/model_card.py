"""The served model's version, with its lineage and metrics in an expander (``GET /version``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.frontend.client import ModelCard

LINEAGE_FIELDS = (
    ("name", "Model name"),
    ("version", "Model version"),
    ("run_id", "MLflow run id"),
    ("git_sha", "Git commit"),
    ("data_version", "Data version"),
    ("data_md5", "Data md5 (DVC)"),
    ("trained_at", "Trained at"),
)


def lineage_rows(card: ModelCard) -> list[tuple[str, str]]:
    """The card's lineage as (label, value) pairs, skipping absent fields."""
    rows = []
    for field, label in LINEAGE_FIELDS:
        value = getattr(card, field)
        if value not in (None, ""):
            rows.append((label, str(value)))
    return rows


def metric_rows(card: ModelCard) -> list[tuple[str, str]]:
    rows = []
    for name, value in sorted(card.metrics.items()):
        if isinstance(value, float):
            rows.append((name, f"{value:.4f}"))
        elif value is not None:
            rows.append((name, str(value)))
    return rows


def version_text(card: ModelCard) -> str:
    name = card.name or "model"
    return f"{name} v{card.version}" if card.version else name


def render_model_card(card: ModelCard | None) -> None:
    if card is None:
        st.caption("Model version: unknown (the API did not answer `/version`).")
        return
    st.markdown(f"**Model version:** `{version_text(card)}`")
    with st.expander("Model lineage and metrics"):
        lineage = lineage_rows(card)
        if lineage:
            st.table(pd.DataFrame(lineage, columns=["field", "value"]).set_index("field"))
        else:
            st.caption("The model card carries no lineage fields.")
        metrics = metric_rows(card)
        if metrics:
            st.markdown("**Hold-out metrics**")
            st.table(pd.DataFrame(metrics, columns=["metric", "value"]).set_index("metric"))
