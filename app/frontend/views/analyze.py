"""One review: the text box, the Analyze button, the result and the thumbs up/down feedback."""

from __future__ import annotations

import streamlit as st

from app.frontend.client import ApiClient, ApiError, Label, Prediction
from app.frontend.views.errors import show_api_error

TEXT_KEY = "review_text"
PREDICTION_KEY = "last_prediction"
FEEDBACK_KEY = "feedback_sent"

LABEL_STYLE: dict[str, tuple[str, str]] = {
    "positive": ("green", ":material/sentiment_satisfied:"),
    "negative": ("red", ":material/sentiment_dissatisfied:"),
}


def opposite(label: Label) -> Label:
    return "negative" if label == "positive" else "positive"


def render_analyze(client: ApiClient) -> None:
    text = st.text_area(
        "Movie review",
        key=TEXT_KEY,
        height=160,
        placeholder="Paste or type a movie review, then press Analyze.",
    )
    if st.button("Analyze", type="primary"):
        st.session_state.pop(PREDICTION_KEY, None)
        try:
            with st.spinner("Asking the model…"):
                prediction = client.predict(text)
        except ApiError as error:
            show_api_error(error, action="Analysis")
        else:
            st.session_state[PREDICTION_KEY] = prediction
    prediction = st.session_state.get(PREDICTION_KEY)
    if isinstance(prediction, Prediction):
        render_prediction(prediction)
        render_feedback(client, prediction)


def render_prediction(prediction: Prediction) -> None:
    color, icon = LABEL_STYLE[prediction.label]
    st.markdown(f"### :{color}[{icon} {prediction.label.upper()}]")
    st.progress(
        prediction.probability,
        text=f"Probability: {prediction.probability:.1%}",
    )
    st.caption(f"Model version `{prediction.model_version}` · request id `{prediction.request_id}`")


def render_feedback(client: ApiClient, prediction: Prediction) -> None:
    sent: dict[str, str] = st.session_state.setdefault(FEEDBACK_KEY, {})
    st.write("Was this right?")
    right, wrong, _ = st.columns([1, 1, 4])
    choice: Label | None = None
    if right.button("Correct", key="feedback_up", icon=":material/thumb_up:"):
        choice = prediction.label
    if wrong.button("Wrong", key="feedback_down", icon=":material/thumb_down:"):
        choice = opposite(prediction.label)
    if choice is not None:
        try:
            client.feedback(prediction.request_id, choice)
        except ApiError as error:
            show_api_error(error, action="Sending feedback")
        else:
            sent[prediction.request_id] = choice
    if prediction.request_id in sent:
        st.success(
            f"Thanks! Feedback recorded: this review is **{sent[prediction.request_id]}**.",
            icon=":material/check_circle:",
        )
