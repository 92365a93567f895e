"""One review: the text box, the Analyze button, the result and the thumbs up/down feedback."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.frontend.client import ApiClient, ApiError, Explanation, Label, Prediction
from app.frontend.highlight import highlight_html
from app.frontend.views.errors import show_api_error

TEXT_KEY = "review_text"
EXPLAIN_KEY = "explain"
PREDICTION_KEY = "last_prediction"
REVIEW_KEY = "last_review"
UNEXPLAINED_KEY = "unexplained_reason"
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
    explain = st.checkbox(
        "Explain: highlight the words behind the verdict",
        key=EXPLAIN_KEY,
        value=True,
        help="Green words pushed the model toward positive, red toward negative.",
    )
    if st.button("Analyze", type="primary"):
        for key in (PREDICTION_KEY, REVIEW_KEY, UNEXPLAINED_KEY):
            st.session_state.pop(key, None)
        try:
            with st.spinner("Asking the model…"):
                prediction = _predict(client, text, explain=explain)
        except ApiError as error:
            show_api_error(error, action="Analysis")
        else:
            st.session_state[PREDICTION_KEY] = prediction
            st.session_state[REVIEW_KEY] = text
    prediction = st.session_state.get(PREDICTION_KEY)
    if isinstance(prediction, Prediction):
        render_prediction(prediction)
        if prediction.explanation is not None:
            render_explanation(st.session_state.get(REVIEW_KEY, ""), prediction.explanation)
        elif (reason := st.session_state.get(UNEXPLAINED_KEY)) is not None:
            st.info(f"No explanation: {reason}", icon=":material/info:")
        render_feedback(client, prediction)


def _predict(client: ApiClient, text: str, *, explain: bool) -> Prediction:
    """The prediction, explained when asked; a model that cannot explain (501) still predicts."""
    if not explain:
        return client.predict(text)
    try:
        return client.predict(text, explain=True)
    except ApiError as error:
        if error.status_code != 501:
            raise
        st.session_state[UNEXPLAINED_KEY] = error.message
        return client.predict(text)


def render_explanation(review: str, explanation: Explanation) -> None:
    """The review with its words tinted, and the strongest terms with their shares."""
    st.markdown("##### Why")
    # Escaped piece by piece in highlight_html: the review's own text never becomes markup.
    st.html(highlight_html(review, explanation))
    rows = [
        {"term": item.term, "pushes toward": label, "contribution": round(item.contribution, 3)}
        for label, items in (("positive", explanation.positive), ("negative", explanation.negative))
        for item in items
    ]
    if rows:
        # A plain table, not a data grid: a handful of rows, readable at a glance and in print.
        st.table(pd.DataFrame(rows).set_index("term"))
    st.caption(
        "Terms as the model sees them (`not_` marks a word after a negation). Each contribution "
        "is an exact share of the model's score: together with the bias "
        f"({explanation.intercept:+.3f}) and the rest of the review's terms "
        f"({explanation.other:+.3f}) they add up to {explanation.logit:+.3f}; above 0 means "
        "positive."
    )


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
