"""scripts/stress_report.py on synthetic Locust output and HPA samples (no servers, no kubectl)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "stress_report.py"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stress_report", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


sr = _load()

LOCUST_JSON = [
    {
        "name": "/predict",
        "method": "POST",
        "start_time": 1000.0,
        "last_request_timestamp": 1010.0,
        "num_requests": 90,
        "num_none_requests": 0,
        "num_failures": 0,
        "total_response_time": 450.0,
        "max_response_time": 40.2,
        "min_response_time": 1.1,
        "total_content_length": 9000,
        "response_times": {"2": 50, "5": 30, "20": 9, "40": 1},
        "num_reqs_per_sec": {"1000": 9},
        "num_fail_per_sec": {},
    },
    {
        "name": "/other",
        "method": "GET",
        "start_time": 1000.0,
        "last_request_timestamp": 1009.0,
        "num_requests": 10,
        "num_none_requests": 0,
        "num_failures": 2,
        "total_response_time": 50.0,
        "max_response_time": 9.0,
        "min_response_time": 1.0,
        "total_content_length": 100,
        "response_times": {"5": 10},
        "num_reqs_per_sec": {},
        "num_fail_per_sec": {},
    },
]

TIMELINE = {
    "interval_s": 5.0,
    "started_at": 1000.0,
    "ended_at": 1014.0,
    "windows": [
        {"index": 0, "requests": 50, "failures": 1, "response_times": {"2": 40, "8": 10}},
        # window 1 had no request at all
        {"index": 2, "requests": 20, "failures": 0, "response_times": {"3": 19, "30": 1}},
    ],
    "errors": [{"method": "POST", "name": "/predict", "error": "HTTP 503", "occurrences": 1}],
}


def _point(t: float, ready: int, desired: int, minimum: int = 1) -> dict:
    return {
        "t_s": t,
        "ready": ready,
        "hpa_current": ready,
        "hpa_desired": desired,
        "hpa_min": minimum,
        "cpu_percent": None,
    }


def _scaling(points: list[dict], **overrides: float) -> dict:
    options = {
        "load_seconds": 60.0,
        "scale_out_replicas": 2,
        "scale_out_timeout": 30.0,
        "scale_in_timeout": 60.0,
        **overrides,
    }
    return sr.evaluate_scaling(points, **options)


# --- Percentiles and totals -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fraction", "expected"), [(0.5, 2), (0.9, 5), (0.95, 20), (0.99, 20), (1.0, 40)]
)
def test_percentile_is_nearest_rank_over_the_histogram(fraction: float, expected: int) -> None:
    assert sr.percentile({2: 50, 5: 40, 20: 9, 40: 1}, fraction) == expected


def test_percentile_of_nothing_is_none() -> None:
    assert sr.percentile({}, 0.95) is None


def test_totals_add_every_request_name() -> None:
    totals = sr.summarize_locust(LOCUST_JSON)
    assert totals["requests"] == 100
    assert totals["failures"] == 2
    assert totals["failure_ratio"] == 0.02
    assert totals["rps"] == 10.0  # 100 requests between 1000.0 and 1010.0
    assert (totals["p50_ms"], totals["p95_ms"], totals["p99_ms"]) == (2, 20, 20)
    assert totals["avg_ms"] == 5.0
    assert totals["max_ms"] == 40.2


def test_totals_of_a_run_without_requests() -> None:
    entry = {
        **LOCUST_JSON[0],
        "num_requests": 0,
        "response_times": {},
        "total_response_time": 0,
    }
    totals = sr.summarize_locust([entry])
    assert totals["requests"] == 0
    assert totals["p95_ms"] is None
    assert totals["avg_ms"] is None


# --- Time series ----------------------------------------------------------------------------


def test_series_fills_gaps_and_computes_rate_and_p95_per_window() -> None:
    series = sr.build_series(TIMELINE)
    assert [window["t_s"] for window in series] == [0.0, 5.0, 10.0]
    assert [window["seconds"] for window in series] == [5.0, 5.0, 4.0]
    assert [window["requests"] for window in series] == [50, 0, 20]
    assert [window["rps"] for window in series] == [10.0, 0.0, 5.0]
    assert [window["p95_ms"] for window in series] == [8, None, 3]
    assert series[0]["failures"] == 1


def test_a_short_last_window_is_folded_into_the_one_before() -> None:
    # The users stopped 1 s into window 2 (less than half of 5 s): its rate would be noise.
    series = sr.build_series({**TIMELINE, "ended_at": 1011.0})
    assert [window["t_s"] for window in series] == [0.0, 5.0]
    assert series[1]["seconds"] == 6.0
    assert series[1]["requests"] == 20
    assert series[1]["rps"] == round(20 / 6, 2)
    assert series[1]["p95_ms"] == 3


def test_no_windows_no_series() -> None:
    assert sr.build_series({"interval_s": 5, "windows": []}) == []


# --- Kubernetes samples ---------------------------------------------------------------------

HPA = {
    "spec": {
        "minReplicas": 1,
        "maxReplicas": 5,
        "metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {"averageUtilization": 70}}}
        ],
    },
    "status": {
        "currentReplicas": 2,
        "desiredReplicas": 3,
        "currentMetrics": [
            {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 87}}}
        ],
    },
}
DEPLOYMENT = {"spec": {"replicas": 3}, "status": {"replicas": 3, "readyReplicas": 2}}


def test_parse_hpa_and_deployment() -> None:
    assert sr.parse_hpa(HPA) == {
        "min": 1, "max": 5, "current": 2, "desired": 3, "cpu_percent": 87, "cpu_target_percent": 70,
    }  # fmt: skip
    assert sr.parse_deployment(DEPLOYMENT) == {"replicas": 3, "ready": 2}


def test_parse_a_fresh_hpa_and_an_unready_deployment() -> None:
    assert sr.parse_hpa({"spec": {"maxReplicas": 5}, "status": {}}) == {
        "min": 1,
        "max": 5,
        "current": 0,
        "desired": 0,
        "cpu_percent": None,
        "cpu_target_percent": None,
    }
    assert sr.parse_deployment({"spec": {"replicas": 1}, "status": {}})["ready"] == 0


def test_take_sample_reads_both_and_keeps_errors() -> None:
    calls: list[list[str]] = []

    def run(argv: list[str]) -> str:
        calls.append(list(argv))
        if argv[2] == "hpa":
            return json.dumps(HPA)
        raise RuntimeError('deployments.apps "backend" not found')

    sample = sr.take_sample(["kubectl"], "rp", "backend", "backend", run=run, clock=lambda: 42.0)
    assert calls[0] == ["kubectl", "get", "hpa", "backend", "--namespace", "rp", "--output", "json"]
    assert sample["t"] == 42.0
    assert sample["hpa"]["desired"] == 3
    assert sample["deployment"] is None
    assert sample["errors"] == ['deployment/backend: deployments.apps "backend" not found']


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.05)


def test_sampler_samples_every_interval_until_max_seconds(tmp_path: Path) -> None:
    clock = FakeClock()
    out = tmp_path / "samples.jsonl"
    taken = sr.run_sampler(
        lambda: {"t": clock.now},
        out,
        tmp_path / "stop",
        interval=5,
        max_seconds=20,
        clock=clock,
        sleep=clock.sleep,
    )
    times = [sample["t"] for sample in sr.read_samples(out)]
    assert taken == len(times) == 5
    assert times == pytest.approx([0, 5, 10, 15, 20], abs=0.3)


def test_sampler_takes_a_last_sample_when_told_to_stop(tmp_path: Path) -> None:
    clock = FakeClock()
    stop = tmp_path / "stop"
    out = tmp_path / "samples.jsonl"

    def take() -> dict:
        if clock.now >= 7:
            stop.touch()
        return {"t": clock.now}

    sr.run_sampler(take, out, stop, interval=5, max_seconds=100, clock=clock, sleep=clock.sleep)
    times = [sample["t"] for sample in sr.read_samples(out)]
    assert times == pytest.approx([0, 5, 10, 10], abs=0.3)


def test_sampler_stops_when_its_folder_is_gone(tmp_path: Path) -> None:
    clock = FakeClock()
    out = tmp_path / "work" / "samples.jsonl"  # never made: the playbook removed it
    taken = sr.run_sampler(
        lambda: {"t": 0}, out, tmp_path / "stop", 5, 100, clock=clock, sleep=clock.sleep
    )
    assert taken == 0


# --- Scaling verdict ------------------------------------------------------------------------


def test_scale_out_in_time_and_back_in() -> None:
    points = [
        _point(-1, 1, 1),
        _point(0, 1, 1),
        _point(10, 1, 3),
        _point(20, 3, 3),
        _point(60, 3, 3),
        _point(90, 3, 1),
        _point(100, 1, 1),
    ]
    verdict = _scaling(points)
    assert verdict["scaled_out"] is True
    assert verdict["scale_out_seconds"] == 20
    assert verdict["peak_replicas"] == 3
    assert verdict["scaled_in"] is True
    assert verdict["scale_in_seconds"] == 30.0
    assert verdict["passed"] is True


def test_scale_out_too_late_fails() -> None:
    verdict = _scaling([_point(0, 1, 1), _point(45, 2, 2), _point(80, 1, 1)])
    assert verdict["scale_out_seconds"] == 45
    assert verdict["scaled_out"] is False
    assert verdict["passed"] is False


def test_never_scaled_out_fails_even_though_the_hpa_is_at_its_minimum() -> None:
    verdict = _scaling([_point(t, 1, 1) for t in range(0, 100, 5)])
    assert verdict["scaled_out"] is False
    assert verdict["scaled_in"] is False
    assert verdict["peak_replicas"] == 1


def test_no_scale_in_within_the_timeout_fails() -> None:
    points = [_point(0, 1, 1), _point(10, 2, 2), _point(60, 2, 2), _point(130, 2, 1)]
    verdict = _scaling(points)
    assert verdict["scaled_out"] is True
    assert verdict["scale_in_seconds"] == 70.0
    assert verdict["scaled_in"] is False


def test_replicas_before_the_load_do_not_count_as_scale_out() -> None:
    verdict = _scaling([_point(-5, 2, 2), _point(0, 1, 1), _point(65, 1, 1)])
    assert verdict["scale_out_seconds"] is None
    assert verdict["scaled_out"] is False


def test_a_higher_hpa_minimum_is_the_scale_in_goal() -> None:
    points = [_point(0, 2, 2, 2), _point(10, 4, 4, 2), _point(70, 2, 2, 2)]
    verdict = _scaling(points, scale_out_replicas=3)
    assert verdict["min_replicas"] == 2
    assert verdict["scaled_in"] is True


def test_no_samples_fails() -> None:
    verdict = _scaling([])
    assert verdict["samples"] == 0
    assert verdict["passed"] is False


# --- Report and chart -----------------------------------------------------------------------


def test_docker_report_says_there_is_no_hpa() -> None:
    report = sr.build_report(
        locust_entries=LOCUST_JSON,
        timeline=TIMELINE,
        samples=[],
        target_url="http://127.0.0.1:8000",
        target_kind="docker",
        parameters={"users": 5},
        chart_name="stress-x.png",
    )
    assert report["scaling"] == "not sampled: docker target has no HPA"
    assert report["replicas"] == []
    assert report["totals"]["requests"] == 100
    assert report["load_seconds"] == 14.0
    assert report["started_at"] == "1970-01-01T00:16:40+00:00"
    assert report["errors"][0]["error"] == "HTTP 503"
    assert len(report["series"]) == 3


def test_kubernetes_report_has_replicas_and_a_verdict() -> None:
    samples = [
        {"t": 999.0, "hpa": {"min": 1, "current": 1, "desired": 1}, "deployment": {"ready": 1}},
        {"t": 1004.0, "hpa": {"min": 1, "current": 2, "desired": 2}, "deployment": {"ready": 2}},
        {"t": 1016.0, "hpa": {"min": 1, "current": 1, "desired": 1}, "deployment": {"ready": 1}},
        {"t": 1017.0, "hpa": None, "deployment": None, "errors": ["hpa/backend: timeout"]},
    ]
    report = sr.build_report(
        locust_entries=LOCUST_JSON,
        timeline=TIMELINE,
        samples=samples,
        target_url="http://127.0.0.1:18000",
        target_kind="kubernetes",
        parameters={"scale_out_replicas": 2, "scale_out_timeout_s": 10, "scale_in_timeout_s": 10},
        chart_name="stress-x.png",
    )
    assert [point["t_s"] for point in report["replicas"]] == [-1.0, 4.0, 16.0, 17.0]
    scaling = report["scaling"]
    assert scaling["scale_out_seconds"] == 4.0
    assert scaling["scale_in_seconds"] == 2.0  # the load ended at 1014.0
    assert scaling["passed"] is True
    assert scaling["sample_errors"] == 1
    assert scaling["first_sample_error"] == "hpa/backend: timeout"
    assert report["capacity"]["rps_per_replica_at_target"] is None  # no CPU metric sampled


def test_capacity_per_replica_at_the_cpu_target() -> None:
    series = [
        {"t_s": 0.0, "seconds": 5.0, "rps": 100.0},  # 1 pod at 50 %: 140 at 70 %
        {"t_s": 5.0, "seconds": 5.0, "rps": 300.0},  # 2 pods at 100 %: 105 each at 70 %
        {"t_s": 10.0, "seconds": 5.0, "rps": 250.0},  # 2 pods at 70 %: 125 each
        {"t_s": 15.0, "seconds": 5.0, "rps": 10.0},  # 5 %: says nothing, left out
    ]
    points = [
        {"t_s": 2.5, "ready": 1, "cpu_percent": 50, "cpu_target_percent": 70},
        {"t_s": 7.5, "ready": 2, "cpu_percent": 100, "cpu_target_percent": 70},
        {"t_s": 12.5, "ready": 2, "cpu_percent": 70, "cpu_target_percent": 70},
        {"t_s": 17.5, "ready": 2, "cpu_percent": 5, "cpu_target_percent": 70},
    ]
    capacity = sr.capacity_at_target(series, points)
    assert capacity == {"cpu_target_percent": 70, "rps_per_replica_at_target": 125.0, "windows": 3}
    assert sr.capacity_at_target(series, [{**p, "cpu_target_percent": None} for p in points]) == {
        "rps_per_replica_at_target": None, "reason": "the HPA has no CPU target",
    }  # fmt: skip


@pytest.mark.parametrize("kind", ["docker", "kubernetes"])
def test_main_writes_the_json_and_a_png(tmp_path: Path, kind: str) -> None:
    (tmp_path / "locust.json").write_text(json.dumps(LOCUST_JSON))
    (tmp_path / "timeline.json").write_text(json.dumps(TIMELINE))
    sample = {
        "t": 1003.0,
        "hpa": {"min": 1, "current": 2, "desired": 2},
        "deployment": {"ready": 2},
    }
    (tmp_path / "samples.jsonl").write_text(json.dumps(sample) + "\n")
    out = tmp_path / "reports"
    code = sr.main(
        [
            "report",
            "--locust-json",
            str(tmp_path / "locust.json"),
            "--timeline",
            str(tmp_path / "timeline.json"),
            "--samples",
            str(tmp_path / "samples.jsonl"),
            "--target-url",
            "http://127.0.0.1:8000",
            "--target-kind",
            kind,
            "--parameters",
            json.dumps({"users": 5}),
            "--out-json",
            str(out / "stress-t.json"),
            "--out-png",
            str(out / "stress-t.png"),
        ]
    )
    assert code == 0
    report = json.loads((out / "stress-t.json").read_text())
    assert report["chart"] == "stress-t.png"
    assert report["parameters"] == {"users": 5}
    assert (report["scaling"] == sr.DOCKER_SCALING_NOTE) == (kind == "docker")
    png = (out / "stress-t.png").read_bytes()
    assert png.startswith(PNG_MAGIC)
    assert len(png) > 10_000


def test_main_names_a_missing_locust_file(tmp_path: Path) -> None:
    (tmp_path / "timeline.json").write_text(json.dumps(TIMELINE))
    with pytest.raises(SystemExit, match=r"no Locust JSON stats at .*missing\.json"):
        sr.main(
            [
                "report",
                "--locust-json",
                str(tmp_path / "missing.json"),
                "--timeline",
                str(tmp_path / "timeline.json"),
                "--target-url",
                "http://127.0.0.1:8000",
                "--target-kind",
                "docker",
                "--out-json",
                str(tmp_path / "r.json"),
                "--out-png",
                str(tmp_path / "r.png"),
            ]
        )
    assert not (tmp_path / "r.json").exists()
