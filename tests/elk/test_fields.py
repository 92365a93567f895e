"""The index template and the dashboard reference only fields the backend really ships.

The document is not a hand-written list: the real backend (create_app with a tiny model) serves a
single prediction, a batch and a rejected request, its EsShipper sends them to a local _bulk
recorder, and the fields of those documents are the reference.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from app.backend.main import create_app
from tests.app.backend.conftest import make_settings, wait_until, write_export
from tests.app.backend.test_shipper import BulkServer
from tests.elk.conftest import ROLE

TEMPLATE = json.loads((ROLE / "files" / "index_template.json").read_text(encoding="utf-8"))
DASHBOARD = [
    json.loads(line)
    for line in (ROLE / "files" / "dashboard.ndjson").read_text(encoding="utf-8").splitlines()
    if line.strip()
]
_RAW_VARS = yaml.safe_load((ROLE / "vars" / "main.yml").read_text(encoding="utf-8"))
# The index names are written once, as _elk_index_prefix, and derived from it.
ROLE_VARS = {
    name: value.replace("{{ _elk_index_prefix }}", _RAW_VARS["_elk_index_prefix"])
    if isinstance(value, str)
    else value
    for name, value in _RAW_VARS.items()
}
# A field name on the left of a KQL comparison: `label:*`, `status >= 400`.
KQL_FIELD = re.compile(r"([@A-Za-z_][\w.@]*)\s*(?::|>=|<=|>|<)")


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, Any]]]:
    """The bulk requests (action, document) the backend sent for a few real requests."""
    server = BulkServer()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    root = tmp_path_factory.mktemp("elk-fields")
    settings = make_settings(
        root / "data",
        model_path=write_export(root / "model"),
        es_url=server.url,
        es_flush_seconds=0.05,
    )
    try:
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            assert client.post("/predict", json={"text": "a wonderful film"}).status_code == 200
            batch = client.post("/predict/batch", json={"texts": ["great", "awful"]})
            assert batch.status_code == 200
            assert client.post("/predict", json={"text": ""}).status_code == 422
            wait_until(lambda: len(server.docs) >= 3, 10, "three documents shipped")
        yield [
            {"action": action, "doc": doc}
            for request in server.requests
            for action, doc in zip(request["actions"], request["docs"], strict=True)
        ]
    finally:
        server.server.shutdown()
        server.server.server_close()


@pytest.fixture(scope="module")
def emitted(shipped: list[dict[str, Any]]) -> set[str]:
    return {key for item in shipped for key in item["doc"]}


def _mapped() -> dict[str, str]:
    return {
        name: spec["type"] for name, spec in TEMPLATE["template"]["mappings"]["properties"].items()
    }


def _dashboard_fields() -> set[str]:
    fields: set[str] = set()
    for obj in DASHBOARD:
        attributes = obj["attributes"]
        if "visState" in attributes:
            for agg in json.loads(attributes["visState"])["aggs"]:
                if "field" in agg["params"]:
                    fields.add(agg["params"]["field"])
        search = json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])
        fields |= set(KQL_FIELD.findall(search.get("query", {}).get("query", "")))
    return fields


def test_every_request_ships_one_create_action_into_a_templated_index(
    shipped: list[dict[str, Any]],
) -> None:
    statuses = sorted(item["doc"]["status"] for item in shipped)
    assert statuses == [200, 200, 422], statuses
    for item in shipped:
        assert list(item["action"]) == ["create"], item["action"]
        index = item["action"]["create"]["_index"]
        assert re.fullmatch(r"rotten_potatoes_logs-\d{4}\.\d{2}\.\d{2}", index), index
        assert TEMPLATE["index_patterns"] == [ROLE_VARS["_elk_index_pattern"]]
        assert index.startswith(ROLE_VARS["_elk_index_pattern"].rstrip("*"))


def test_each_document_carries_the_request_fields(shipped: list[dict[str, Any]]) -> None:
    single = next(
        item["doc"]
        for item in shipped
        if item["doc"]["route"] == "/predict" and item["doc"]["status"] == 200
    )
    assert single["label"] in {"positive", "negative"}
    assert 0.0 <= single["probability"] <= 1.0
    assert single["model_version"] == "7"
    assert single["method"] == "POST"
    assert isinstance(single["latency_ms"], float)
    assert single["text_length"] == len("a wonderful film")
    assert re.fullmatch(r"[0-9a-f]{32}", single["request_id"]), single["request_id"]
    batch = next(item["doc"] for item in shipped if item["doc"]["route"] == "/predict/batch")
    assert batch["count"] == 2
    assert "text_length" not in batch


def test_every_mapped_field_is_shipped_and_every_shipped_field_is_mapped(emitted: set[str]) -> None:
    mapped = set(_mapped())
    assert mapped - emitted == set(), (
        f"the template maps fields no document has: {mapped - emitted}"
    )
    assert emitted - mapped == set(), f"shipped fields left to dynamic mapping: {emitted - mapped}"


def test_the_template_types_the_fields_the_dashboard_needs() -> None:
    mapped = _mapped()
    assert mapped["@timestamp"] == "date"
    assert mapped["label"] == mapped["model_version"] == mapped["route"] == "keyword"
    assert mapped["request_id"] == "keyword"
    assert mapped["latency_ms"] in {"double", "float", "scaled_float", "long"}
    assert mapped["status"] in {"short", "integer", "long"}
    assert mapped["probability"] in {"double", "float"}
    assert mapped["text_length"] in {"short", "integer", "long"}


def test_the_dashboard_references_only_shipped_and_mapped_fields(emitted: set[str]) -> None:
    fields = _dashboard_fields()
    # The extraction finds what the six panels are built on (so this test cannot pass on nothing).
    assert {
        "@timestamp",
        "label",
        "latency_ms",
        "status",
        "model_version",
        "route",
        "probability",
        "text_length",
    } <= fields
    assert fields - emitted == set(), (
        f"the dashboard uses fields no document has: {fields - emitted}"
    )
    assert fields - set(_mapped()) == set()


def test_the_dashboard_hangs_together() -> None:
    by_id = {(obj["type"], obj["id"]): obj for obj in DASHBOARD}
    dashboards = [obj for obj in DASHBOARD if obj["type"] == "dashboard"]
    assert [obj["id"] for obj in dashboards] == [ROLE_VARS["_elk_dashboard_id"]]
    dashboard = dashboards[0]
    assert ROLE_VARS["_elk_dashboard_marker"] in dashboard["attributes"]["description"]
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    references = {ref["name"]: ref for ref in dashboard["references"]}
    assert len(panels) == 6
    for panel in panels:
        ref = references[panel["panelRefName"]]
        assert (ref["type"], ref["id"]) in by_id, ref
    for obj in DASHBOARD:
        if obj["type"] == "visualization":
            (ref,) = obj["references"]
            assert ref == {
                "name": "kibanaSavedObjectMeta.searchSourceJSON.index",
                "type": "index-pattern",
                "id": ROLE_VARS["_elk_data_view_id"],
            }
    titles = sorted(by_id[(r["type"], r["id"])]["attributes"]["title"] for r in references.values())
    assert titles == [
        "Confidence (probability of the returned label)",
        "Errors (HTTP status 400 and above)",
        "Latency p50 / p95 (ms)",
        "Positive / negative split",
        "Predictions over time",
        "Review length (characters)",
    ]


def test_the_latency_panel_shows_p50_and_p95() -> None:
    latency = next(obj for obj in DASHBOARD if obj["id"] == "rotten-potatoes-latency-percentiles")
    (metric,) = [
        agg
        for agg in json.loads(latency["attributes"]["visState"])["aggs"]
        if agg["schema"] == "metric"
    ]
    assert metric["type"] == "percentiles"
    assert metric["params"] == {"field": "latency_ms", "percents": [50, 95]}


def test_the_data_view_time_field_is_shipped(emitted: set[str]) -> None:
    tasks = (ROLE / "tasks" / "kibana_api.yml").read_text(encoding="utf-8")
    assert 'timeFieldName: "@timestamp"' in tasks
    assert "@timestamp" in emitted
    assert ROLE_VARS["_elk_data_view_title"] == "rotten_potatoes_logs*"


@pytest.mark.parametrize(
    ("vis_id", "field", "low", "high"),
    [
        ("rotten-potatoes-confidence", "probability", 0.5, 1),
        ("rotten-potatoes-review-length", "text_length", 0, 3000),
    ],
)
def test_the_signal_panels_bin_the_monitored_fields(
    vis_id: str, field: str, low: float, high: float
) -> None:
    """The panels beside the backend's Prometheus signals: a histogram of the field, by model."""
    vis = next(obj for obj in DASHBOARD if obj["id"] == vis_id)
    aggs = {agg["schema"]: agg for agg in json.loads(vis["attributes"]["visState"])["aggs"]}
    assert aggs["segment"]["type"] == "histogram"
    assert aggs["segment"]["params"]["field"] == field
    assert aggs["segment"]["params"]["extended_bounds"] == {"min": low, "max": high}
    assert aggs["group"]["params"]["field"] == "model_version"
