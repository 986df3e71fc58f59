"""Trigger DAG runs and read their states through Airflow's REST API v2.

Only the public API: `POST /auth/token` for a JWT, `POST /api/v2/dags/{id}/dagRuns`
with `"logical_date": null`, `POST /api/v2/dags/~/dagRuns/list` to read the states of all
the relay's unfinished runs in one call, and `POST /api/v2/dags/~/dagRuns/~/taskInstances/list`
to learn which of the running ones have a task that started (Airflow marks a run running
before an executor slot is free). The token is fetched lazily and refreshed once on 401.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Collection, Sequence
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
    REFUSED = "refused"  # 400/422 on the conf: split the batch, dead-letter what is refused
    TRANSIENT = "transient"  # 404 (DAG being parsed), 400 import error: retry for a while
    DEAD = "dead"  # 400 that no retry or split can fix (e.g. no manual runs allowed)
    RETRY = "retry"  # connection error, timeout, 5xx, 429, auth failure


# Runs Airflow has not finished; a tracked run absent from a listing of these has finished.
UNFINISHED_STATES = ("queued", "running")
PAGE_LIMIT = 100  # Airflow's default `[api] maximum_page_limit`
# A task in one of these has been given an executor slot (or is past needing one).
STARTED_TASK_STATES = (
    "running",
    "success",
    "failed",
    "up_for_retry",
    "up_for_reschedule",
    "upstream_failed",
    "skipped",
    "deferred",
    "restarting",
    "removed",
)


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

    async def unfinished_runs(self, dag_ids: Sequence[str]) -> dict[tuple[str, str], str]:
        """{(dag id, run id): state} of the queued and running runs of these DAGs, in one
        call per 100 runs. Raises `httpx.HTTPError` or `RunListFailed` when Airflow does not
        answer, so the caller keeps the states it knew."""
        body = {"dag_ids": sorted(set(dag_ids)), "states": list(UNFINISHED_STATES)}
        runs = await self._list(LIST_RUNS_PATH, {**body, "order_by": "id"}, "dag_runs")
        return {(run["dag_id"], run["dag_run_id"]): run["state"] for run in runs}

    async def started_runs(self, runs: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (dag id, run id) have a task that started: a run whose tasks
        all wait for an executor slot is, for flow control, still waiting to start."""
        body = {
            "dag_ids": sorted({dag_id for dag_id, _ in runs}),
            "dag_run_ids": sorted({run_id for _, run_id in runs}),
            "state": list(STARTED_TASK_STATES),
            "order_by": "id",
        }
        found = await self._list(LIST_TASKS_PATH, body, "task_instances")
        return {(ti["dag_id"], ti["dag_run_id"]) for ti in found} & set(runs)

    async def _list(self, path: str, body: dict[str, Any], key: str) -> list[dict[str, Any]]:
        """Every page of one of Airflow's bulk listings."""
        found: list[dict[str, Any]] = []
        while True:
            page_body = {**body, "page_limit": PAGE_LIMIT, "page_offset": len(found)}
            try:
                token = self._token or await self._fetch_token(None)
            except AuthFailed as exc:
                raise RunListFailed(f"authentication failed: {exc}") from None
            response = await self._post(path, page_body, token)
            if response.status_code == 401:
                response = await self._post(path, page_body, await self._fetch_token(token))
            if response.status_code != 200:
                raise RunListFailed(_error_detail(response))
            page = response.json()
            items = page.get(key, [])
            found += items
            if not items or len(found) >= page.get("total_entries", 0):
                return found

    async def _post(self, path: str, body: dict[str, Any], token: str) -> httpx.Response:
        return await self._http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


class AuthFailed(Exception):
    """`/auth/token` refused the credentials (the message never includes them)."""


class RunListFailed(Exception):
    """Airflow did not list the runs or tasks (the message is its answer)."""


LIST_RUNS_PATH = "/api/v2/dags/~/dagRuns/list"
LIST_TASKS_PATH = "/api/v2/dags/~/dagRuns/~/taskInstances/list"


def _classify(response: httpx.Response) -> TriggerResult:
    status = response.status_code
    if status in (200, 201):
        return TriggerResult(Outcome.CREATED, f"HTTP {status}")
    if status == 409:
        return TriggerResult(Outcome.EXISTS, "HTTP 409: run id already exists")
    detail = _error_detail(response)
    if status == 404:
        # A new or redeployed DAG is unknown until the DAG processor has parsed it.
        return TriggerResult(Outcome.TRANSIENT, f"unknown DAG ({detail})")
    if status == 400 and "import errors" in detail:
        return TriggerResult(Outcome.TRANSIENT, f"DAG cannot be triggered ({detail})")
    if status == 400 and "does not allow manual runs" in detail:
        return TriggerResult(Outcome.DEAD, f"Airflow rejected the run ({detail})")
    if status in (400, 422):
        return TriggerResult(Outcome.REFUSED, f"Airflow rejected the run ({detail})")
    return TriggerResult(Outcome.RETRY, _error_detail(response), _retry_after(response))
