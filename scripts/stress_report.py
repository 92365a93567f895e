#!/usr/bin/env python3
"""The stress_test role's helper: sample the autoscaler, then write the report.

    stress_report.py sample --namespace NS --hpa NAME --deployment NAME --out samples.jsonl \\
        --stop-file F [--interval 5] [--max-seconds N] [--kubectl kubectl] [--kubeconfig PATH]
        [--context NAME]
        Every interval seconds, one JSON line: the HPA's min/max/current/desired replicas and CPU,
        the deployment's replicas and ready replicas. Stops when F exists (after a last sample),
        when the output's folder is gone, or after N seconds.

    stress_report.py report --locust-json locust.json --timeline timeline.json \\
        [--samples samples.jsonl] --target-url URL --target-kind docker|kubernetes \\
        --parameters JSON --out-json stress-<ts>.json --out-png stress-<ts>.png
        Totals from Locust's --json-file (exact), per-window requests/s and p95 from the
        locustfile's timeline, replicas and the scaling verdict from the samples; then the chart.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes

REPORT_KIND = "rotten-potatoes-stress-report"
DOCKER_SCALING_NOTE = "not sampled: docker target has no HPA"
NO_HPA_LABEL = "no HPA (docker target)"
KUBECTL_TIMEOUT_S = 10.0

Histogram = Mapping[int, int]
Runner = Callable[[Sequence[str]], str]


# --- Latency histograms ---------------------------------------------------------------------


def histogram(raw: Mapping[str, int] | Mapping[int, int]) -> Counter[int]:
    """A Locust-style histogram {rounded ms: count} with integer keys (JSON gives strings)."""
    return Counter({int(float(ms)): int(count) for ms, count in raw.items()})


def merge_histograms(histograms: Iterable[Histogram]) -> Counter[int]:
    merged: Counter[int] = Counter()
    for one in histograms:
        merged.update(one)
    return merged


def percentile(counts: Histogram, fraction: float) -> int | None:
    """Nearest-rank percentile of a histogram; None when it is empty."""
    total = sum(counts.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for ms in sorted(counts):
        seen += counts[ms]
        if seen >= rank:
            return ms
    return max(counts)


# --- Locust's --json-file -------------------------------------------------------------------


def summarize_locust(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Totals over every request name of Locust's JSON stats (a list of StatsEntry dicts)."""
    requests = sum(int(entry["num_requests"]) for entry in entries)
    failures = sum(int(entry["num_failures"]) for entry in entries)
    latencies = merge_histograms(histogram(entry["response_times"]) for entry in entries)
    starts = [float(entry["start_time"]) for entry in entries if entry.get("start_time")]
    lasts = [
        float(entry["last_request_timestamp"])
        for entry in entries
        if entry.get("last_request_timestamp")
    ]
    seconds = (max(lasts) - min(starts)) if starts and lasts else 0.0
    total_time = sum(float(entry["total_response_time"]) for entry in entries)
    return {
        "requests": requests,
        "failures": failures,
        "failure_ratio": round(failures / requests, 6) if requests else 0.0,
        "rps": round(requests / seconds, 2) if seconds > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "avg_ms": round(total_time / requests, 2) if requests else None,
        "max_ms": round(max(float(entry["max_response_time"]) for entry in entries), 2)
        if requests
        else None,
    }


# --- The locustfile's timeline --------------------------------------------------------------


def _window_seconds(index: int, interval: float, elapsed: float) -> float:
    """How much of window `index` the run covered (a whole one when the clocks disagree)."""
    covered = min(interval, elapsed - index * interval)
    return covered if covered > 0 else interval


def build_series(timeline: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per-window requests, failures, requests/s and p95 from the locustfile's timeline.

    Windows without requests count as zero. A last window shorter than half an interval (the
    moments between the time limit and the users stopping) is folded into the one before, so
    its rate is not computed over a sliver of time.
    """
    interval = float(timeline["interval_s"])
    raw = {int(window["index"]): window for window in timeline.get("windows", [])}
    if not raw:
        return []
    started = timeline.get("started_at")
    ended = timeline.get("ended_at")
    last = max(raw)
    elapsed = float(ended) - float(started) if started and ended else (last + 1) * interval
    windows: list[dict[str, Any]] = []
    for index in range(last + 1):
        window = raw.get(index, {})
        windows.append(
            {
                "t_s": round(index * interval, 3),
                "seconds": _window_seconds(index, interval, elapsed),
                "requests": int(window.get("requests", 0)),
                "failures": int(window.get("failures", 0)),
                "latency": histogram(window.get("response_times", {})),
            }
        )
    if len(windows) > 1 and windows[-1]["seconds"] < interval / 2:
        tail = windows.pop()
        windows[-1]["seconds"] += tail["seconds"]
        windows[-1]["requests"] += tail["requests"]
        windows[-1]["failures"] += tail["failures"]
        windows[-1]["latency"] = windows[-1]["latency"] + tail["latency"]
    return [
        {
            "t_s": window["t_s"],
            "seconds": round(window["seconds"], 3),
            "requests": window["requests"],
            "failures": window["failures"],
            "rps": round(window["requests"] / window["seconds"], 2) if window["seconds"] else 0.0,
            "p95_ms": percentile(window["latency"], 0.95),
        }
        for window in windows
    ]


# --- Kubernetes samples ---------------------------------------------------------------------


def _cpu_percent(hpa: Mapping[str, Any]) -> int | None:
    for metric in hpa.get("status", {}).get("currentMetrics") or []:
        resource = metric.get("resource") or {}
        if resource.get("name") == "cpu":
            value = (resource.get("current") or {}).get("averageUtilization")
            return int(value) if value is not None else None
    return None


def _cpu_target_percent(hpa: Mapping[str, Any]) -> int | None:
    for metric in hpa.get("spec", {}).get("metrics") or []:
        resource = metric.get("resource") or {}
        if resource.get("name") == "cpu":
            value = (resource.get("target") or {}).get("averageUtilization")
            return int(value) if value is not None else None
    return None


def parse_hpa(document: Mapping[str, Any]) -> dict[str, Any]:
    """The replica numbers of `kubectl get hpa NAME -o json`, its CPU now and its CPU target."""
    spec = document.get("spec", {})
    status = document.get("status", {})
    return {
        "min": int(spec.get("minReplicas", 1)),
        "max": int(spec["maxReplicas"]) if "maxReplicas" in spec else None,
        "current": int(status.get("currentReplicas", 0)),
        "desired": int(status.get("desiredReplicas", 0)),
        "cpu_percent": _cpu_percent(document),
        "cpu_target_percent": _cpu_target_percent(document),
    }


def parse_deployment(document: Mapping[str, Any]) -> dict[str, Any]:
    """The replica numbers of `kubectl get deploy NAME -o json`."""
    status = document.get("status", {})
    return {
        "replicas": int(document.get("spec", {}).get("replicas", 0)),
        "ready": int(status.get("readyReplicas", 0)),
    }


def run_command(argv: Sequence[str]) -> str:
    """Run a command, return its stdout; raise RuntimeError with its stderr when it fails."""
    try:
        completed = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=KUBECTL_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RuntimeError(f"{argv[0]}: {error}") from error
    if completed.returncode != 0:
        raise RuntimeError(completed.stderr.strip() or f"{argv[0]} exited {completed.returncode}")
    return completed.stdout


def take_sample(
    kubectl: Sequence[str],
    namespace: str,
    hpa: str,
    deployment: str,
    *,
    run: Runner = run_command,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """One sample of the HPA and the deployment; a failed read is kept as an error, not raised."""
    sample: dict[str, Any] = {"t": round(clock(), 3), "hpa": None, "deployment": None, "errors": []}
    reads: tuple[tuple[str, str, Callable[[Mapping[str, Any]], dict[str, Any]]], ...] = (
        ("hpa", hpa, parse_hpa),
        ("deployment", deployment, parse_deployment),
    )
    for kind, name, parse in reads:
        argv = [*kubectl, "get", kind, name, "--namespace", namespace, "--output", "json"]
        try:
            sample[kind] = parse(json.loads(run(argv)))
        except (RuntimeError, ValueError, KeyError, TypeError) as error:
            sample["errors"].append(f"{kind}/{name}: {error}")
    return sample


def run_sampler(
    take: Callable[[], dict[str, Any]],
    out: Path,
    stop_file: Path,
    interval: float,
    max_seconds: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Append a sample to `out` every `interval` s until stopped; return how many were taken."""
    started = clock()
    taken = 0
    while True:
        stopping = stop_file.exists()
        sample = take()
        try:
            with out.open("a", encoding="utf-8") as sink:
                sink.write(json.dumps(sample) + "\n")
        except FileNotFoundError:  # the playbook removed its work folder: nobody wants more
            return taken
        taken += 1
        if stopping or clock() - started >= max_seconds:
            return taken
        next_tick = started + taken * interval
        while clock() < next_tick and not stop_file.exists():
            sleep(min(0.2, max(0.0, next_tick - clock())))


def read_samples(path: Path | None) -> list[dict[str, Any]]:
    if path is None or not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def replica_points(samples: Sequence[Mapping[str, Any]], origin: float) -> list[dict[str, Any]]:
    """Samples as points in time since the load started (negative: before it)."""
    points = []
    for sample in samples:
        hpa = sample.get("hpa") or {}
        deployment = sample.get("deployment") or {}
        points.append(
            {
                "t_s": round(float(sample["t"]) - origin, 3),
                "ready": deployment.get("ready"),
                "hpa_current": hpa.get("current"),
                "hpa_desired": hpa.get("desired"),
                "hpa_min": hpa.get("min"),
                "cpu_percent": hpa.get("cpu_percent"),
                "cpu_target_percent": hpa.get("cpu_target_percent"),
            }
        )
    return points


def capacity_at_target(
    series: Sequence[Mapping[str, Any]], points: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Requests/s one replica serves at the HPA's CPU target, from the run itself.

    Each load window's rate is divided by the pods serving then and scaled from the CPU the HPA
    measured then (percent of the pods' CPU request) to its target: the load at which the HPA
    neither adds nor removes pods. Windows where the HPA saw little CPU (under 10 %) say nothing
    about capacity and are left out; the median of the rest is the figure.
    """
    targets = [p["cpu_target_percent"] for p in points if p.get("cpu_target_percent")]
    if not targets:
        return {"rps_per_replica_at_target": None, "reason": "the HPA has no CPU target"}
    target = targets[-1]
    estimates = []
    for window in series:
        middle = float(window["t_s"]) + float(window["seconds"]) / 2
        near = [p for p in points if abs(float(p["t_s"]) - middle) <= float(window["seconds"])]
        if not near or not window["rps"]:
            continue
        point = min(near, key=lambda p: abs(float(p["t_s"]) - middle))
        if (point.get("cpu_percent") or 0) >= 10 and (_serving(point) or 0) > 0:
            per_replica = float(window["rps"]) / int(_serving(point) or 1)
            estimates.append(per_replica * target / int(point["cpu_percent"]))
    if not estimates:
        return {
            "cpu_target_percent": target,
            "rps_per_replica_at_target": None,
            "reason": "no load window with the CPU metric above 10 %",
        }
    return {
        "cpu_target_percent": target,
        "rps_per_replica_at_target": round(statistics.median(estimates), 1),
        "windows": len(estimates),
    }


def _serving(point: Mapping[str, Any]) -> int | None:
    return point["ready"] if point.get("ready") is not None else point.get("hpa_current")


def evaluate_scaling(
    points: Sequence[Mapping[str, Any]],
    *,
    load_seconds: float,
    scale_out_replicas: int,
    scale_out_timeout: float,
    scale_in_timeout: float,
) -> dict[str, Any]:
    """Did the deployment reach `scale_out_replicas` ready pods within the timeout of the load's
    start, and did the HPA want its minimum again within the timeout of the load's end?"""
    minimums = [point["hpa_min"] for point in points if point.get("hpa_min") is not None]
    min_replicas = minimums[0] if minimums else 1
    serving = [(point["t_s"], _serving(point)) for point in points]
    out_at = next(
        (t for t, replicas in serving if t >= 0 and (replicas or 0) >= scale_out_replicas), None
    )
    in_from = max(load_seconds, out_at if out_at is not None else 0.0)
    in_at = next(
        (
            point["t_s"]
            for point in points
            if point["t_s"] >= in_from
            and point.get("hpa_desired") is not None
            and point["hpa_desired"] <= min_replicas
        ),
        None,
    )
    scaled_out = out_at is not None and out_at <= scale_out_timeout
    scale_in_seconds = round(in_at - load_seconds, 3) if in_at is not None else None
    scaled_in = scaled_out and scale_in_seconds is not None and scale_in_seconds <= scale_in_timeout
    return {
        "sampled": True,
        "samples": len(points),
        "min_replicas": min_replicas,
        "peak_replicas": max((replicas or 0 for _, replicas in serving), default=0),
        "scale_out_replicas": scale_out_replicas,
        "scale_out_seconds": out_at,
        "scale_out_timeout_s": scale_out_timeout,
        "scaled_out": scaled_out,
        "scale_in_seconds": scale_in_seconds,
        "scale_in_timeout_s": scale_in_timeout,
        "scaled_in": scaled_in,
        "passed": scaled_out and scaled_in,
    }


# --- The report -----------------------------------------------------------------------------


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds")


def build_report(
    *,
    locust_entries: Sequence[Mapping[str, Any]],
    timeline: Mapping[str, Any],
    samples: Sequence[Mapping[str, Any]],
    target_url: str,
    target_kind: str,
    parameters: Mapping[str, Any],
    chart_name: str,
) -> dict[str, Any]:
    totals = summarize_locust(locust_entries)
    started = timeline.get("started_at") or min(
        (float(entry["start_time"]) for entry in locust_entries), default=None
    )
    ended = timeline.get("ended_at") or max(
        (float(entry["last_request_timestamp"] or 0) for entry in locust_entries), default=None
    )
    load_seconds = float(ended) - float(started) if started and ended else 0.0
    report: dict[str, Any] = {
        "kind": REPORT_KIND,
        "target": {"url": target_url, "kind": target_kind},
        "parameters": dict(parameters),
        "started_at": _iso(started),
        "ended_at": _iso(ended),
        "load_seconds": round(load_seconds, 3),
        "totals": totals,
        "errors": list(timeline.get("errors", []))[:10],
        "series": build_series(timeline),
        "replicas": [],
        "scaling": DOCKER_SCALING_NOTE,
        "chart": chart_name,
    }
    if target_kind != "docker":
        points = replica_points(samples, float(started or 0.0))
        report["replicas"] = points
        scaling = evaluate_scaling(
            points,
            load_seconds=load_seconds,
            scale_out_replicas=int(parameters.get("scale_out_replicas", 2)),
            scale_out_timeout=float(parameters.get("scale_out_timeout_s", 180)),
            scale_in_timeout=float(parameters.get("scale_in_timeout_s", 300)),
        )
        errors = [error for sample in samples for error in sample.get("errors", [])]
        scaling["sample_errors"] = len(errors)
        scaling["first_sample_error"] = errors[0] if errors else None
        report["scaling"] = scaling
        report["capacity"] = capacity_at_target(report["series"], points)
    return report


def render_chart(report: Mapping[str, Any], path: Path) -> None:
    """Requests/s, p95 latency and replicas over time, one panel each (Agg, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    rps_axes, p95_axes, replica_axes = figure.subplots(3, 1, sharex=True)
    series = report["series"]
    middles = [window["t_s"] + window["seconds"] / 2 for window in series]
    rps_axes.plot(middles, [w["rps"] for w in series], marker="o", label="requests/s")
    rps_axes.plot(
        middles,
        [w["failures"] / w["seconds"] if w["seconds"] else 0 for w in series],
        marker="x",
        color="tab:red",
        label="failures/s",
    )
    rps_axes.set_ylabel("requests/s (shaded: load)")
    rps_axes.legend(loc="upper right")
    p95_axes.plot(
        middles,
        [w["p95_ms"] if w["p95_ms"] is not None else math.nan for w in series],
        marker="o",
        color="tab:orange",
    )
    p95_axes.set_ylabel("p95 latency (ms)")
    _draw_replicas(replica_axes, report)
    replica_axes.set_xlabel("seconds since the load started")
    for axes in (rps_axes, p95_axes, replica_axes):
        axes.axvspan(0, report["load_seconds"], color="0.9", zorder=0, label="_load")
        axes.grid(alpha=0.3)
    rps_axes.set_ylim(bottom=0)
    p95_axes.set_ylim(bottom=0)
    totals = report["totals"]
    figure.suptitle(
        f"Stress test of {report['target']['url']} ({report['target']['kind']}): "
        f"{totals['requests']} requests, {totals['failures']} failures, "
        f"{totals['rps']} req/s, p95 {totals['p95_ms']} ms"
    )
    figure.savefig(path, format="png")


def _draw_replicas(axes: Axes, report: Mapping[str, Any]) -> None:
    from matplotlib.ticker import MaxNLocator

    points = report["replicas"]
    if not points:
        axes.text(
            0.5,
            0.5,
            NO_HPA_LABEL if report["target"]["kind"] == "docker" else "no replica samples",
            ha="center",
            va="center",
            transform=axes.transAxes,
            fontsize=14,
            color="0.4",
        )
        axes.set_yticks([])
        axes.set_ylabel("replicas")
        return
    times = [point["t_s"] for point in points]
    axes.step(times, [_serving(p) for p in points], where="post", label="ready pods")
    axes.step(
        times,
        [p["hpa_desired"] for p in points],
        where="post",
        linestyle="--",
        label="HPA desired",
    )
    scaling = report["scaling"]
    if isinstance(scaling, Mapping):
        axes.axhline(scaling["scale_out_replicas"], color="0.5", linestyle=":", linewidth=1)
    axes.set_ylabel("replicas")
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(loc="upper right")


# --- Command line ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sample = commands.add_parser("sample", help="sample the HPA and the deployment")
    sample.add_argument("--kubectl", default="kubectl")
    sample.add_argument("--kubeconfig", default="")
    sample.add_argument("--context", default="")
    sample.add_argument("--namespace", required=True)
    sample.add_argument("--hpa", required=True)
    sample.add_argument("--deployment", required=True)
    sample.add_argument("--interval", type=float, default=5.0)
    sample.add_argument("--max-seconds", type=float, default=1800.0)
    sample.add_argument("--stop-file", type=Path, required=True)
    sample.add_argument("--out", type=Path, required=True)
    report = commands.add_parser("report", help="write the JSON report and the PNG chart")
    report.add_argument("--locust-json", type=Path, required=True)
    report.add_argument("--timeline", type=Path, required=True)
    report.add_argument("--samples", type=Path)
    report.add_argument("--target-url", required=True)
    report.add_argument("--target-kind", choices=["docker", "kubernetes"], required=True)
    report.add_argument("--parameters", default="{}", help="the run's parameters, a JSON object")
    report.add_argument("--out-json", type=Path, required=True)
    report.add_argument("--out-png", type=Path, required=True)
    return parser


def _read_json(path: Path, what: str, kind: type[list] | type[dict]) -> list | dict:
    """A JSON document of the expected kind, or an exit naming the file and what is wrong."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise SystemExit(f"stress_report: no {what} at {path}") from error
    except ValueError as error:
        raise SystemExit(f"stress_report: {what} at {path} is not JSON: {error}") from error
    if not isinstance(document, kind):
        raise SystemExit(f"stress_report: {what} at {path} is not a JSON {kind.__name__}")
    return document


def _sample_command(options: argparse.Namespace) -> int:
    kubectl = [options.kubectl]
    if options.kubeconfig:
        kubectl += ["--kubeconfig", options.kubeconfig]
    if options.context:
        kubectl += ["--context", options.context]
    taken = run_sampler(
        lambda: take_sample(kubectl, options.namespace, options.hpa, options.deployment),
        options.out,
        options.stop_file,
        options.interval,
        options.max_seconds,
    )
    print(f"stress_report: {taken} samples in {options.out}")
    return 0


def _report_command(options: argparse.Namespace) -> int:
    report = build_report(
        locust_entries=_read_json(options.locust_json, "Locust JSON stats", list),
        timeline=_read_json(options.timeline, "Locust timeline", dict),
        samples=read_samples(options.samples),
        target_url=options.target_url,
        target_kind=options.target_kind,
        parameters=json.loads(options.parameters),
        chart_name=options.out_png.name,
    )
    options.out_json.parent.mkdir(parents=True, exist_ok=True)
    render_chart(report, options.out_png)
    options.out_json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    totals = report["totals"]
    print(
        f"stress_report: {options.out_json} ({totals['requests']} requests, "
        f"{totals['failures']} failures, p95 {totals['p95_ms']} ms)"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    if options.command == "sample":
        return _sample_command(options)
    return _report_command(options)


if __name__ == "__main__":
    sys.exit(main())
