"""Trigger DAG runs through Airflow's REST API v2, translating answers into outcomes.

Only the public API: `POST /auth/token` for a JWT, `POST /api/v2/dags/{id}/dagRuns`
with `"logical_date": null`. The token is fetched lazily and refreshed once on 401.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

log = logging.getLogger(__name__)


class Outcome(enum.Enum):
    CREATED = "created"  # 200: the run is queued
    EXISTS = "exists"  # 409: this run id was triggered before, so the batch is done
    DEAD = "dead"  # 404 unknown DAG, 400/422 conf rejected: retrying cannot help
    RETRY = "retry"  # connection error, timeout, 5xx, 429, auth failure


@dataclass(frozen=True, slots=True)
class TriggerResult:
    outcome: Outcome
    detail: str
    retry_after: float | None = None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _error_detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    return f"HTTP {response.status_code}: {str(detail)[:500]}"


class AirflowClient:
    def __init__(
        self,
        base_url: str,
        username: str,
        password: SecretStr,
        *,
        timeout: float = 30.0,
        max_connections: int = 16,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._username = username
        self._password = password
        self._token: str | None = None
        self._token_lock = asyncio.Lock()
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_connections),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _fetch_token(self, stale: str | None) -> str:
        async with self._token_lock:
            if self._token is not None and self._token != stale:
                return self._token  # someone refreshed it while we waited
            response = await self._http.post(
                "/auth/token",
                json={
                    "username": self._username,
                    "password": self._password.get_secret_value(),
                },
            )
            if response.status_code not in (200, 201):
                raise AuthFailed(_error_detail(response))
            self._token = response.json()["access_token"]
            return self._token

    async def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any]) -> TriggerResult:
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf}
        path = f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns"
        try:
            token = self._token or await self._fetch_token(None)
            response = await self._post(path, body, token)
            if response.status_code == 401:
                token = await self._fetch_token(token)
                response = await self._post(path, body, token)
        except AuthFailed as exc:
            return TriggerResult(Outcome.RETRY, f"authentication failed: {exc}")
        except httpx.HTTPError as exc:
            return TriggerResult(Outcome.RETRY, f"{type(exc).__name__}: {exc}"[:500])
        return _classify(response)

    async def _post(self, path: str, body: dict[str, Any], token: str) -> httpx.Response:
        return await self._http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


class AuthFailed(Exception):
    """`/auth/token` refused the credentials (the message never includes them)."""


def _classify(response: httpx.Response) -> TriggerResult:
    status = response.status_code
    if status in (200, 201):
        return TriggerResult(Outcome.CREATED, f"HTTP {status}")
    if status == 409:
        return TriggerResult(Outcome.EXISTS, "HTTP 409: run id already exists")
    if status == 404:
        return TriggerResult(Outcome.DEAD, f"unknown DAG ({_error_detail(response)})")
    if status in (400, 422):
        return TriggerResult(Outcome.DEAD, f"Airflow rejected the run ({_error_detail(response)})")
    return TriggerResult(Outcome.RETRY, _error_detail(response), _retry_after(response))
