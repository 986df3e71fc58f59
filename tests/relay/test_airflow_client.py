"""Edge cases of the Airflow client and the retry schedule, with a mocked transport
(the real-process tests cover the normal paths against the stub Airflow)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from pydantic import SecretStr

from webhook_relay.airflow_client import AirflowClient, Outcome
from webhook_relay.dispatcher import backoff_seconds


def trigger_with(handler) -> tuple:
    calls: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return handler(request, calls)

    async def go():
        client = AirflowClient(
            "http://airflow", "relay", SecretStr("pw"), transport=httpx.MockTransport(record)
        )
        try:
            return await client.trigger("a__b__c", "relay__1", {"events": []})
        finally:
            await client.aclose()

    return asyncio.run(go()), calls


def test_rejected_credentials_are_retried_later_without_leaking_the_password() -> None:
    result, calls = trigger_with(lambda req, _: httpx.Response(401, json={"detail": "nope"}))
    assert result.outcome is Outcome.RETRY
    assert "authentication failed" in result.detail
    assert "pw" not in result.detail
    assert [c.url.path for c in calls] == ["/auth/token"]


def test_a_second_401_after_refreshing_is_retried_not_looped() -> None:
    def handler(request: httpx.Request, calls):
        if request.url.path == "/auth/token":
            return httpx.Response(201, json={"access_token": f"t{len(calls)}"})
        return httpx.Response(401, json={"detail": "Token Expired"})

    result, calls = trigger_with(handler)
    assert result.outcome is Outcome.RETRY
    assert [c.url.path for c in calls] == [
        "/auth/token",
        "/api/v2/dags/a__b__c/dagRuns",
        "/auth/token",
        "/api/v2/dags/a__b__c/dagRuns",
    ]


def test_trigger_body_is_what_airflow_3_expects() -> None:
    import json

    def handler(request: httpx.Request, _calls):
        if request.url.path == "/auth/token":
            return httpx.Response(201, json={"access_token": "t"})
        assert request.headers["authorization"] == "Bearer t"
        assert json.loads(request.content) == {
            "dag_run_id": "relay__1",
            "logical_date": None,
            "conf": {"events": []},
        }
        return httpx.Response(200, json={"state": "queued"})

    result, _ = trigger_with(handler)
    assert result.outcome is Outcome.CREATED


def _in_30_seconds_as_http_date() -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), (_in_30_seconds_as_http_date, 30.0), ("soon", None)],
)
def test_retry_after_is_read_as_seconds_or_http_date(header, expected) -> None:
    # An HTTP date is built when the test runs, not at collection (minutes earlier in CI).
    header = header() if callable(header) else header

    def handler(request: httpx.Request, _calls):
        if request.url.path == "/auth/token":
            return httpx.Response(201, json={"access_token": "t"})
        return httpx.Response(429, headers={"Retry-After": header})

    result, _ = trigger_with(handler)
    assert result.outcome is Outcome.RETRY
    if expected is None:
        assert result.retry_after is None
    else:
        assert result.retry_after == pytest.approx(expected, abs=2)


def test_connection_errors_are_retried() -> None:
    def handler(request: httpx.Request, _calls):
        raise httpx.ConnectError("refused", request=request)

    result, _ = trigger_with(handler)
    assert result.outcome is Outcome.RETRY
    assert "ConnectError" in result.detail


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (10, 300.0), (40, 300.0)]:
        delays = [backoff_seconds(attempt, 1.0, 300.0, None) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jitter spreads dispatchers apart


def test_backoff_waits_at_least_retry_after() -> None:
    assert backoff_seconds(1, 1.0, 300.0, 120.0) >= 120.0


def test_started_runs_asks_for_started_tasks_of_those_runs_page_by_page() -> None:
    """One bulk task listing (paged at 100) for the runs asked about; a run of another DAG
    that shares a run id is not mistaken for one of them."""
    bodies: list[dict] = []
    started = [
        {"dag_id": "d1", "dag_run_id": f"relay__{i}", "state": "running"} for i in range(150)
    ]
    started.append({"dag_id": "d2", "dag_run_id": "relay__0", "state": "success"})

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(201, json={"access_token": "t"})
        body = json.loads(request.content)
        bodies.append(body)
        page = started[body["page_offset"] : body["page_offset"] + body["page_limit"]]
        return httpx.Response(200, json={"task_instances": page, "total_entries": len(started)})

    asked = {("d1", f"relay__{i}") for i in range(0, 200, 2)} | {("d2", "relay__1")}

    async def go():
        client = AirflowClient(
            "http://airflow", "relay", SecretStr("pw"), transport=httpx.MockTransport(handler)
        )
        try:
            return await client.started_runs(asked)
        finally:
            await client.aclose()

    found = asyncio.run(go())
    assert found == {("d1", f"relay__{i}") for i in range(0, 150, 2)}
    assert [b["page_offset"] for b in bodies] == [0, 100]
    assert bodies[0]["dag_ids"] == ["d1", "d2"]
    assert {"running", "success"} <= set(bodies[0]["state"])
    assert not {"scheduled", "queued", None} & set(bodies[0]["state"])
