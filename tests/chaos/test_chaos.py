"""The prediction data path under chaos, in one run (``make chaos``): real containers on the
docker target, real PostgreSQL, a bounded client load (8 workers, about 3,000 requests).

While the load runs: Elasticsearch (a stand-in sink) goes down and comes back, PostgreSQL is
stopped for 30 s, the backend is SIGKILLed during the outage and again after it, and its
container is replaced (a new container, the same spool volume) during the outage; poison is mixed
into the traffic: texts the edge refuses (NUL, lone surrogates, bytes that are not UTF-8) and
texts PostgreSQL refuses (a CHECK constraint the service cannot know about, the stand-in for any
rule of the database).

Asserted: no 5xx but the documented spool-full 503 (with Retry-After); every 200's request_id
exactly once in PostgreSQL, or in dead_letters for the database poison; dead letters exactly the
database poison; /health and /ready true at every sample (within LAG seconds of a change).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.chaos.harness import (
    DB_POISON,
    DOCKER,
    PASSWORD,
    Load,
    Sampler,
    Stack,
    docker,
    run_schedule,
)
from tests.images.conftest import built_images, docker_engine  # noqa: F401 - fixtures
from tests.support.network import free_port

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS = REPO_ROOT / "build" / "test-results" / "chaos.md"
# How long a state in /ready may trail the truth: the flusher notices an outage at its next
# write or idle ping (5 s) within DB_CONNECT_TIMEOUT_SECONDS (2), and a recovery after at most
# FLUSH_MAX_BACKOFF_SECONDS (2); the shipper likewise within ES_FLUSH_SECONDS + its back-off.
LAG = 8.0
WORKERS = 8
RATE_PER_WORKER = 7.0
REQUEST_LIMIT = 3_200
SPOOL_MAX_BYTES = 768 * 1024


def _base_image(kind: str) -> str:
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "build-base-images.sh"), kind],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800, check=False,
        env={**os.environ, "DOCKER": DOCKER},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.split()[-1]


@pytest.fixture(scope="module")
def backend_image(request: pytest.FixtureRequest) -> str:
    """RP_CHAOS_BACKEND_IMAGE, else make app-images' build (build/images.json), else a build of
    the session's exported model (tests/images' fixture)."""
    if not Path(DOCKER).is_file() or docker("info", check=False).returncode != 0:
        pytest.fail("the chaos suite needs a Docker engine (scripts/ensure-docker.sh)")
    named = os.environ.get("RP_CHAOS_BACKEND_IMAGE")
    manifest = REPO_ROOT / "build" / "images.json"
    if not named and manifest.is_file():
        named = json.loads(manifest.read_text())["backend"]
    if named and docker("image", "inspect", named, check=False).returncode == 0:
        return named
    return request.getfixturevalue("built_images").backend


@pytest.fixture
def stack(backend_image: str) -> Iterator[Stack]:
    made = Stack(
        backend_image=backend_image,
        postgres_image=_base_image("postgres"),
        python_image=_base_image("python"),
        port=free_port(),
        sink_port=free_port(),
    )
    try:
        made.up(
            {
                "DATABASE_URL": f"postgresql+psycopg://rotten:{PASSWORD}@postgres:5432/rotten_potatoes",
                "ES_URL": "http://elasticsearch:9200",
                "ES_FLUSH_SECONDS": "0.5",
                "ES_MAX_BACKOFF_SECONDS": "2",
                "ES_TIMEOUT_SECONDS": "2",
                "FLUSH_MAX_BACKOFF_SECONDS": "2",
                "DB_CONNECT_TIMEOUT_SECONDS": "2",
                "SPOOL_MAX_BYTES": str(SPOOL_MAX_BYTES),
                "SPOOL_FULL_RETRY_AFTER_SECONDS": "3",
                "LOG_LEVEL": "INFO",
            }
        )
        made.wait_for_backend()
        yield made
    except BaseException:
        print(made.logs(made.backend))
        raise
    finally:
        made.down()


def _ready_lies(stack: Stack, samples: list) -> list[str]:
    """Each answered sample against the truth; the list of the ones that lied."""
    lies = []
    truth = stack.truth
    for sample in samples:
        window = (sample.sent - LAG, sample.received)
        threads = set((sample.health_body or {}).get("threads", {}).values())
        if sample.health is not None and (sample.health != 200 or threads != {"running"}):
            lies.append(f"/health {sample.health} {sample.health_body}")
        if sample.ready is None:
            continue
        body = sample.ready_body
        if sample.ready != 200 or body["status"] != "ready":
            lies.append(f"/ready {sample.ready} {body['status']}")
        database = body["database"]["status"]
        if database == "ok" and not truth.was("postgres", True, *window):
            lies.append(f"database ok while PostgreSQL was down (t={sample.sent:.1f})")
        if database == "degraded" and not truth.was("postgres", False, *window):
            lies.append(f"database degraded while PostgreSQL was up (t={sample.sent:.1f})")
        shipper = body["log_shipper"]["status"]
        if shipper == "ok" and not truth.was("elasticsearch", True, *window):
            lies.append(f"log shipper ok while Elasticsearch was down (t={sample.sent:.1f})")
        if shipper == "unavailable" and not truth.was("elasticsearch", False, *window):
            lies.append(f"log shipper unavailable while Elasticsearch was up (t={sample.sent:.1f})")
        if "error" in json.dumps(body):
            lies.append("raw error text in /ready")
    return lies


def test_the_data_path_survives_chaos(stack: Stack) -> None:
    # A rule of the database the service cannot see: texts with the marker are refused (23514).
    stack.sql(
        "ALTER TABLE predictions ADD CONSTRAINT chaos_poison "
        f"CHECK (text IS NULL OR position('{DB_POISON}' in text) = 0)"
    )
    docs_before = stack.sink_docs()
    load = Load(stack.url, WORKERS, RATE_PER_WORKER, REQUEST_LIMIT)
    sampler = Sampler(stack.url)
    events: list[str] = []
    sink_docs: dict[str, int] = {}
    started = time.monotonic()
    load.start()
    sampler.start()
    try:
        run_schedule(
            [
                (3, "Elasticsearch endpoint down", stack.stop_sink),
                (14, "Elasticsearch endpoint back", stack.start_sink),
                (8, "PostgreSQL stopped", stack.stop_postgres),
                (17, "backend SIGKILLed (PostgreSQL down)", stack.kill_backend),
                (27, "backend container replaced, same volume (PostgreSQL down)",
                 stack.replace_backend),
                (38, "PostgreSQL started (30 s outage)", stack.start_postgres),
                (46, "backend SIGKILLed (PostgreSQL up)", stack.kill_backend),
            ],
            events,
        )  # fmt: skip
        sink_docs["after its outage, 30 s in"] = stack.sink_docs()
        deadline = time.monotonic() + 120
        while load._sent < REQUEST_LIMIT and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        load.stop()
    load_seconds = time.monotonic() - started
    # Drain: every accepted record reaches PostgreSQL (or the dead letters).
    deadline = time.monotonic() + 120
    final: dict = {}
    while time.monotonic() < deadline:
        try:
            final = httpx.get(f"{stack.url}/ready", timeout=2).json()
            if final["database"]["spooled"] == 0 and final["database"]["status"] == "ok":
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    # The dead-letter count in /ready is recounted from the table at the next idle ping (5 s).
    letters = Counter(stack.sql("SELECT request_id FROM dead_letters").splitlines())
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and final.get("database", {}).get("dead_letters") != sum(
        letters.values()
    ):
        time.sleep(0.5)
        final = httpx.get(f"{stack.url}/ready", timeout=2).json()
    sampler.stop()
    sink_docs["at the end"] = stack.sink_docs()
    metrics = httpx.get(f"{stack.url}/metrics", timeout=5).text

    outcomes = load.outcomes
    statuses = Counter("no answer" if o.status is None else o.status for o in outcomes)
    server_errors = [o for o in outcomes if o.status is not None and o.status >= 500]
    spool_full = [o for o in server_errors if o.status == 503 and "spool is full" in o.detail]
    undocumented = [o for o in server_errors if o not in spool_full]
    ok_ids = [rid for o in outcomes if o.status == 200 for rid in o.ids]
    poison_ids = {rid for o in outcomes if o.status == 200 for rid in o.poison_ids}
    stored_ids = set(ok_ids) - poison_ids
    unanswered_records = sum(o.records for o in outcomes if o.status is None)

    rows = dict(
        line.split("|")
        for line in stack.sql(
            "SELECT request_id, count(*) FROM predictions GROUP BY request_id"
        ).splitlines()
    )
    missing = stored_ids - set(rows)
    duplicated = {rid for rid, count in rows.items() if count != "1"}
    poison_stored = poison_ids & set(rows)
    extra_rows = set(rows) - stored_ids  # accepted, then the answer was lost (kill): allowed
    edge = [o for o in outcomes if o.kind == "edge poison"]
    lies = _ready_lies(stack, sampler.samples)
    answered = [s for s in sampler.samples if s.ready is not None]
    degraded = [s for s in answered if s.ready_body["database"]["status"] == "degraded"]
    shipper_down = [s for s in answered if s.ready_body["log_shipper"]["status"] == "unavailable"]
    max_spooled = max((s.ready_body["database"]["spooled"] for s in answered), default=0)

    table = [
        "| measure | value |",
        "|---|---|",
        f"| requests sent (8 workers, {load_seconds:.0f} s) | {len(outcomes)} |",
        *(
            f"| answered {status} | {count} |"
            for status, count in sorted(statuses.items(), key=str)
        ),
        f"| 5xx other than the documented spool-full 503 | {len(undocumented)} |",
        f"| spool-full 503s (all with Retry-After) | {len(spool_full)} |",
        f"| records answered 200 | {len(ok_ids)} |",
        f"| of which database poison (CHECK refuses them) | {len(poison_ids)} |",
        f"| 200 records missing from PostgreSQL | {len(missing)} |",
        f"| request_ids more than once in PostgreSQL | {len(duplicated)} |",
        f"| rows of requests whose answer was lost to a kill | {len(extra_rows)} "
        f"(of {unanswered_records} records without an answer) |",
        f"| dead letters / database poison answered 200 | {sum(letters.values())} / "
        f"{len(poison_ids)} |",
        f"| edge poison sent / refused with 422 / no answer (backend down) | {len(edge)} / "
        f"{sum(1 for o in edge if o.status == 422)} / {sum(1 for o in edge if o.status is None)} |",
        f"| /health + /ready samples answered / lies | {len(answered)} / {len(lies)} |",
        f"| samples with database degraded / shipper unavailable | {len(degraded)} / "
        f"{len(shipper_down)} |",
        f"| largest spool depth seen in /ready | {max_spooled} |",
        f"| log documents at the stand-in before / after its outage / at the end | "
        f"{docs_before} / {sink_docs['after its outage, 30 s in']} / {sink_docs['at the end']} |",
        f"| spool after the run | {final.get('database', {}).get('spooled')} events |",
    ]
    report = "\n".join(["Chaos timeline:", *(f"  {e}" for e in events), "", *table])
    print("\n" + report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report + "\n")

    assert len(outcomes) >= 2_000, "the load did not run"
    assert not undocumented, [(o.kind, o.status, o.detail) for o in undocumented[:5]]
    assert all(o.retry_after for o in spool_full)
    assert not missing, sorted(missing)[:10]
    assert not duplicated
    assert not poison_stored
    assert set(letters) == poison_ids and all(count == 1 for count in letters.values())
    assert len(extra_rows) <= unanswered_records
    assert all(o.status in (None, 422) for o in edge), Counter(o.status for o in edge)
    assert not lies, lies[:10]
    assert degraded and shipper_down, "the faults never showed in /ready"
    assert final["database"] == {**final["database"], "spooled": 0, "status": "ok"}
    assert final["database"]["dead_letters"] == len(poison_ids)
    assert f"rp_dead_letters {float(len(poison_ids))}" in metrics
    assert 'rp_background_thread_up{thread="flusher"} 1.0' in metrics
    assert 'rp_background_thread_up{thread="log_shipper"} 1.0' in metrics
    assert sink_docs["at the end"] > 0, "log shipping never resumed after the outage"
