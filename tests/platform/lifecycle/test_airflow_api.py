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

Handler = Callable[[httpx.Request], httpx.Response]

RUN = {
    "dag_id": "d",
    "dag_run_id": "deploy__generation_2",
    "state": "success",
    "run_type": "manual",
    "queued_at": "2026-11-28T10:00:00+00:00",
    "start_date": None,
    "end_date": None,
    "duration": None,
    "conf": {"generation": 2},
}


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
