"""The benchmarks' own logic: the tool check that stops them early, the capacity derivation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench import capacity, tools
from tests.conftest import REPO_ROOT


def test_a_missing_tool_stops_the_benchmark_with_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tools.shutil, "which", lambda _name: None)
    assert tools.missing("wrk") == ["wrk: run `make bench-tools (apt-get install wrk)`"]
    with pytest.raises(SystemExit) as stopped:
        tools.require("bench-serve", "wrk")
    assert stopped.value.code == 2
    assert "bench-serve: missing wrk: run `make bench-tools" in capsys.readouterr().err


def test_present_tools_pass() -> None:
    # The interpreter running this test is in the venv: a venv tool is found beside it.
    assert tools._venv_tool(sys.executable.rsplit("/", 1)[1])


def test_bench_serve_stops_before_any_work_without_wrk(tmp_path: Path) -> None:
    """Run as a new user would, without wrk on PATH: exit 2 at once, no traceback."""
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "bench.serve"], cwd=REPO_ROOT, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "missing wrk: run `make bench-tools" in result.stderr
    assert "Traceback" not in result.stderr


def test_capacity_is_derived_from_the_measurement() -> None:
    derived = capacity.derive(requests_per_s=1200.0, cores=0.96)
    assert derived["cpu_ms_per_request"] == 0.8
    assert derived["cpu_request"] == "1000m"  # 0.96 cores, rounded up to 100m
    assert derived["hpa_cpu_target_percent"] == capacity.HPA_TARGET_PERCENT
    # 70 % of 1000m at 0.8 ms per request
    assert derived["requests_per_s_per_pod_at_target"] == 875.0
    assert capacity.derive(requests_per_s=500.0, cores=0.42)["cpu_request"] == "500m"
