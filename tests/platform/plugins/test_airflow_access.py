"""The plugin acts in Airflow as the requesting user: their token, never a stored password."""

from __future__ import annotations

import httpx
import pytest
from starlette.requests import Request

from integration_platform.lifecycle.airflow_api import API, AirflowClient
from integration_platform.lifecycle.errors import SessionExpired
from integration_platform.plugins.auth import request_token
from tests.platform.plugins.support import ADMIN


def _request(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})


def test_a_bearer_token_wins_over_the_session_cookie():
    request = _request({"Authorization": "Bearer from-header", "Cookie": "_token=from-cookie"})
    assert request_token(request) == "from-header"


def test_the_ui_session_cookie_is_the_token_of_browser_requests():
    assert request_token(_request({"Cookie": "_token=from-cookie"})) == "from-cookie"
    assert request_token(_request({})) is None


def test_calls_carry_the_callers_token_and_never_log_in():
    seen: list[httpx.Request] = []

    def airflow(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"dags": [], "total_entries": 0})

    client = AirflowClient(
        "http://airflow.test",
        ADMIN.name,
        token=ADMIN.token,
        transport=httpx.MockTransport(airflow),
    )
    assert client.list_dags() == []
    assert [r.url.path for r in seen] == [f"{API}/dags"]
    assert seen[0].headers["authorization"] == f"Bearer {ADMIN.token}"


def test_an_expired_token_is_a_clear_error_not_a_password_login():
    paths: list[str] = []

    def airflow(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return httpx.Response(401, json={"detail": "Token Expired"})

    client = AirflowClient(
        "http://airflow.test",
        ADMIN.name,
        token=ADMIN.token,
        transport=httpx.MockTransport(airflow),
    )
    with pytest.raises(SessionExpired, match="log in again"):
        client.get_dag("any")
    assert "/auth/token" not in paths
