"""The REST client's edge cases that a healthy local Airflow does not produce on demand:
expired tokens, 5xx bursts, refused connections, bad credentials. (The happy paths run against
a real Airflow in test_lifecycle_stack.py.)"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from integration_platform.lifecycle.airflow_api import AirflowClient, last_error
from integration_platform.lifecycle.errors import (
    AirflowApiError,
    AirflowAuthError,
    AirflowUnreachable,
)
from sandbox.processes import free_port
from tests.support.airflow_payloads import dag_run, task_instance

Handler = Callable[[httpx.Request], httpx.Response]

RUN = dag_run(
    "d",
    "deploy__generation_2",
    state="success",
    queued_at="2026-11-28T10:00:00+00:00",
    start_date=None,
    end_date=None,
    duration=None,
    conf={"generation": 2},
)


def client(handler: Handler) -> AirflowClient:
    return AirflowClient(
        "http://airflow.test", "admin", "pw", attempts=3, transport=httpx.MockTransport(handler)
    )


def test_an_expired_token_is_replaced_once_and_the_call_repeated() -> None:
    tokens = iter(["old", "new"])
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            assert json.loads(request.content) == {"username": "admin", "password": "pw"}
            return httpx.Response(201, json={"access_token": next(tokens)})
        seen.append(request.headers["Authorization"])
        if request.headers["Authorization"] == "Bearer old":
            return httpx.Response(401, json={"detail": "Token Expired"})
        return httpx.Response(200, json=RUN)

    run = client(handler).get_dag_run("d", "deploy__generation_2")

    assert run is not None
    assert run.state == "success"
    assert seen == ["Bearer old", "Bearer new"]


def test_rejected_credentials_are_one_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"detail": "Invalid credentials"})

    with pytest.raises(AirflowAuthError, match="rejected the credentials of user 'admin'"):
        client(handler).get_dag("d")


def test_server_errors_are_retried_then_succeed() -> None:
    answers = iter([503, 502, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(201, json={"access_token": "t"})
        status = next(answers)
        return httpx.Response(status, json=RUN if status == 200 else {"detail": "busy"})

    assert client(handler).get_dag_run("d", "x") is not None


def test_persistent_server_errors_surface_with_airflows_detail() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(201, json={"access_token": "t"})
        return httpx.Response(500, json={"detail": "database is locked"})

    with pytest.raises(AirflowApiError, match="HTTP 500: database is locked"):
        client(handler).get_dag("d")


def test_a_refused_connection_is_one_sentence_naming_the_url() -> None:
    port = free_port()  # nothing listens here
    api = AirflowClient(f"http://127.0.0.1:{port}", "admin", "pw", attempts=2)

    with pytest.raises(AirflowUnreachable) as error:
        api.get_dag("d")

    message = str(error.value)
    assert message.startswith(f"Cannot reach Airflow at http://127.0.0.1:{port} (ConnectError")
    assert "INTEGRATION_AIRFLOW_URL" in message
    assert "\n" not in message


def test_a_duplicate_run_id_returns_the_existing_run() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(201, json={"access_token": "t"})
        if request.method == "POST":
            body = json.loads(request.content)
            assert body["logical_date"] is None
            assert body["dag_run_id"] == "deploy__generation_2"
            return httpx.Response(409, json={"detail": "already exists"})
        assert request.url.path == "/api/v2/dags/d/dagRuns/deploy__generation_2"
        return httpx.Response(200, json=RUN)

    run, created = client(handler).trigger_dag_run("d", "deploy__generation_2", {"generation": 2})

    assert created is False
    assert run.run_id == "deploy__generation_2"


def test_run_ids_are_escaped_in_paths() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(201, json={"access_token": "t"})
        paths.append(request.url.raw_path.decode())
        return httpx.Response(404, json={"detail": "not found"})

    api = client(handler)
    assert api.get_dag_run("d", "scheduled__2026-01-01T00:00:00+00:00") is None
    assert paths == ["/api/v2/dags/d/dagRuns/scheduled__2026-01-01T00%3A00%3A00%2B00%3A00"]
    assert api.task_log_url("d", "a+b", "t") == "http://airflow.test/dags/d/runs/a%2Bb/tasks/t"


def test_upsert_patches_only_given_fields_and_creates_when_missing() -> None:
    calls: list[tuple[str, str, dict]] = []
    exists = {"acme_erp__shop-1": False}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(201, json={"access_token": "t"})
        body = json.loads(request.content)
        calls.append((request.method, str(request.url.params), body))
        if request.method == "PATCH":
            if not exists["acme_erp__shop-1"]:
                return httpx.Response(404, json={"detail": "not found"})
            return httpx.Response(200, json=body)
        exists["acme_erp__shop-1"] = True
        return httpx.Response(201, json=body)

    api = client(handler)
    created = api.upsert_connection(
        "acme_erp__shop-1", "acme_erp", {"host": "https://a", "password": "k"}
    )
    updated = api.upsert_connection("acme_erp__shop-1", "acme_erp", {"host": "https://b"})

    assert (created, updated) == (True, False)
    assert [method for method, _, _ in calls] == ["PATCH", "POST", "PATCH"]
    last_params = calls[-1][1]
    assert "update_mask=conn_type" in last_params
    assert "update_mask=host" in last_params
    assert "password" not in last_params  # an omitted password keeps the stored one


def test_the_last_error_of_a_structured_task_log_names_the_exception() -> None:
    log = [
        {"event": "::group::Pre Execute", "level": "info"},
        {"event": "Retrying soon", "level": "warning"},
        {
            "event": "Task failed with exception",
            "level": "error",
            "error_detail": [
                {
                    "exc_type": "AcmeAuthError",
                    "exc_value": "HTTP 401: unknown API key",
                    "is_cause": False,
                },
                {"exc_type": "HTTPError", "exc_value": "401", "is_cause": True},
            ],
        },
        {"event": "::endgroup::", "level": "info"},
    ]

    assert last_error(log) == "AcmeAuthError: HTTP 401: unknown API key"
    assert last_error([{"event": "Killed by the OOM killer", "level": "error"}]) == (
        "Killed by the OOM killer"
    )
    assert last_error([{"event": "all good", "level": "info"}]) is None


def test_a_reparse_already_queued_is_success_and_other_refusals_are_not() -> None:
    answers = {
        "queued": (409, {"detail": "Unique constraint violation"}),
        "gone": (404, {"detail": "file not found"}),
        "new": (201, None),
        "forbidden": (403, {"detail": "Forbidden"}),
    }
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(201, json={"access_token": "t"})
        seen.append((request.method, request.url.path))
        status, body = answers[request.url.path.rsplit("/", 1)[-1]]
        return httpx.Response(status, json=body)

    api = client(handler)
    for token in ("queued", "gone", "new"):
        api.request_reparse(token)
    with pytest.raises(AirflowApiError, match="HTTP 403: Forbidden") as error:
        api.request_reparse("forbidden")

    assert error.value.path == "/api/v2/parseDagFile/forbidden"
    assert seen == [
        ("PUT", f"/api/v2/parseDagFile/{token}") for token in ("queued", "gone", "new", "forbidden")
    ]


def test_a_duplicate_run_id_without_that_run_is_the_conflict_itself() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(201, json={"access_token": "t"})
        if request.method == "POST":
            return httpx.Response(409, json={"detail": "logical date clash"})
        return httpx.Response(404, json={"detail": "not found"})

    with pytest.raises(AirflowApiError, match="HTTP 409: logical date clash"):
        client(handler).trigger_dag_run("d", "deploy__generation_2")


def test_an_answer_unlike_the_schema_is_an_api_error_that_quotes_no_value() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(201, json={"access_token": "t"})
        # no conn_type: the client's model refuses it
        return httpx.Response(200, json={"connection_id": "c", "password": "s3cret-key"})

    with pytest.raises(AirflowApiError) as error:
        client(handler).get_connection("c")

    assert error.value.status_code == 200
    assert "conn_type" in str(error.value)
    assert "s3cret-key" not in str(error.value)


def test_any_path_goes_through_the_same_authentication_and_errors() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(201, json={"access_token": "t"})
        seen.append(request)
        if request.url.path.endswith("/missing"):
            return httpx.Response(404, json={"detail": "no such thing"})
        return httpx.Response(200, json={"metadatabase": {"status": "healthy"}})

    api = client(handler)
    body = api.get("/api/v2/monitor/health", params={"limit": 100, "state": ["a", "b"]})
    with pytest.raises(AirflowApiError, match="GET /api/v2/missing answered HTTP 404"):
        api.get("/api/v2/missing")

    assert body == {"metadatabase": {"status": "healthy"}}
    assert seen[0].headers["Authorization"] == "Bearer t"
    assert seen[0].url.params.multi_items() == [("limit", "100"), ("state", "a"), ("state", "b")]


def test_a_failed_tries_log_and_a_dry_run_clear_are_read_as_airflow_sends_them() -> None:
    """Two answers the generated models misread: log lines keep `level` and `error_detail`,
    and a dry run's task instances (a oneOf both of whose schemas match) are still listed."""
    log = {
        "content": [
            {"event": "::group::Log message source details", "sources": ["/logs/1.log"]},
            {
                "timestamp": "2026-12-01T21:39:37.845159Z",
                "level": "error",
                "event": "Task failed with exception",
                "logger": "task",
                "error_detail": [{"exc_type": "AcmeAuthError", "exc_value": "HTTP 401: bad key"}],
            },
        ],
        "continuation_token": None,
    }
    cleared = {
        "task_instances": [task_instance("d", "r", "fetch"), task_instance("d", "r", "upsert")],
        "total_entries": 2,
    }
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(201, json={"access_token": "t"})
        if request.url.path == "/api/v2/dags/d/dagRuns/r/taskInstances/fetch/logs/1":
            assert request.url.params["full_content"] == "true"
            return httpx.Response(200, json=log)
        if request.url.path == "/api/v2/dags/d/dagRuns/r/clear":
            bodies.append(json.loads(request.content))
            return httpx.Response(200, json=cleared)
        return httpx.Response(404, json={"detail": "not found"})

    api = client(handler)

    assert api.task_error("d", "r", "fetch", 1) == "AcmeAuthError: HTTP 401: bad key"
    assert api.task_error("d", "r", "fetch", 2) is None  # no such try
    assert api.clear_dag_run("d", "r", only_failed=True, dry_run=True) == ["fetch", "upsert"]
    assert len(bodies) == 1
    assert (bodies[0]["dry_run"], bodies[0]["only_failed"]) == (True, True)
