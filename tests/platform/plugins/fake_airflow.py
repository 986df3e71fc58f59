"""A small in-memory stand-in for Airflow's REST API v2, served through `httpx.MockTransport`.

Only the endpoints the plugin's read paths and pause/resume use; deploy and remove run against
the real Airflow of the `stack` fixture instead. Every request is recorded so tests can assert
that nothing was written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import httpx

from integration_platform.integrations.model import Integration
from tests.support import airflow_payloads

NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


@dataclass
class FakeAirflow:
    dags: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    task_instances: list[dict[str, Any]] = field(default_factory=list)
    xcoms: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    """Return values by (dag, run, task); other keys in `keyed_xcoms` by (dag, run, task, key)."""
    keyed_xcoms: dict[tuple[str, str, str, str], Any] = field(default_factory=dict)
    connections: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    readable: set[str] | None = None
    forbidden: tuple[str, ...] = ()
    """Path fragments answered 403, as Airflow answers a role without that permission."""
    """DAG ids the caller may read, as Airflow answers a user with per-DAG roles (None: all)."""

    # -- building state ------------------------------------------------------------------------

    def add_instance_dags(
        self, integration: Integration, instance_id: str, paused: bool = False
    ) -> None:
        for flow in integration.flows:
            dag_id = integration.dag_id(instance_id, flow.slug)
            self.dags[dag_id] = airflow_payloads.dag(
                dag_id,
                is_paused=paused,
                file_token=f"token-{instance_id}",
                fileloc="/dags/acme_erp_shard_0.py",
                tags=[f"integration:{integration.slug}", f"instance:{instance_id}"],
                last_parsed_time=NOW.isoformat(),
            )

    def add_run(
        self,
        dag_id: str,
        run_id: str,
        state: str,
        *,
        minutes_ago: int,
        conf: dict[str, Any] | None = None,
        tasks: dict[str, str] | None = None,
    ) -> None:
        start = NOW - timedelta(minutes=minutes_ago)
        self.runs.append(
            airflow_payloads.dag_run(
                dag_id,
                run_id,
                state=state,
                queued_at=start.isoformat(),
                start_date=start.isoformat(),
                end_date=(start + timedelta(seconds=42)).isoformat(),
                run_after=start.isoformat(),
                duration=42.0,
                conf=conf or {},
            )
        )
        for offset, (task_id, task_state) in enumerate((tasks or {}).items()):
            self.task_instances.append(
                airflow_payloads.task_instance(
                    dag_id,
                    run_id,
                    task_id,
                    state=task_state,
                    start_date=(start + timedelta(seconds=offset)).isoformat(),
                    end_date=(start + timedelta(seconds=offset + 1)).isoformat(),
                    duration=1.0,
                )
            )

    # -- serving -------------------------------------------------------------------------------

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [
            (m, p)
            for m, p in self.requests
            if m != "GET" and not p.endswith("/list") and p != "/auth/token"
        ]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.path)
        self.requests.append((request.method, path))
        body = json.loads(request.content) if request.content else {}
        parts = path.removeprefix("/api/v2/").split("/")
        if any(fragment in path for fragment in self.forbidden):
            return httpx.Response(403, json={"detail": "Forbidden"})
        if path == "/auth/token":
            return httpx.Response(201, json={"access_token": "fake-token"})
        if path == "/api/v2/dags" and request.method == "GET":
            tags = set(request.url.params.get_list("tags"))
            dags = [d for d in self.dags.values() if tags <= {t["name"] for t in d["tags"]}]
            dags = [d for d in dags if self.readable is None or d["dag_id"] in self.readable]
            return httpx.Response(200, json={"dags": dags, "total_entries": len(dags)})
        if path == "/api/v2/dags/~/dagRuns/list":
            runs = [r for r in self._newest_first() if r["dag_id"] in body.get("dag_ids", [])]
            runs = runs[: body.get("page_limit", 100)]
            return httpx.Response(200, json={"dag_runs": runs, "total_entries": len(runs)})
        if path == "/api/v2/dags/~/dagRuns/~/taskInstances/list":
            tis = [
                t
                for t in self.task_instances
                if t["dag_id"] in body["dag_ids"] and t["dag_run_id"] in body["dag_run_ids"]
            ]
            return httpx.Response(200, json={"task_instances": tis, "total_entries": len(tis)})
        if parts[0] == "dags":
            answer = self._dag_path(request, parts, body)
            if answer is not None:
                return answer
        if parts[0] == "connections" and len(parts) == 2:
            conn = self.connections.get(parts[1])
            if conn is None:
                return httpx.Response(404, json={"detail": "no connection"})
            return httpx.Response(200, json=conn)
        return httpx.Response(404, json={"detail": f"fake Airflow has no {request.method} {path}"})

    def _dag_path(
        self, request: httpx.Request, parts: list[str], body: dict[str, Any]
    ) -> httpx.Response | None:
        """`/dags/{dag}`, its runs, task instances and XComs (None: not one of those)."""
        if len(parts) == 2:
            dag = self.dags.get(parts[1])
            if dag is None:
                return httpx.Response(404, json={"detail": "not found"})
            if request.method == "PATCH":
                dag["is_paused"] = body["is_paused"]
            return httpx.Response(200, json=dag)
        if len(parts) == 3 and parts[2] == "dagRuns":
            runs = [r for r in self._newest_first() if r["dag_id"] == parts[1]]
            states = request.url.params.get_list("state")
            runs = [r for r in runs if not states or r["state"] in states]
            return httpx.Response(200, json={"dag_runs": runs, "total_entries": len(runs)})
        if len(parts) == 4 and parts[2] == "dagRuns":
            run = next(
                (r for r in self.runs if (r["dag_id"], r["dag_run_id"]) == (parts[1], parts[3])),
                None,
            )
            if run is None:
                return httpx.Response(404, json={"detail": "no such run"})
            return httpx.Response(200, json=run)
        if len(parts) == 5 and parts[4] == "taskInstances":
            tis = [
                t
                for t in self.task_instances
                if (t["dag_id"], t["dag_run_id"]) == (parts[1], parts[3])
            ]
            return httpx.Response(200, json={"task_instances": tis, "total_entries": len(tis)})
        if len(parts) == 7 and parts[6] == "xcomEntries":
            return self._list_xcoms(parts[1], parts[3], request.url.params)
        if len(parts) == 8 and parts[6] == "xcomEntries":
            return self._get_xcom(*parts[1:8:2])
        return None

    def _get_xcom(self, dag_id: str, run_id: str, task_id: str, key: str) -> httpx.Response:
        if key == "return_value":
            value = self.xcoms.get((dag_id, run_id, task_id))
        else:
            value = self.keyed_xcoms.get((dag_id, run_id, task_id, key))
        if value is None:
            return httpx.Response(404, json={"detail": "no xcom"})
        entry = {**airflow_payloads.xcom(dag_id, run_id, task_id, value), "key": key}
        return httpx.Response(200, json=entry)

    def _list_xcoms(self, dag_id: str, run_id: str, params: httpx.QueryParams) -> httpx.Response:
        """`GET /dags/{dag}/dagRuns/{run|~}/taskInstances/~/xcomEntries?xcom_key=` (no values,
        as Airflow answers), the newest run first."""
        after = {r["dag_run_id"]: r["run_after"] for r in self.runs if r["dag_id"] == dag_id}
        found = [
            {**airflow_payloads.xcom(d, r, t, None), "key": k}
            for (d, r, t, k) in self.keyed_xcoms
            if d == dag_id and run_id in ("~", r) and k == params.get("xcom_key", k)
        ]
        found.sort(key=lambda e: after.get(e["run_id"], ""), reverse=True)
        found = found[: int(params.get("limit", 100))]
        for entry in found:
            del entry["value"]
        return httpx.Response(200, json={"xcom_entries": found, "total_entries": len(found)})

    def _newest_first(self) -> list[dict[str, Any]]:
        return sorted(self.runs, key=lambda r: r["run_after"], reverse=True)
