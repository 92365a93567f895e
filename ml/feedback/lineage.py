"""The feedback snapshot as lineage tags, next to git sha and data md5 (ml.train adds them)."""

from __future__ import annotations

from typing import Any


def feedback_tags(manifest: dict[str, Any]) -> dict[str, str]:
    """Tags for a model trained on a data version with feedback; none for the others."""
    feedback = manifest.get("feedback")
    if not isinstance(feedback, dict):
        return {}
    counts = feedback.get("counts", {})
    return {
        "feedback_rows": str(feedback.get("rows")),
        "feedback_sha256": str(feedback.get("sha256")),
        "feedback_from": str(feedback.get("feedback_from")),
        "feedback_to": str(feedback.get("feedback_to")),
        "feedback_used_rows": str(counts.get("usable_reviews")),
        "feedback_conflict_rule": str(feedback.get("conflict_rule")),
    }
