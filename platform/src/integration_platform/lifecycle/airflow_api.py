"""Airflow's REST API v2 for the lifecycle service, through the official `apache-airflow-client`.

Every endpoint goes through the client's API classes and models (`DAGApi`, `DagRunApi`, ...);
around them, `AirflowSession` logs in (or forwards a caller's token) and maps failures to the
lifecycle's errors, `HttpxRest` retries connection errors and 5xx under every call, and small
records (`Dag`, `DagRun`, `TaskInstance`) stand in for the generated models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Self
from urllib.parse import quote

import httpx
from airflow_client.client.api import (
    ConnectionApi,
    DAGApi,
    DAGParsingApi,
    DagRunApi,
    ImportErrorApi,
    TaskInstanceApi,
    XComApi,
)
from airflow_client.client.models import (
    ConnectionBody,
    DAGPatchBody,
    DAGRunClearBody,
    DAGRunsBatchBody,
    TaskInstancesBatchBody,
    TriggerDAGRunPostBody,
)

from integration_platform.lifecycle.airflow_models import (
    FAILED_TASK_STATES,
    TERMINAL_RUN_STATES,
    Dag,
    DagRun,
    TaskInstance,
    last_error,
)
from integration_platform.lifecycle.airflow_session import AirflowSession
from integration_platform.lifecycle.errors import AirflowApiError

__all__ = [
    "API",
    "FAILED_TASK_STATES",
    "PAGE_SIZE",
    "TERMINAL_RUN_STATES",
    "AirflowClient",
    "Dag",
    "DagRun",
    "TaskInstance",
    "last_error",
]

API = "/api/v2"
PAGE_SIZE = 100
ALL_DAGS = "~"  # the path wildcard of the batch endpoints: every DAG, every run


def _seg(value: str) -> str:
    """One URL path segment (run ids contain `:` and `+`)."""
    return quote(value, safe="")


def _paged(fetch: Callable[[int, int], Any], key: str) -> Iterator[Any]:
    """Every item of a list endpoint, `PAGE_SIZE` at a time (`fetch(limit, offset)`)."""
    offset = 0
    while True:
        page = fetch(PAGE_SIZE, offset)
        items = getattr(page, key) or []
        yield from items
        offset += len(items)
        total = getattr(page, "total_entries", None)
        if not items or (offset >= total if total is not None else len(items) < PAGE_SIZE):
            return


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
        self._session = AirflowSession(
            self.base_url,
            username,
            password,
            token,
            timeout=timeout,
            attempts=attempts,
            transport=transport,
        )
        self._call = self._session.call
        self._optional = self._session.optional
        api = self._session.api
        self._dags = DAGApi(api)
        self._parsing = DAGParsingApi(api)
        self._runs = DagRunApi(api)
        self._tasks = TaskInstanceApi(api)
        self._xcoms = XComApi(api)
        self._connections = ConnectionApi(api)
        self._import_errors = ImportErrorApi(api)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def token(self) -> str:
        """This user's bearer token: logs in on first use; a call renews it after a 401."""
        return self._session.token()

    def request(
        self, method: str, path: str, *, expected: Sequence[int] = (200,), **kwargs: Any
    ) -> httpx.Response:
        """Any endpoint by path, for what no method here covers (`json=`, `params=`,
        `headers=`); statuses outside `expected` raise `AirflowApiError`."""
        return self._session.request(method, path, expected=expected, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        """GET `path` and decode its JSON (any status but 200 raises `AirflowApiError`)."""
        return self.request("GET", path, **kwargs).json()

    # -- DAGs ----------------------------------------------------------------------------------

    def get_dag(self, dag_id: str) -> Dag | None:
        """The DAG, or None if Airflow has never parsed it."""
        dag = self._optional(lambda: self._dags.get_dag(dag_id))
        return Dag.from_model(dag) if dag is not None else None

    def list_dags(
        self,
        *,
        tags: Sequence[str] = (),
        dag_id_pattern: str | None = None,
        include_stale: bool = False,
    ) -> list[Dag]:
        """DAGs carrying all `tags` and matching `dag_id_pattern` (SQL LIKE, `%` wildcards)."""

        def page(limit: int, offset: int) -> Any:
            return self._call(
                lambda: self._dags.get_dags(
                    limit=limit,
                    offset=offset,
                    tags=list(tags) or None,
                    tags_match_mode="all" if tags else None,
                    dag_id_pattern=dag_id_pattern,
                    exclude_stale=not include_stale,
                )
            )

        return [Dag.from_model(dag) for dag in _paged(page, "dags")]

    def request_reparse(self, file_token: str) -> None:
        """Ask the DAG processor to parse a DAG file now instead of at its next interval.

        A 409 means a parse request for this file is already queued (another deploy in the
        same DAG-file shard asked first): that request re-reads the file too, so it is the
        answer wanted. A 404 (the file is gone) leaves the periodic parse to notice."""
        try:
            self._call(lambda: self._parsing.reparse_dag_file(file_token))
        except AirflowApiError as error:
            if error.status_code not in (404, 409):
                raise

    def set_paused(self, dag_id: str, paused: bool) -> Dag:
        body = DAGPatchBody(is_paused=paused)
        return Dag.from_model(self._call(lambda: self._dags.patch_dag(dag_id, body)))

    def import_errors(self, filename_pattern: str | None = None) -> list[Mapping[str, Any]]:
        def page(limit: int, offset: int) -> Any:
            return self._call(
                lambda: self._import_errors.get_import_errors(
                    limit=limit, offset=offset, filename_pattern=filename_pattern
                )
            )

        return [error.to_dict() for error in _paged(page, "import_errors")]

    # -- DAG runs ------------------------------------------------------------------------------

    def trigger_dag_run(
        self,
        dag_id: str,
        run_id: str,
        conf: Mapping[str, Any] | None = None,
        note: str | None = None,
    ) -> tuple[DagRun, bool]:
        """Trigger a run with a caller-chosen id; `(run, created)`. A duplicate id (409) is not
        an error: it returns the existing run with `created=False`."""
        body = TriggerDAGRunPostBody(
            dag_run_id=run_id, logical_date=None, conf=dict(conf or {}), note=note or None
        )
        try:
            run = self._call(lambda: self._runs.trigger_dag_run(dag_id, body))
        except AirflowApiError as error:
            if error.status_code != 409:
                raise
            existing = self.get_dag_run(dag_id, run_id)
            if existing is None:  # 409 for another reason (e.g. a logical date clash)
                raise
            return existing, False
        return DagRun.from_model(run), True

    def get_dag_run(self, dag_id: str, run_id: str) -> DagRun | None:
        run = self._optional(lambda: self._runs.get_dag_run(dag_id, run_id))
        return DagRun.from_model(run) if run is not None else None

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

        def page(page_limit: int, offset: int) -> Any:
            return self._call(
                lambda: self._runs.get_dag_runs(
                    dag_id,
                    limit=page_limit,
                    offset=offset,
                    state=list(states) or None,
                    run_after_gte=since,
                    order_by=["-run_after" if newest_first else "run_after"],
                )
            )

        runs = []
        for run in _paged(page, "dag_runs"):
            runs.append(DagRun.from_model(run))
            if limit is not None and len(runs) >= limit:
                break
        return runs

    def recent_runs(self, dag_ids: Sequence[str], limit: int) -> list[DagRun]:
        """The newest `limit` runs across `dag_ids`, newest first, in one call
        (`POST /dags/~/dagRuns/list`); Airflow caps `limit` at its maximum page size."""
        body = DAGRunsBatchBody(dag_ids=list(dag_ids), order_by="-run_after", page_limit=limit)
        page = self._call(lambda: self._runs.get_list_dag_runs_batch(ALL_DAGS, body))
        return [DagRun.from_model(run) for run in page.dag_runs]

    def clear_dag_run(
        self, dag_id: str, run_id: str, *, only_failed: bool, dry_run: bool
    ) -> list[str]:
        """Clear (re-run) a run's task instances; returns the task ids cleared (or that would be).

        Decoded here: the generated model of a dry run's answer (a oneOf of two task instance
        schemas) matches both and refuses it."""
        body = DAGRunClearBody(dry_run=dry_run, only_failed=only_failed)
        answer = self._session.call_json(
            lambda: self._runs.clear_dag_run_without_preload_content(dag_id, run_id, body)
        )
        # a real clear answers with the run, not its task instances
        tasks = answer.get("task_instances") if isinstance(answer, Mapping) else None
        return [ti["task_id"] for ti in tasks or [] if isinstance(ti, Mapping) and "task_id" in ti]

    # -- task instances ------------------------------------------------------------------------

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskInstance]:
        def page(limit: int, offset: int) -> Any:
            return self._call(
                lambda: self._tasks.get_task_instances(
                    dag_id, run_id, limit=limit, offset=offset, order_by=["start_date"]
                )
            )

        return [TaskInstance.from_model(ti) for ti in _paged(page, "task_instances")]

    def task_instances_batch(
        self, dag_ids: Sequence[str], run_ids: Sequence[str], limit: int = 1000
    ) -> list[TaskInstance]:
        """The task instances of many runs in one call (`POST /dags/~/dagRuns/~/taskInstances
        /list`): every one whose DAG is in `dag_ids` and run id in `run_ids`."""
        body = TaskInstancesBatchBody(
            dag_ids=list(dag_ids), dag_run_ids=list(run_ids), page_limit=limit
        )
        page = self._call(lambda: self._tasks.get_task_instances_batch(ALL_DAGS, ALL_DAGS, body))
        return [TaskInstance.from_model(ti) for ti in page.task_instances]

    def xcom_return_value(self, dag_id: str, run_id: str, task_id: str) -> Any:
        """A task's return value (JSON), or None if it returned nothing."""
        entry = self._optional(
            lambda: self._xcoms.get_xcom_entry(
                dag_id, task_id, run_id, "return_value", deserialize=True
            )
        )
        return getattr(entry.actual_instance, "value", None) if entry is not None else None

    def xcom_values(
        self, dag_id: str, key: str, limit: int, *, run_id: str = ALL_DAGS
    ) -> list[tuple[str, str, Any]]:
        """The newest `limit` XComs named `key` of any task of `dag_id` (of one run, or of
        any), as `(run_id, task_id, value)`: one listing, then one read per entry found."""
        page = self._call(
            lambda: self._xcoms.get_xcom_entries(
                dag_id, run_id, ALL_DAGS, xcom_key=key, limit=limit, order_by=["-timestamp"]
            )
        )
        found = []
        for entry in page.xcom_entries or []:
            value = self._optional(
                lambda e=entry: self._xcoms.get_xcom_entry(
                    dag_id, e.task_id, e.run_id, key, deserialize=True
                )
            )
            if value is not None:
                found.append((entry.run_id, entry.task_id, value.actual_instance.value))
        return found

    def task_error(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str | None:
        """The exception a failed try ended with (`Type: message`), from its structured log.

        Decoded here: the generated log model keeps only `event` and `timestamp` of a line,
        not its `level` and `error_detail`."""
        try:
            log = self._session.call_json(
                lambda: self._tasks.get_log_without_preload_content(
                    dag_id, run_id, task_id, try_number, full_content=True
                )
            )
        except AirflowApiError as error:
            if error.status_code == 404:
                return None
            raise
        content = log.get("content") if isinstance(log, Mapping) else None
        return last_error(content) if isinstance(content, list) else None

    def task_log_url(self, dag_id: str, run_id: str, task_id: str) -> str:
        """The Airflow UI page of one task instance (its log is one click away)."""
        return f"{self.base_url}/dags/{_seg(dag_id)}/runs/{_seg(run_id)}/tasks/{_seg(task_id)}"

    def run_url(self, dag_id: str, run_id: str) -> str:
        return f"{self.base_url}/dags/{_seg(dag_id)}/runs/{_seg(run_id)}"

    # -- connections ---------------------------------------------------------------------------

    def get_connection(self, conn_id: str) -> Mapping[str, Any] | None:
        conn = self._optional(lambda: self._connections.get_connection(conn_id))
        return conn.to_dict() if conn is not None else None

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
        data: dict[str, Any] = {"connection_id": conn_id, "conn_type": conn_type, **fields}
        if description is not None:
            data["description"] = description
        unknown = set(data) - set(ConnectionBody.model_fields) - {"schema"}
        if unknown:
            raise ValueError(f"not fields of an Airflow connection: {sorted(unknown)}")
        body = ConnectionBody.from_dict(data)
        mask = ["conn_type", *fields, *(["description"] if description is not None else [])]
        updated = self._optional(
            lambda: self._connections.patch_connection(conn_id, body, update_mask=mask)
        )
        if updated is not None:
            return False
        self._call(lambda: self._connections.post_connection(body))
        return True

    def delete_connection(self, conn_id: str) -> bool:
        """Delete; False if there was nothing to delete."""
        deleted = self._optional(lambda: self._connections.delete_connection(conn_id) or True)
        return deleted is not None
