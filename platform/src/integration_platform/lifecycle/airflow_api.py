"""A small typed client of Airflow's REST API v2: just what the lifecycle service needs.

Why not the generated `apache-airflow-client`? It is another large dependency and its models
lag the server; these dozen calls are easier to read and test on plain `httpx`.

Behaviour worth knowing:
- Authenticates with `POST /auth/token` (username/password → JWT) on first use and again
  when a call answers 401 (an expired token), once per call.
- Retries connection errors and 5xx with exponential backoff (tenacity); every call here is
  idempotent or made idempotent by a caller-chosen run id, so a retry is safe.
- Connection errors after the retries → `AirflowUnreachable` (one sentence); bad credentials
  → `AirflowAuthError`; other unexpected statuses → `AirflowApiError` with Airflow's detail.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self
from urllib.parse import quote

import httpx
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from integration_platform.lifecycle.errors import (
    AirflowApiError,
    AirflowAuthError,
    AirflowUnreachable,
    SessionExpired,
)

API = "/api/v2"
PAGE_SIZE = 100
TERMINAL_RUN_STATES = frozenset({"success", "failed"})
FAILED_TASK_STATES = frozenset({"failed", "upstream_failed"})


def _seg(value: str) -> str:
    """One URL path segment (run ids contain `:` and `+`)."""
    return quote(value, safe="")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Dag:
    dag_id: str
    is_paused: bool
    is_stale: bool
    file_token: str
    fileloc: str
    tags: tuple[str, ...]
    last_parsed_time: datetime | None
    has_import_errors: bool = False

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            dag_id=data["dag_id"],
            is_paused=bool(data.get("is_paused")),
            is_stale=bool(data.get("is_stale")),
            file_token=data.get("file_token", ""),
            fileloc=data.get("fileloc", ""),
            tags=tuple(sorted(tag["name"] for tag in data.get("tags") or [])),
            last_parsed_time=_dt(data.get("last_parsed_time")),
            has_import_errors=bool(data.get("has_import_errors")),
        )


@dataclass(frozen=True)
class DagRun:
    dag_id: str
    run_id: str
    state: str
    run_type: str
    queued_at: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    duration: float | None
    conf: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            dag_id=data["dag_id"],
            run_id=data["dag_run_id"],
            state=data["state"],
            run_type=data.get("run_type", ""),
            queued_at=_dt(data.get("queued_at")),
            start_date=_dt(data.get("start_date")),
            end_date=_dt(data.get("end_date")),
            duration=data.get("duration"),
            conf=data.get("conf") or {},
        )

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_RUN_STATES


@dataclass(frozen=True)
class TaskInstance:
    task_id: str
    state: str | None
    try_number: int
    start_date: datetime | None
    end_date: datetime | None
    duration: float | None
    map_index: int = -1

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            task_id=data["task_id"],
            state=data.get("state"),
            try_number=int(data.get("try_number") or 0),
            start_date=_dt(data.get("start_date")),
            end_date=_dt(data.get("end_date")),
            duration=data.get("duration"),
            map_index=int(data.get("map_index", -1)),
        )

    @property
    def failed(self) -> bool:
        return self.state in FAILED_TASK_STATES


def _is_retryable(error: BaseException) -> bool:
    if isinstance(error, httpx.TransportError):
        return True
    return isinstance(error, httpx.HTTPStatusError) and error.response.status_code >= 500


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list):  # FastAPI validation errors
        return "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg')}"
            if isinstance(item, dict)
            else str(item)
            for item in detail
        )
    return str(detail)[:300]


def last_error(log_lines: Sequence[Any]) -> str | None:
    """`ExceptionType: message` of the last error in a structured task log (Airflow 3 JSON)."""
    for line in reversed(log_lines):
        if not isinstance(line, Mapping) or line.get("level") not in ("error", "critical"):
            continue
        details = [d for d in line.get("error_detail") or [] if isinstance(d, Mapping)]
        if details:
            detail = next((d for d in details if not d.get("is_cause")), details[0])
            return f"{detail.get('exc_type')}: {detail.get('exc_value')}"[:500]
        return str(line.get("event"))[:500]
    return None


class AirflowClient:
    """Airflow REST API v2 at `base_url` (e.g. `http://127.0.0.1:8080`) as `username`.

    :param password: logs in with it (`/auth/token`), and again when the token expires.
    :param token: acts with this bearer token instead (e.g. a UI user's own); with no
        password to renew it, a rejected token raises `SessionExpired`.
    :param transport: an `httpx` transport, for tests of cases a real Airflow cannot produce.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str | None = None,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        attempts: int = 4,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self._password = password
        self._attempts = attempts
        self._timeout = timeout
        self._token = token
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------

    def _send_with_retries(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        def give_up(state: RetryCallState) -> httpx.Response:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, httpx.HTTPStatusError):
                return error.response  # a persistent 5xx: let the caller report it
            if isinstance(error, httpx.TimeoutException):
                reason = f"no answer within {self._timeout:.0f}s, {self._attempts} attempts"
            else:
                reason = type(error).__name__ if error else "unknown error"
                if error and str(error):
                    reason = f"{reason}: {error}"
            raise AirflowUnreachable(self.base_url, reason)

        @retry(
            retry=retry_if_exception(_is_retryable),
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=0.5, max=5),
            retry_error_callback=give_up,
            reraise=False,
        )
        def send() -> httpx.Response:
            response = self._http.request(method, path, **kwargs)
            if response.status_code >= 500:
                raise httpx.HTTPStatusError(
                    "server error", request=response.request, response=response
                )
            return response

        return send()

    def _login(self) -> str:
        if self._password is None:
            raise SessionExpired()
        response = self._send_with_retries(
            "POST", "/auth/token", json={"username": self.username, "password": self._password}
        )
        if response.status_code in (401, 403):
            raise AirflowAuthError(self.base_url, self.username)
        if response.status_code not in (200, 201):
            raise AirflowApiError(response.status_code, "POST", "/auth/token", _detail(response))
        return response.json()["access_token"]

    def token(self) -> str:
        """This user's bearer token: logs in on first use; `request` renews it after a 401."""
        if self._token is None:
            self._token = self._login()
        return self._token

    def request(
        self, method: str, path: str, *, expected: Sequence[int] = (200,), **kwargs: Any
    ) -> httpx.Response:
        """Send an authenticated request; statuses outside `expected` raise `AirflowApiError`."""
        for attempt in range(2):
            headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {self.token()}"}
            response = self._send_with_retries(method, path, headers=headers, **kwargs)
            if response.status_code == 401 and attempt == 0:
                self._token = None  # expired or revoked: log in again, once
                continue
            break
        if response.status_code == 401 and 401 not in expected:
            raise AirflowAuthError(self.base_url, self.username)
        if response.status_code not in expected:
            raise AirflowApiError(response.status_code, method, path, _detail(response))
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        """GET `path` and decode its JSON (any status but 200 raises `AirflowApiError`)."""
        return self.request("GET", path, **kwargs).json()

    def _get_json(self, path: str, **params: Any) -> Any:
        return self.get(path, params={k: v for k, v in params.items() if v is not None})

    def _paged(self, path: str, key: str, **params: Any) -> Iterator[Mapping[str, Any]]:
        offset = 0
        while True:
            page = self._get_json(path, limit=PAGE_SIZE, offset=offset, **params)
            items = page.get(key, [])
            yield from items
            offset += len(items)
            if not items or offset >= page.get("total_entries", 0):
                return

    # -- DAGs --------------------------------------------------------------------------------

    def get_dag(self, dag_id: str) -> Dag | None:
        """The DAG, or None if Airflow has never parsed it."""
        response = self.request("GET", f"{API}/dags/{_seg(dag_id)}", expected=(200, 404))
        return Dag.from_api(response.json()) if response.status_code == 200 else None

    def list_dags(
        self,
        *,
        tags: Sequence[str] = (),
        dag_id_pattern: str | None = None,
        include_stale: bool = False,
    ) -> list[Dag]:
        """DAGs carrying all `tags` and matching `dag_id_pattern` (SQL LIKE, `%` wildcards)."""
        params: dict[str, Any] = {
            "tags": list(tags) or None,
            "tags_match_mode": "all" if tags else None,
            "dag_id_pattern": dag_id_pattern,
            "exclude_stale": not include_stale,
        }
        return [Dag.from_api(item) for item in self._paged(f"{API}/dags", "dags", **params)]

    def request_reparse(self, file_token: str) -> None:
        """Ask the DAG processor to parse a DAG file now instead of at its next interval."""
        self.request("PUT", f"{API}/parseDagFile/{_seg(file_token)}", expected=(200, 201, 404))

    def set_paused(self, dag_id: str, paused: bool) -> Dag:
        response = self.request("PATCH", f"{API}/dags/{_seg(dag_id)}", json={"is_paused": paused})
        return Dag.from_api(response.json())

    def import_errors(self, filename_pattern: str | None = None) -> list[Mapping[str, Any]]:
        return list(
            self._paged(f"{API}/importErrors", "import_errors", filename_pattern=filename_pattern)
        )

    # -- DAG runs ----------------------------------------------------------------------------

    def trigger_dag_run(
        self,
        dag_id: str,
        run_id: str,
        conf: Mapping[str, Any] | None = None,
        note: str | None = None,
    ) -> tuple[DagRun, bool]:
        """Trigger a run with a caller-chosen id; `(run, created)`. A duplicate id (409) is not
        an error: it returns the existing run with `created=False`."""
        body: dict[str, Any] = {
            "dag_run_id": run_id,
            "logical_date": None,
            "conf": dict(conf or {}),
        }
        if note:
            body["note"] = note
        path = f"{API}/dags/{_seg(dag_id)}/dagRuns"
        response = self.request("POST", path, json=body, expected=(200, 409))
        if response.status_code == 409:
            existing = self.get_dag_run(dag_id, run_id)
            if existing is None:  # 409 for another reason (e.g. a logical date clash)
                raise AirflowApiError(409, "POST", path, _detail(response))
            return existing, False
        return DagRun.from_api(response.json()), True

    def get_dag_run(self, dag_id: str, run_id: str) -> DagRun | None:
        response = self.request(
            "GET", f"{API}/dags/{_seg(dag_id)}/dagRuns/{_seg(run_id)}", expected=(200, 404)
        )
        return DagRun.from_api(response.json()) if response.status_code == 200 else None

    def list_dag_runs(
        self,
        dag_id: str,
        *,
        states: Sequence[str] = (),
        since: datetime | None = None,
        limit: int | None = None,
        newest_first: bool = True,
    ) -> list[DagRun]:
        """Runs of one DAG (`~` = all DAGs), filtered by state and run_after >= `since`."""
        params: dict[str, Any] = {
            "state": list(states) or None,
            "run_after_gte": since.isoformat() if since else None,
            "order_by": "-run_after" if newest_first else "run_after",
        }
        runs = []
        for item in self._paged(f"{API}/dags/{_seg(dag_id)}/dagRuns", "dag_runs", **params):
            runs.append(DagRun.from_api(item))
            if limit is not None and len(runs) >= limit:
                break
        return runs

    def clear_dag_run(
        self, dag_id: str, run_id: str, *, only_failed: bool, dry_run: bool
    ) -> list[str]:
        """Clear (re-run) a run's task instances; returns the task ids cleared (or that would be)."""
        response = self.request(
            "POST",
            f"{API}/dags/{_seg(dag_id)}/dagRuns/{_seg(run_id)}/clear",
            json={"dry_run": dry_run, "only_failed": only_failed},
        )
        body = response.json()
        return [item["task_id"] for item in body.get("task_instances", [])]

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskInstance]:
        path = f"{API}/dags/{_seg(dag_id)}/dagRuns/{_seg(run_id)}/taskInstances"
        return [
            TaskInstance.from_api(item)
            for item in self._paged(path, "task_instances", order_by="start_date")
        ]

    def xcom_return_value(self, dag_id: str, run_id: str, task_id: str) -> Any:
        """A task's return value (JSON), or None if it returned nothing."""
        path = (
            f"{API}/dags/{_seg(dag_id)}/dagRuns/{_seg(run_id)}/taskInstances/{_seg(task_id)}"
            "/xcomEntries/return_value"
        )
        response = self.request("GET", path, params={"deserialize": True}, expected=(200, 404))
        return response.json().get("value") if response.status_code == 200 else None

    def task_error(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str | None:
        """The exception a failed try ended with (`Type: message`), from its structured log."""
        path = (
            f"{API}/dags/{_seg(dag_id)}/dagRuns/{_seg(run_id)}/taskInstances/{_seg(task_id)}"
            f"/logs/{try_number}"
        )
        response = self.request(
            "GET",
            path,
            params={"full_content": True},
            headers={"Accept": "application/json"},
            expected=(200, 404),
        )
        if response.status_code != 200:
            return None
        content = response.json().get("content")
        return last_error(content) if isinstance(content, list) else None

    def task_log_url(self, dag_id: str, run_id: str, task_id: str) -> str:
        """The Airflow UI page of one task instance (its log is one click away)."""
        return f"{self.base_url}/dags/{_seg(dag_id)}/runs/{_seg(run_id)}/tasks/{_seg(task_id)}"

    def run_url(self, dag_id: str, run_id: str) -> str:
        return f"{self.base_url}/dags/{_seg(dag_id)}/runs/{_seg(run_id)}"

    # -- connections -------------------------------------------------------------------------

    def get_connection(self, conn_id: str) -> Mapping[str, Any] | None:
        response = self.request("GET", f"{API}/connections/{_seg(conn_id)}", expected=(200, 404))
        return response.json() if response.status_code == 200 else None

    def upsert_connection(
        self,
        conn_id: str,
        conn_type: str,
        fields: Mapping[str, Any],
        *,
        description: str | None = None,
    ) -> bool:
        """Create the connection, or update only the given `fields` of an existing one (so an
        omitted password is kept). Returns True if it was created."""
        body: dict[str, Any] = {"connection_id": conn_id, "conn_type": conn_type, **fields}
        if description is not None:
            body["description"] = description
        path = f"{API}/connections/{_seg(conn_id)}"
        mask = ["conn_type", *fields, *(["description"] if description is not None else [])]
        response = self.request(
            "PATCH", path, params={"update_mask": mask}, json=body, expected=(200, 404)
        )
        if response.status_code == 200:
            return False
        self.request("POST", f"{API}/connections", json=body, expected=(200, 201))
        return True

    def delete_connection(self, conn_id: str) -> bool:
        """Delete; False if there was nothing to delete."""
        response = self.request("DELETE", f"{API}/connections/{_seg(conn_id)}", expected=(204, 404))
        return response.status_code == 204
