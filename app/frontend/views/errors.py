"""How an API failure is shown: one banner with the message, never a traceback."""

from __future__ import annotations

import streamlit as st

from app.frontend.client import ApiError


def show_api_error(error: ApiError, *, action: str) -> None:
    """Render ``error`` as a banner; ``action`` says what the page was trying to do."""
    if error.kind == "validation" and error.field_errors:
        reasons = "\n".join(f"- {reason}" for reason in error.field_errors)
        st.error(f"**{action}: the API rejected the input.**\n\n{reasons}", icon=":material/block:")
    elif error.kind == "unavailable":
        st.warning(
            f"**{action}: the API is not ready.** {error.message}", icon=":material/hourglass_top:"
        )
    elif error.backend_down:
        st.error(
            f"**{action}: the backend is unavailable.** {error.message}",
            icon=":material/cloud_off:",
        )
    else:
        st.error(f"**{action} failed.** {error.message}", icon=":material/error:")
