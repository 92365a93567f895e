"""The elk role's Elasticsearch and Kibana API tasks, run by ansible-playbook against a local
HTTP double (tests/elk/http_double.py: 127.0.0.1, a thread, records every request).

What this proves: the requests the role sends (paths, methods, bodies, the kbn-xsrf header, basic
auth as the right user), that a second run writes nothing (changed=0), that 409 and "Duplicate
data view" count as done, that answers 503 are retried, and the message of each bad input (wrong
password: 401; a red cluster: its allocation explanation; Kibana never available: what was awaited
and the last status). What it cannot prove: that a real Elasticsearch and Kibana accept the bodies;
the online Molecule scenario (roles/elk/molecule/online) runs the role against them on minikube.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.elk.conftest import (
    ELASTIC_PASSWORD,
    KIBANA_SYSTEM_PASSWORD,
    PASSWORDS,
    ROLE,
    SHIPPER_PASSWORD,
    flat,
    role_vars,
    run_play,
    task_result,
)
from tests.elk.http_double import StackDouble, StackState, running
from tests.playbooks.conftest import recap_changed

pytestmark = pytest.mark.integration

API_TASKS = [
    {
        "name": "Elasticsearch",
        "ansible.builtin.include_role": {"name": "elk", "tasks_from": "elasticsearch_api"},
    },
    {"name": "Kibana", "ansible.builtin.include_role": {"name": "elk", "tasks_from": "kibana_api"}},
]
TEMPLATE_SOURCE = (ROLE / "files" / "index_template.json").read_text(encoding="utf-8")
DASHBOARD_SOURCE = (ROLE / "files" / "dashboard.ndjson").read_text(encoding="utf-8")


def _vars(double: StackDouble, **overrides: object) -> dict:
    settings: dict[str, object] = {
        "elk_apply": False,
        "elk_elasticsearch_url": double.url,
        "elk_kibana_url": double.url + "/",
        "elk_api_retries": 4,
        "elk_api_delay": 1,
        "elk_elasticsearch_ready_timeout": 3,
        "elk_kibana_ready_timeout": 3,
        "elk_api_timeout": 5,
    }
    return role_vars(**{**settings, **overrides})


def _fresh() -> StackState:
    return StackState(elastic_password=ELASTIC_PASSWORD)


def _assert_no_secret(output: str) -> None:
    leaked = [p for p in PASSWORDS if p in output]
    assert not leaked, "a password was printed"


def test_first_run_creates_everything_with_the_right_requests(tmp_path: Path) -> None:
    with running(_fresh()) as double:
        result = run_play(tmp_path, API_TASKS, _vars(double))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    _assert_no_secret(output)
    assert recap_changed(result.stdout) == 6, result.stdout[-2000:]

    # Elasticsearch: every request as elastic, except the password checks of the two users.
    es_requests = [r for r in double.requests if not r.path.startswith("/api/")]
    assert {r.user for r in es_requests} == {"elastic", "kibana_system"}
    assert all(r.headers["authorization"].startswith("Basic ") for r in double.requests)
    (password,) = double.calls("POST", "/_security/user/kibana_system/_password")
    assert password.json == {"password": KIBANA_SYSTEM_PASSWORD}
    (role,) = double.calls("PUT", "/_security/role/rotten_potatoes_shipper")
    assert role.json["cluster"] == []
    assert role.json["indices"] == [
        {"names": ["rotten_potatoes_logs-*"], "privileges": ["create_doc", "create_index"]}
    ]
    (user,) = double.calls("PUT", "/_security/user/rotten_potatoes_shipper")
    assert user.json["roles"] == ["rotten_potatoes_shipper"]
    assert user.json["password"] == SHIPPER_PASSWORD
    assert user.json["enabled"] is True
    (template,) = double.calls("PUT", "/_index_template/rotten_potatoes_logs")
    expected = json.loads(TEMPLATE_SOURCE)
    sent = template.json
    meta = sent.pop("_meta")
    assert sent == expected
    assert meta["source_sha256"] == hashlib.sha256(TEMPLATE_SOURCE.strip().encode()).hexdigest()

    # Kibana: kbn-xsrf on every request, the data view body, the dashboard as an ndjson file.
    kibana = [r for r in double.requests if r.path.startswith("/api/")]
    assert kibana and all(r.headers.get("kbn-xsrf") for r in kibana)
    assert all(r.user == "elastic" for r in kibana)
    (view,) = double.calls("POST", "/api/data_views/data_view")
    assert view.headers["content-type"] == "application/json"
    assert view.json == {
        "override": False,
        "data_view": {
            "id": "rotten-potatoes-logs",
            "title": "rotten_potatoes_logs*",
            "name": "Rotten Potatoes requests",
            "timeFieldName": "@timestamp",
        },
    }
    (imported,) = double.calls("POST", "/api/saved_objects/_import")
    assert imported.path == "/api/saved_objects/_import?overwrite=true"
    filename, content_type, text = imported.multipart_file()
    assert filename.endswith(".ndjson")
    assert content_type == "application/ndjson"
    revision = hashlib.sha256(DASHBOARD_SOURCE.strip().encode()).hexdigest()[:16]
    # Ansible's multipart encoder ends lines with CRLF; Kibana splits on LF and JSON.parse
    # ignores the trailing CR.
    expected_text = DASHBOARD_SOURCE.strip().replace("@@DASHBOARD_SOURCE_SHA256@@", revision)
    assert text.replace("\r\n", "\n") == expected_text + "\n"
    assert (
        revision
        in double.state.saved_objects[("dashboard", "rotten-potatoes-requests")]["attributes"][
            "description"
        ]
    )


def test_second_run_changes_nothing_and_writes_nothing(tmp_path: Path) -> None:
    with running(_fresh()) as double:
        first = run_play(tmp_path, API_TASKS, _vars(double))
        assert first.returncode == 0, first.stdout[-3000:]
        writes_before = len(double.writes())
        second = run_play(tmp_path, API_TASKS, _vars(double))
    assert second.returncode == 0, second.stdout[-3000:]
    assert recap_changed(second.stdout) == 0, second.stdout[-3000:]
    assert len(double.writes()) == writes_before, [
        (r.method, r.path) for r in double.writes()[writes_before:]
    ]


def test_changed_passwords_and_a_changed_role_are_put_again(tmp_path: Path) -> None:
    """Reading first must not hide drift: a wrong role or a changed password is written."""
    with running(_fresh()) as double:
        assert run_play(tmp_path, API_TASKS, _vars(double)).returncode == 0
        double.state.roles["rotten_potatoes_shipper"]["indices"][0]["privileges"] = ["all"]
        double.state.kibana_system_password = "an-older-password-set-by-hand"  # noqa: S105
        before = len(double.requests)
        result = run_play(tmp_path, API_TASKS, _vars(double))
        later = double.requests[before:]
    assert result.returncode == 0, result.stdout[-3000:]
    assert recap_changed(result.stdout) == 2, result.stdout[-3000:]
    written = sorted((r.method, r.path) for r in later if r.method in {"POST", "PUT"})
    assert written == [
        ("POST", "/_security/user/kibana_system/_password"),
        ("PUT", "/_security/role/rotten_potatoes_shipper"),
    ]


@pytest.mark.parametrize(
    ("answer", "label"),
    [
        ((409, {"statusCode": 409, "message": "Duplicate data view"}), "409"),
        (
            (400, {"statusCode": 400, "message": "Duplicate data view: rotten_potatoes_logs*"}),
            "400",
        ),
    ],
)
def test_an_existing_data_view_counts_as_done(
    tmp_path: Path, answer: tuple[int, dict], label: str
) -> None:
    state = _fresh()
    state.data_view_create_answer = answer
    with running(state) as double:
        result = run_play(tmp_path, API_TASKS, _vars(double))
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{label}: {output[-3000:]}"
    assert task_result(output, "Create the data view rotten_potatoes_logs*") == "ok"
    assert len(double.calls("POST", "/api/data_views/data_view")) == 1


def test_an_unrelated_400_from_kibana_is_not_taken_for_done(tmp_path: Path) -> None:
    state = _fresh()
    state.data_view_create_answer = (400, {"statusCode": 400, "message": "[request body]: bad"})
    with running(state) as double:
        result = run_play(tmp_path, API_TASKS, _vars(double))
    text = flat(result)
    assert result.returncode != 0
    assert f"POST /api/data_views/data_view at {double.url}/api/data_views/data_view failed" in text
    assert "HTTP 400: [request body]: bad" in text


def test_answers_503_are_retried(tmp_path: Path) -> None:
    state = _fresh()
    state.unavailable = {
        ("GET", "/_cluster/health"): 2,
        ("PUT", "/_index_template/rotten_potatoes_logs"): 2,
        ("POST", "/api/data_views/data_view"): 2,
        ("POST", "/api/saved_objects/_import"): 1,
    }
    with running(state) as double:
        result = run_play(tmp_path, API_TASKS, _vars(double))
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(double.calls("GET", "/_cluster/health")) == 3
    assert len(double.calls("PUT", "/_index_template/")) == 3
    assert len(double.calls("POST", "/api/data_views/data_view")) == 3
    assert len(double.calls("POST", "/api/saved_objects/_import")) == 2
    assert "rotten-potatoes-logs" in state.data_views


def test_a_service_that_stays_unavailable_fails_naming_the_request(tmp_path: Path) -> None:
    state = _fresh()
    state.unavailable = {("PUT", "/_security/role/rotten_potatoes_shipper"): 99}
    with running(state) as double:
        result = run_play(tmp_path, API_TASKS, _vars(double, elk_api_retries=2))
    text = flat(result)
    assert result.returncode != 0
    assert "PUT /_security/role/rotten_potatoes_shipper at" in text
    assert "failed: HTTP 503: service unavailable (test double)" in text, text[-2500:]
    assert "(still so after elk_api_retries=2 retries)" in text
    assert len(double.calls("PUT", "/_security/role/")) == 3


def test_wrong_elastic_password_is_named_as_a_401(tmp_path: Path) -> None:
    state = StackState(elastic_password="the-password-elasticsearch-really-has")  # noqa: S106
    with running(state) as double:
        result = run_play(tmp_path, API_TASKS, _vars(double))
    text = flat(result)
    assert result.returncode != 0
    assert (
        f"elk: wrong credentials for user elastic at {double.url} (HTTP 401 Unauthorized on "
        "GET /_cluster/health): elk_elastic_password is not that user's password." in text
    ), text[-2000:]
    # One attempt: a wrong password is not retried until the timeout.
    assert len(double.calls("GET", "/_cluster/health")) == 1
    assert not double.writes()
    _assert_no_secret(result.stdout + result.stderr)


def test_wrong_elastic_password_for_kibana_is_named_as_a_401(tmp_path: Path) -> None:
    with running(_fresh()) as double:
        kibana_only = [API_TASKS[1]]
        result = run_play(
            tmp_path,
            kibana_only,
            _vars(double, elk_elastic_password="not-the-elastic-password"),  # noqa: S106
        )
    text = flat(result)
    assert result.returncode != 0
    assert (
        f"wrong credentials for user elastic at {double.url} (HTTP 401 Unauthorized on "
        "GET /api/status)" in text
    ), text[-2000:]


def test_a_red_cluster_stops_with_its_allocation_explanation(tmp_path: Path) -> None:
    state = _fresh()
    state.health = "red"
    with running(state) as double:
        result = run_play(tmp_path, API_TASKS, _vars(double))
    text = flat(result)
    assert result.returncode != 0
    assert f"elk: Elasticsearch at {double.url} is red (cluster rotten-potatoes-logs:" in text
    assert "1 unassigned shard(s)" in text
    assert (
        "index rotten_potatoes_logs-2026.01.02 shard 0 (primary): ALLOCATION_FAILED disk full"
        in text
    )
    assert "Elasticsearch isn't allowed to allocate this shard" in text
    assert not double.writes()


def test_kibana_never_available_names_what_was_awaited_and_the_last_status(
    tmp_path: Path,
) -> None:
    state = _fresh()
    state.kibana_levels = ["degraded"]
    with running(state) as double:
        result = run_play(tmp_path, API_TASKS, _vars(double))
    text = flat(result)
    assert result.returncode != 0
    assert (
        f"elk: Kibana at {double.url} was not ready within 3 s (elk_kibana_ready_timeout): waited "
        "for GET /api/status to answer 200 with status.overall.level 'available'; last seen: "
        "HTTP 503, overall level degraded (1 service is degraded: savedObjects)" in text
    ), text[-2000:]
    # The first attempt, then timeout // delay = 3 retries.
    assert len(double.calls("GET", "/api/status")) == 4
    assert not double.calls("POST", "/api/")


def test_kibana_that_becomes_available_is_waited_for(tmp_path: Path) -> None:
    state = _fresh()
    state.kibana_levels = ["unavailable", "degraded", "available"]
    with running(state) as double:
        result = run_play(tmp_path, API_TASKS, _vars(double))
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(double.calls("GET", "/api/status")) == 3


def test_elasticsearch_that_never_answers_is_named(tmp_path: Path) -> None:
    with running(_fresh()) as double:
        closed = double.url  # the double stops when the block ends: the port is closed then
    result = run_play(tmp_path, API_TASKS, _vars(double, elk_elasticsearch_url=closed))
    text = flat(result)
    assert result.returncode != 0
    assert f"elk: Elasticsearch at {closed} was not ready within 3 s" in text
    assert "last seen: no answer" in text
