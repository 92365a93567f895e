"""Image size and cold-start benchmark: ``make bench-images`` (or ``python -m bench.images``).

For the backend, frontend, PostgreSQL and MLflow images: the image size (``docker image inspect
.Size``) and, over ``--repeats`` fresh containers each, the time from ``docker run -d`` until
(a) the service answers its readiness probe from the host and (b) Docker reports the container
``healthy`` (its own HEALTHCHECK, polled every 0.2 s). Each container publishes its port on a free
127.0.0.1 port, starts with a fresh anonymous volume (PostgreSQL runs initdb, MLflow creates its
schema: a first start) and is removed with its volumes afterwards.

The backend and frontend images are built from the current Dockerfiles and ``--model-dir`` with
scripts/build-images.sh (as ``rp-bench/*:bench``, removed at the end unless ``--keep-images``),
unless ``--backend`` / ``--frontend`` name existing images; PostgreSQL and MLflow come from
scripts/build-base-images.sh (built once, then reused). Results go to
``bench/results/images.json`` and a Markdown table on stdout for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.tools import require
from tests.support.network import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results" / "images.json"
# Debian's 20.10 client: the one scripts/build-images.sh builds with (BuildKit secrets).
DOCKER = os.environ.get("DOCKER", "/usr/bin/docker")
SERVICES = ("backend", "frontend", "postgres", "mlflow")
BENCH_PREFIX = "rp-bench"
BENCH_TAG = "bench"
HEALTH_POLL_SECONDS = 0.2
READY_POLL_SECONDS = 0.05
TARGETS = {"backend_mb_max": 400.0, "frontend_mb_max": 350.0, "backend_healthy_s_max": 10.0}


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DOCKER, *args], capture_output=True, text=True, check=check, timeout=timeout
    )


def _http_ok(url: str, body: bytes | None = None) -> Callable[[int], bool]:
    def probe(port: int) -> bool:
        try:
            with urllib.request.urlopen(url.format(port=port), timeout=1) as response:  # noqa: S310 - loopback http
                return response.status == 200 and (body is None or response.read().strip() == body)
        except (urllib.error.URLError, OSError):
            return False

    return probe


def _postgres_ok(password: str) -> Callable[[int], bool]:
    """A real login over TCP and ``SELECT 1``: the set-up server of the entrypoint has no TCP."""
    import psycopg

    def probe(port: int) -> bool:
        try:
            with psycopg.connect(
                host="127.0.0.1",
                port=port,
                user="postgres",
                password=password,
                dbname="postgres",
                connect_timeout=1,
            ) as connection:
                return connection.execute("SELECT 1").fetchone() == (1,)
        except psycopg.Error:
            return False

    return probe


@dataclass(frozen=True)
class Service:
    name: str
    container_port: int
    ready: Callable[[int], bool]
    ready_probe: str
    env: dict[str, str] = field(default_factory=dict)


def services() -> dict[str, Service]:
    password = secrets.token_hex(16)
    return {
        "backend": Service(
            # No DATABASE_URL: sqlite in the image's DATA_DIR. The model is baked in.
            "backend",
            8000,
            _http_ok("http://127.0.0.1:{port}/ready"),
            "GET /ready 200",
        ),
        "frontend": Service(
            "frontend",
            8501,
            _http_ok("http://127.0.0.1:{port}/_stcore/health", b"ok"),
            'GET /_stcore/health "ok"',
        ),
        "postgres": Service(
            "postgres",
            5432,
            _postgres_ok(password),
            "psycopg login over TCP + SELECT 1",
            {"POSTGRES_PASSWORD": password},
        ),
        "mlflow": Service(
            "mlflow",
            5000,
            _http_ok("http://127.0.0.1:{port}/health"),
            "GET /health 200",
        ),
    }


def _poll(
    deadline: float, interval: float, check: Callable[[], bool], stop: threading.Event
) -> float | None:
    """perf_counter() of the first successful check, None if stopped or past the deadline."""
    while not stop.is_set() and time.perf_counter() < deadline:
        if check():
            return time.perf_counter()
        stop.wait(interval)
    return None


def cold_start(image: str, service: Service, timeout: float) -> dict[str, float]:
    """One fresh container: seconds from `docker run -d` to ready and to healthy."""
    name = f"{BENCH_PREFIX}-{service.name}-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env_args = [arg for key, value in service.env.items() for arg in ("-e", f"{key}={value}")]
    failure: list[str] = []
    stop = threading.Event()

    def healthy() -> bool:
        result = docker("inspect", "-f", "{{json .State}}", name, check=False, timeout=10)
        if result.returncode != 0:
            return False
        state = json.loads(result.stdout)
        status = (state.get("Health") or {}).get("Status")
        if state.get("Status") == "exited" or status == "unhealthy":
            failure.append(f"{state.get('Status')}, health {status}")
            stop.set()
            return False
        return status == "healthy"

    started = time.perf_counter()
    try:
        docker(
            "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:{service.container_port}",
            *env_args, image,
        )  # fmt: skip
        run_returned = time.perf_counter()
        deadline = started + timeout
        with ThreadPoolExecutor(max_workers=2) as pool:
            ready_at = pool.submit(
                _poll, deadline, READY_POLL_SECONDS, lambda: service.ready(port), stop
            )
            healthy_at = pool.submit(_poll, deadline, HEALTH_POLL_SECONDS, healthy, stop)
            ready, health = ready_at.result(), healthy_at.result()
        if failure or ready is None or health is None:
            logs = docker("logs", "--tail", "30", name, check=False).stderr
            raise RuntimeError(
                f"{service.name} ({image}): ready={ready is not None}, healthy={health is not None}"
                f" after {timeout} s {'; '.join(failure)}\n{logs}"
            )
    finally:
        stop.set()
        docker("rm", "-f", "-v", name, check=False)
    return {
        "run_returned_s": round(run_returned - started, 3),
        "ready_s": round(ready - started, 3),
        "healthy_s": round(health - started, 3),
    }


def healthcheck(image: str) -> dict[str, object]:
    inspect = docker("image", "inspect", "-f", "{{json .Config.Healthcheck}}", image)
    config = json.loads(inspect.stdout) or {}
    seconds = {key: config.get(key, 0) / 1e9 for key in ("Interval", "Timeout", "StartPeriod")}
    return {
        "interval_s": seconds["Interval"],
        "timeout_s": seconds["Timeout"],
        "start_period_s": seconds["StartPeriod"],
        "retries": config.get("Retries"),
    }


def build_app_images(model_dir: Path) -> dict[str, str]:
    env = {**os.environ, "MODEL_DIR": str(model_dir), "IMAGE_PREFIX": BENCH_PREFIX}
    env.update(TAG=BENCH_TAG, DOCKER=DOCKER)
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "build-images.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"scripts/build-images.sh failed:\n{result.stderr}")
    backend, frontend = result.stdout.split()
    return {"backend": backend, "frontend": frontend}


def base_image(kind: str) -> str:
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "build-base-images.sh"), kind],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"scripts/build-base-images.sh {kind} failed:\n{result.stderr}")
    return result.stdout.split()[-1]


def environment() -> dict[str, object]:
    info = json.loads(docker("info", "--format", "{{json .}}").stdout)
    return {
        "docker_server": docker("version", "--format", "{{.Server.Version}}").stdout.strip(),
        "storage_driver": info.get("Driver"),
        "kernel": info.get("KernelVersion"),
        "cpus": info.get("NCPU"),
        "memory_gib": round(info.get("MemTotal", 0) / 2**30, 1),
        "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
    }


def summarise(image: str, runs: list[dict[str, float]], probe: str) -> dict:
    ready = [run["ready_s"] for run in runs]
    healthy = [run["healthy_s"] for run in runs]
    size = int(docker("image", "inspect", "-f", "{{.Size}}", image).stdout.strip())
    return {
        "image": image,
        "size_mb": round(size / 1e6, 1),
        "ready_probe": probe,
        "healthcheck": healthcheck(image),
        "ready_median_s": round(statistics.median(ready), 2),
        "ready_max_s": round(max(ready), 2),
        "healthy_median_s": round(statistics.median(healthy), 2),
        "healthy_max_s": round(max(healthy), 2),
        "runs": runs,
    }


def markdown(results: dict[str, dict]) -> str:
    lines = [
        "| image | size (MB) | HEALTHCHECK interval (s) | ready median / max (s) "
        "| healthy median / max (s) |",
        "|---|---|---|---|---|",
    ]
    for name, row in results.items():
        lines.append(
            f"| {name} | {row['size_mb']:.1f} | {row['healthcheck']['interval_s']:g} "
            f"| {row['ready_median_s']:.2f} / {row['ready_max_s']:.2f} "
            f"| {row['healthy_median_s']:.2f} / {row['healthy_max_s']:.2f} |"
        )
    return "\n".join(lines)


def check_targets(results: dict[str, dict]) -> list[str]:
    failures = []
    for name in ("backend", "frontend"):
        if name in results and results[name]["size_mb"] > TARGETS[f"{name}_mb_max"]:
            failures.append(f"{name} image {results[name]['size_mb']} MB")
    backend = results.get("backend")
    if backend and backend["healthy_max_s"] > TARGETS["backend_healthy_s_max"]:
        failures.append(f"backend healthy after up to {backend['healthy_max_s']} s")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="cold starts per image")
    parser.add_argument("--images", nargs="+", choices=SERVICES, default=list(SERVICES))
    parser.add_argument("--model-dir", type=Path, default=REPO_ROOT / "build" / "model")
    parser.add_argument("--backend", help="an existing backend image (default: build one)")
    parser.add_argument("--frontend", help="an existing frontend image (default: build one)")
    parser.add_argument("--postgres", help="default: scripts/build-base-images.sh postgres")
    parser.add_argument("--mlflow", help="default: scripts/build-base-images.sh mlflow")
    parser.add_argument("--timeout", type=float, default=180, help="per start, in seconds")
    parser.add_argument("--keep-images", action="store_true", help="keep the rp-bench images")
    args = parser.parse_args()
    require("bench-images", "docker")

    images = {name: getattr(args, name) for name in args.images}
    built: list[str] = []
    if any(images.get(name) is None for name in ("backend", "frontend") if name in images):
        started = time.perf_counter()
        refs = build_app_images(args.model_dir.resolve())
        print(f"built {' '.join(refs.values())} in {time.perf_counter() - started:.0f} s")
        built = list(refs.values())
        images = {name: image or refs.get(name) for name, image in images.items()}
    for name in ("postgres", "mlflow"):
        if name in images and images[name] is None:
            images[name] = base_image(name)

    catalogue = services()
    results: dict[str, dict] = {}
    try:
        for name, image in images.items():
            runs = []
            for index in range(args.repeats):
                runs.append(cold_start(image, catalogue[name], args.timeout))
                print(
                    f"{name} #{index + 1}: ready {runs[-1]['ready_s']:.2f} s, "
                    f"healthy {runs[-1]['healthy_s']:.2f} s",
                    file=sys.stderr,
                )
            results[name] = summarise(image, runs, catalogue[name].ready_probe)
    finally:
        if built and not args.keep_images:
            docker("image", "rm", *built, check=False)

    output = {
        "environment": environment(),
        "repeats": args.repeats,
        "health_poll_s": HEALTH_POLL_SECONDS,
        "targets": TARGETS,
        "results": results,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(output, indent=2) + "\n")
    print(markdown(results))
    failures = check_targets(results)
    for failure in failures:
        print(f"target missed: {failure}", file=sys.stderr)
    print("all targets met" if not failures else "targets missed", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
