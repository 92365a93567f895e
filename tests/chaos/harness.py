"""The chaos suite's moving parts: real containers on the docker target, a bounded client load,
a /health and /ready sampler, and the record of what was really up and when.

The backend runs exactly as app_deploy's docker target runs it: the image, a named volume at
DATA_DIR for the spool, a private network with PostgreSQL (the project's image), published on
127.0.0.1 only. "Replacing" the container is what a redeploy does: a new container, the same
volume. Elasticsearch is a stand-in (es_sink.py), since no Elasticsearch can be downloaded here.
"""

from __future__ import annotations

import random
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

DOCKER = "/usr/bin/docker"
PASSWORD = "chaos-test-password-not-a-secret"  # noqa: S105  # pragma: allowlist secret - a test database
DB_POISON = "chaos-poison"
DATA_DIR = "/var/lib/rotten-potatoes"
SINK = Path(__file__).with_name("es_sink.py")


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DOCKER, *args], capture_output=True, text=True, check=check, timeout=timeout
    )


class Truth:
    """When each component was really up, as the suite made it so (monotonic seconds)."""

    def __init__(self) -> None:
        self.changes: dict[str, list[tuple[float, bool]]] = {}

    def set(self, component: str, up: bool) -> None:
        self.changes.setdefault(component, []).append((time.monotonic(), up))

    def was(self, component: str, up: bool, start: float, end: float) -> bool:
        """Was ``component`` in state ``up`` at any moment of [start, end]?"""
        changes = self.changes.get(component, [])
        state_at_start = None
        for moment, state in changes:
            if moment <= start:
                state_at_start = state
            elif moment <= end and state == up:
                return True
        return state_at_start == up


@dataclass
class Stack:
    backend_image: str
    postgres_image: str
    python_image: str
    port: int
    sink_port: int
    truth: Truth = field(default_factory=Truth)
    prefix: str = field(default_factory=lambda: f"rp-chaos-{uuid.uuid4().hex[:8]}")
    backend_generation: int = 0

    @property
    def network(self) -> str:
        return self.prefix

    @property
    def backend(self) -> str:
        return f"{self.prefix}-backend"

    @property
    def postgres(self) -> str:
        return f"{self.prefix}-postgres"

    @property
    def sink(self) -> str:
        return f"{self.prefix}-es"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self, backend_env: dict[str, str]) -> None:
        self.backend_env = backend_env
        docker("network", "create", "--label", "rp-chaos=1", self.network)
        for volume in ("spool", "pgdata"):
            docker("volume", "create", "--label", "rp-chaos=1", f"{self.prefix}-{volume}")
        docker(
            "run", "-d", "--name", self.postgres, "--network", self.network,
            "--network-alias", "postgres", "--label", "rp-chaos=1",
            "-e", "POSTGRES_USER=rotten", "-e", f"POSTGRES_PASSWORD={PASSWORD}",
            "-e", "POSTGRES_DB=rotten_potatoes",
            "-v", f"{self.prefix}-pgdata:/var/lib/postgresql/data", self.postgres_image,
        )  # fmt: skip
        self.truth.set("postgres", True)
        docker(
            "run", "-d", "--name", self.sink, "--network", self.network,
            "--network-alias", "elasticsearch", "--label", "rp-chaos=1",
            "-p", f"127.0.0.1:{self.sink_port}:9200",
            "-v", f"{SINK}:/opt/es_sink.py:ro", "--entrypoint", "python3",
            self.python_image, "/opt/es_sink.py", "9200",
        )  # fmt: skip
        self.truth.set("elasticsearch", True)
        self.wait_for_postgres()
        self.run_backend()

    def wait_for_postgres(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sql("SELECT 1", check=False) == "1":
                return
            time.sleep(0.5)
        raise AssertionError(f"PostgreSQL did not answer within {timeout} s")

    def run_backend(self) -> None:
        """A new backend container on the same spool volume (what a redeploy does)."""
        self.backend_generation += 1
        env = [item for key, value in self.backend_env.items() for item in ("-e", f"{key}={value}")]
        docker(
            "run", "-d", "--name", self.backend, "--network", self.network,
            "--label", "rp-chaos=1", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "-p", f"127.0.0.1:{self.port}:8000", "-v", f"{self.prefix}-spool:{DATA_DIR}",
            *env, self.backend_image,
        )  # fmt: skip
        self.truth.set("backend", True)

    def wait_for_backend(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"backend not ready within {timeout} s:\n{self.logs(self.backend)}")

    def sql(self, statement: str, check: bool = True) -> str:
        result = docker(
            "exec", self.postgres, "psql", "--username", "rotten", "--dbname", "rotten_potatoes",
            "--tuples-only", "--no-align", "--quiet", "--command", statement, check=check,
        )  # fmt: skip
        return result.stdout.strip()

    # --- Faults ------------------------------------------------------------------------------

    def stop_postgres(self) -> None:
        self.truth.set("postgres", False)
        docker("stop", "--time", "5", self.postgres)

    def start_postgres(self) -> None:
        docker("start", self.postgres)
        self.wait_for_postgres()
        self.truth.set("postgres", True)

    def stop_sink(self) -> None:
        self.truth.set("elasticsearch", False)
        docker("stop", "--time", "1", self.sink)

    def start_sink(self) -> None:
        docker("start", self.sink)
        time.sleep(0.5)
        self.truth.set("elasticsearch", True)

    def kill_backend(self) -> None:
        """SIGKILL: no shutdown flush, no goodbye; then the same container starts again."""
        self.truth.set("backend", False)
        docker("kill", "--signal", "KILL", self.backend)
        docker("start", self.backend)
        self.truth.set("backend", True)

    def replace_backend(self) -> None:
        self.truth.set("backend", False)
        docker("rm", "-f", self.backend)
        self.run_backend()

    # --- Inspection --------------------------------------------------------------------------

    def logs(self, container: str) -> str:
        result = docker("logs", "--tail", "60", container, check=False)
        return (result.stdout + result.stderr)[-6000:]

    def sink_docs(self) -> int:
        try:
            return int(httpx.get(f"http://127.0.0.1:{self.sink_port}/_rp/docs", timeout=5)
                       .json()["count"])  # fmt: skip
        except httpx.HTTPError:
            return -1

    def down(self) -> None:
        for container in (self.backend, self.sink, self.postgres):
            docker("rm", "-f", "-v", container, check=False)
        for volume in ("spool", "pgdata"):
            docker("volume", "rm", "-f", f"{self.prefix}-{volume}", check=False)
        docker("network", "rm", self.network, check=False)


# --- Load --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str
    status: int | None  # None: no HTTP answer (refused, reset, timed out)
    ids: list[str] = field(default_factory=list)  # request ids of a 200
    poison_ids: list[str] = field(default_factory=list)  # the ones the database refuses
    records: int = 1
    retry_after: str | None = None
    detail: str = ""


EDGE_POISON = [
    b'{"text": "nul \\u0000 inside"}',
    b'{"text": "lone \\ud800 surrogate"}',
    b'{"texts": ["fine", "\\udfff"]}',
    b'{"text": "invalid \xff utf-8"}',
    b'{"text": "encoded \xed\xa0\x80 surrogate"}',
]


class Load:
    """``workers`` threads, each at most ``rate`` requests/s, until stopped or ``limit`` sent."""

    def __init__(self, url: str, workers: int, rate: float, limit: int, seed: int = 14) -> None:
        self.url = url
        self.workers = workers
        self.interval = 1.0 / rate
        self.limit = limit
        self.seed = seed
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sent = 0

    def start(self) -> None:
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _take(self) -> int | None:
        with self._lock:
            if self._sent >= self.limit:
                return None
            self._sent += 1
            return self._sent

    def _work(self, worker: int) -> None:
        rng = random.Random(self.seed * 100 + worker)
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                number = self._take()
                if number is None:
                    return
                outcome = self._one(client, rng, f"{worker}-{number}")
                with self._lock:
                    self.outcomes.append(outcome)
                self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def _one(self, client: httpx.Client, rng: random.Random, tag: str) -> Outcome:
        roll = rng.random()
        texts: list[str] | None = None
        poison_at: set[int] = set()
        if roll < 0.06:
            kind, path, body = "edge poison", None, rng.choice(EDGE_POISON)
            path = "/predict/batch" if b"texts" in body else "/predict"
        elif roll < 0.10:
            kind, path, texts, poison_at = "db poison", "/predict", [f"{DB_POISON} {tag}"], {0}
        elif roll < 0.12:
            kind, path = "batch with db poison", "/predict/batch"
            texts = [f"chaos batch {tag}-{i}: a fine film" for i in range(4)]
            position = rng.randrange(4)
            texts[position] = f"{DB_POISON} {tag}"
            poison_at = {position}
        elif roll < 0.22:
            kind, path = "batch", "/predict/batch"
            texts = [f"chaos batch {tag}-{i}: a dull film" for i in range(4)]
        else:
            kind, path, texts = "predict", "/predict", [f"chaos review {tag}: a moving film"]
        if texts is not None:
            payload: Any = {"texts": texts} if path == "/predict/batch" else {"text": texts[0]}
            body = httpx.Request("POST", "/", json=payload).content
        records = len(texts) if texts else 0
        try:
            response = client.post(path, content=body, headers={"content-type": "application/json"})
        except httpx.HTTPError:
            return Outcome(kind, None, records=records)
        outcome = Outcome(
            kind, response.status_code, records=records,
            retry_after=response.headers.get("retry-after"), detail=response.text[:200],
        )  # fmt: skip
        if response.status_code == 200:
            answer = response.json()
            answers = answer if isinstance(answer, list) else [answer]
            outcome.ids = [a["request_id"] for a in answers]
            outcome.poison_ids = [outcome.ids[i] for i in sorted(poison_at)]
        return outcome


@dataclass
class Sample:
    sent: float
    received: float
    health: int | None
    health_body: dict[str, Any] | None
    ready: int | None
    ready_body: dict[str, Any] | None


class Sampler:
    """GET /health and /ready every ``period`` seconds, with what came back and when."""

    def __init__(self, url: str, period: float = 0.25) -> None:
        self.url = url
        self.period = period
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _get(self, client: httpx.Client, path: str) -> tuple[int | None, dict | None]:
        try:
            response = client.get(path)
        except httpx.HTTPError:
            return None, None
        return response.status_code, response.json()

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=2) as client:
            while not self._stop.is_set():
                sent = time.monotonic()
                health, health_body = self._get(client, "/health")
                ready, ready_body = self._get(client, "/ready")
                self.samples.append(
                    Sample(sent, time.monotonic(), health, health_body, ready, ready_body)
                )
                self._stop.wait(self.period)


def run_schedule(steps: list[tuple[float, str, Callable[[], None]]], log: list[str]) -> None:
    """Run each step at its offset (seconds from now), in order, logging when it ran."""
    started = time.monotonic()
    for offset, name, action in sorted(steps, key=lambda step: step[0]):
        delay = offset - (time.monotonic() - started)
        if delay > 0:
            time.sleep(delay)
        action()
        log.append(f"t={time.monotonic() - started:5.1f} s  {name}")
