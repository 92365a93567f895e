"""The monitor's outputs: ``summary.json`` for machines and ``drift.html`` for people.

The HTML is Evidently's self-contained report (its scripts inline, nothing fetched) with the
verdict and every check as a banner at the top, so the answer comes before the charts.
"""

from __future__ import annotations

import html
import json
import tempfile
from pathlib import Path
from typing import Any

from ml.files import atomic_write
from ml.monitor.verdict import Check

SUMMARY_FILE = "summary.json"
REPORT_FILE = "drift.html"

_HEADLINES = {
    "retrain_advised": ("#b42318", "#fef3f2", "Retrain advised"),
    "no_drift": ("#067647", "#ecfdf3", "No drift: live predictions look like the reference"),
    "insufficient_data": ("#b54708", "#fffaeb", "Not enough predictions in the window to judge"),
}


_PERCENT_STATISTICS = ("absolute_shift", "accuracy_drop")


def _value(check: Check) -> str:
    if check.value is None:
        return "n/a"
    if check.statistic == "accuracy_drop":
        return f"{check.value:+.1%}"
    if check.statistic == "absolute_shift":
        return f"{check.value:.1%}"
    return f"{check.value:.3f}"


def _threshold(check: Check) -> str:
    if check.statistic in _PERCENT_STATISTICS:
        return f"{check.threshold:.1%}"
    return f"{check.threshold:g}"


def banner(summary: dict[str, Any], checks: list[Check]) -> str:
    colour, background, headline = _HEADLINES[summary["verdict"]]
    window = summary["window"]
    rows = "".join(
        "<tr>"
        f"<td>{'&#9888;' if check.flagged else '&#10003;'}</td>"
        f"<td><b>{html.escape(check.name.replace('_', ' '))}</b></td>"
        f"<td>{html.escape(check.statistic.replace('_', ' '))} {_value(check)}</td>"
        f"<td>limit {_threshold(check)}</td>"
        f"<td>{html.escape(check.detail)}</td>"
        "</tr>"
        for check in checks
    )
    flagged = [check.name.replace("_", " ") for check in checks if check.flagged]
    reason = f": {html.escape(', '.join(flagged))}" if flagged else ""
    return (
        f'<section id="rp-monitor-verdict" style="font-family:system-ui,sans-serif;'
        f"border:2px solid {colour};background:{background};border-radius:8px;"
        f'margin:16px;padding:12px 18px;color:#101828">'
        f'<h1 style="color:{colour};margin:0 0 6px 0;font-size:26px">{headline}{reason}</h1>'
        f'<p style="margin:0 0 10px 0">{window["predictions"]} predictions from '
        f"{html.escape(window['from'])} to {html.escape(window['to'])} (model "
        f"{html.escape(', '.join(window['model_versions']) or 'none')}) against "
        f"{summary['reference']['rows']} hold-out reviews scored by model "
        f"{html.escape(summary['reference']['model_version'])}.</p>"
        '<table style="border-collapse:collapse;font-size:15px" cellpadding="5">'
        f"{rows}</table></section>"
    )


def write_outputs(
    out_dir: Path,
    summary: dict[str, Any],
    checks: list[Check],
    snapshot: Any,  # noqa: ANN401
) -> None:
    """summary.json, and drift.html with the banner above Evidently's charts (if measured)."""
    top = banner(summary, checks)
    if snapshot is None:
        page = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Rotten Potatoes: drift"
            f"</title></head><body>{top}</body></html>"
        )
    else:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".report-") as staging:
            rendered = Path(staging) / REPORT_FILE
            snapshot.save_html(str(rendered))
            page = rendered.read_text(encoding="utf-8")
        marker = page.find("<body")
        cut = page.find(">", marker) + 1 if marker >= 0 else 0
        page = page[:cut] + top + page[cut:]
    atomic_write(out_dir / REPORT_FILE, page.encode("utf-8"))
    atomic_write(out_dir / SUMMARY_FILE, (json.dumps(summary, indent=2) + "\n").encode())
