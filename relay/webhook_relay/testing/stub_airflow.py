"""A stand-in for Airflow's REST API v2, run as a real process in tests and benchmarks.

It answers the endpoints the relay uses as Airflow 3.3 does: `POST /auth/token`
(201 + JWT-ish token, 401 on bad credentials), `POST /api/v2/dags/{dag_id}/dagRuns`
(200 queued run, 409 duplicate run id, 404 unknown DAG, 400 import errors, 401 bad/expired
token, 422 for a body that is not `logical_date` + known keys, 400 when the DAG's params
reject the conf), `POST /api/v2/dags/~/dagRuns/list` (runs by `dag_ids` and `states`,
paged, at most 100 a page) and `POST /api/v2/dags/~/dagRuns/~/taskInstances/list` (by
`dag_ids`, `dag_run_ids` and `state`). Trigger latency and concurrency are configurable so a
benchmark can mimic a real api-server (about 70 triggers/s on this machine), and so is the
scheduler: each run is queued at least `--start-delay-ms`, then, as in Airflow, running while
its task waits for one of `--run-slots` (0: any number) and runs `--run-ms`
(`webhook_relay.testing.stub_scheduler`); a test can change the capacity mid-run. `/_stub/*`
lets a test inspect runs and inject faults.

    python -m webhook_relay.testing.stub_airflow --port 8080 --latency-ms 30-60 --capacity 3 \
        --run-slots 4 --run-ms 1500 --start-delay-ms 300
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import secrets
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from webhook_relay.testing.stub_scheduler import Scheduler, iso_now

ALLOWED_TRIGGER_KEYS = {
    "dag_run_id",
    "logical_date",
    "data_interval_start",
    "data_interval_end",
    "run_after",
    "conf",
    "note",
}


class StubState:
    def __init__(self, args: argparse.Namespace) -> None:
        self.username = args.username
        self.password = args.password
        low, _, high = args.latency_ms.partition("-")
        self.latency = (float(low) / 1000, float(high or low) / 1000)
        self.capacity = asyncio.Semaphore(args.capacity) if args.capacity else None
        self.tokens: set[str] = set()
        self.runs: dict[tuple[str, str], dict[str, Any]] = {}
        self.attempts: list[dict[str, Any]] = []
        self.token_requests = 0
        self.missing_dags: set[str] = set()
        self.reject_conf_dags: set[str] = set()
        self.fail_next: dict[str, list[dict[str, Any]]] = {}
        self.hold_dags: set[str] = set()
        self.released = asyncio.Event()
        self.held = 0
        self.import_error_dags: set[str] = set()
        self.reject_event_ids: set[str] = set()
        self.scheduler = Scheduler(args.run_slots, args.run_ms / 1000, args.start_delay_ms / 1000)
        self.list_calls = 0
        self.task_list_calls = 0


class StubApi:
    """The handlers, over one `StubState`."""

    def __init__(self, state: StubState) -> None:
        self.state = state

    async def token(self, request: Request) -> JSONResponse:
        state = self.state
        state.token_requests += 1
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"detail": "Invalid JSON"}, 422)
        if body.get("username") != state.username or body.get("password") != state.password:
            return JSONResponse({"detail": "Invalid credentials"}, 401)
        access = secrets.token_urlsafe(24)
        state.tokens.add(access)
        return JSONResponse({"access_token": access}, 201)

    async def trigger(self, request: Request) -> JSONResponse:
        if self.state.capacity is None:
            return await self._trigger(request)
        async with self.state.capacity:
            return await self._trigger(request)

    async def _trigger(self, request: Request) -> JSONResponse:
        state = self.state
        if state.latency[1] > 0:
            await asyncio.sleep(random.uniform(*state.latency))
        dag_id = request.path_params["dag_id"]
        body, invalid = await self._valid_body(request)
        if invalid is not None:
            return invalid
        run_id = body.get("dag_run_id") or f"manual__{iso_now()}"
        attempt = {
            "dag_id": dag_id,
            "dag_run_id": run_id,
            "conf": body.get("conf"),
            "at": iso_now(),
        }
        state.attempts.append(attempt)

        queued = state.fail_next.get(dag_id)
        failure = queued.pop(0) if queued else None
        if failure and not failure.get("after_create"):
            attempt["status"] = failure["status"]
            return _failure_response(failure)
        refusal = self._refusal(dag_id, run_id, body)
        if refusal is not None:
            attempt["status"] = refusal.status_code
            return refusal
        run = _new_run(dag_id, run_id, body)
        state.runs[(dag_id, run_id)] = run
        state.scheduler.add(run)
        if failure:  # the run exists, but the caller never learns it (lost response)
            attempt["status"] = failure["status"]
            return _failure_response(failure)
        if dag_id in state.hold_dags:
            state.held += 1
            try:
                await state.released.wait()
            finally:
                state.held -= 1
        attempt["status"] = 200
        return JSONResponse(_public(run), 200)

    async def _valid_body(self, request: Request) -> tuple[dict[str, Any], JSONResponse | None]:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return {}, JSONResponse({"detail": "Not authenticated"}, 401)
        if auth.removeprefix("Bearer ") not in self.state.tokens:
            return {}, JSONResponse({"detail": "Token Expired"}, 401)
        try:
            body = await request.json()
        except ValueError:
            return {}, JSONResponse({"detail": "Invalid JSON"}, 422)
        if not isinstance(body, dict) or "logical_date" not in body:
            return {}, JSONResponse({"detail": [{"loc": ["body", "logical_date"]}]}, 422)
        extra = set(body) - ALLOWED_TRIGGER_KEYS
        if extra or not isinstance(body.get("conf", {}), dict):
            return {}, JSONResponse({"detail": [{"loc": ["body", *sorted(extra)]}]}, 422)
        return body, None

    def _refusal(self, dag_id: str, run_id: str, body: dict[str, Any]) -> JSONResponse | None:
        """Airflow's answers for a DAG it cannot trigger, a conf it refuses, a known run id."""
        state = self.state
        if dag_id in state.missing_dags:
            return JSONResponse({"detail": f"The Dag with ID: `{dag_id}` was not found"}, 404)
        if dag_id in state.import_error_dags:
            detail = f"Dag with dag_id: '{dag_id}' has import errors and cannot be triggered"
            return JSONResponse({"detail": detail}, 400)
        if dag_id in state.reject_conf_dags:
            return JSONResponse({"detail": "Invalid input for param customer: required"}, 400)
        events = (body.get("conf") or {}).get("events", [])
        refused = [e.get("id") for e in events if e.get("id") in state.reject_event_ids]
        if refused:
            detail = f"Invalid input for param events: event {refused[0]} is malformed"
            return JSONResponse({"detail": detail}, 400)
        if (dag_id, run_id) in state.runs:
            conflict = {
                "reason": "Unique constraint violation",
                "statement": "INSERT INTO dag_run ...",
                "orig_error": f"duplicate key value ({dag_id}, {run_id})",
            }
            return JSONResponse({"detail": conflict}, 409)
        return None

    async def _listing_body(self, request: Request) -> dict[str, Any] | None:
        """The body of a bulk listing, or None when the token is not one we issued."""
        auth = request.headers.get("authorization", "").removeprefix("Bearer ")
        return await request.json() if auth in self.state.tokens else None

    async def list_runs(self, request: Request) -> JSONResponse:
        """`POST /api/v2/dags/~/dagRuns/list`: filters `dag_ids`, `states`; paged."""
        state = self.state
        body = await self._listing_body(request)
        if body is None:
            return JSONResponse({"detail": "Token Expired"}, 401)
        state.list_calls += 1
        dag_ids = set(body["dag_ids"]) if body.get("dag_ids") is not None else None
        states = set(body["states"]) if body.get("states") is not None else None
        matching = [
            _public(r)
            for r in state.runs.values()
            if (dag_ids is None or r["dag_id"] in dag_ids)
            and (states is None or r["state"] in states)
        ]
        return _page(body, "dag_runs", matching)

    async def list_task_instances(self, request: Request) -> JSONResponse:
        """`POST /api/v2/dags/~/dagRuns/~/taskInstances/list`: filters `dag_ids`,
        `dag_run_ids`, `state` (null: no status yet); paged."""
        state = self.state
        body = await self._listing_body(request)
        if body is None:
            return JSONResponse({"detail": "Token Expired"}, 401)
        state.task_list_calls += 1
        dag_ids, run_ids = body.get("dag_ids"), body.get("dag_run_ids")
        runs = [
            r
            for r in state.runs.values()
            if (dag_ids is None or r["dag_id"] in dag_ids)
            and (run_ids is None or r["dag_run_id"] in run_ids)
        ]
        states = body.get("state")
        matching = [
            ti
            for ti in state.scheduler.task_instances(runs)
            if states is None or ti["state"] in states
        ]
        return _page(body, "task_instances", matching)

    async def runs(self, _request: Request) -> JSONResponse:
        state = self.state
        return JSONResponse(
            {
                "runs": [_public(r) for r in state.runs.values()],
                "attempts": state.attempts,
                "token_requests": state.token_requests,
                "held": state.held,
            }
        )

    async def summary(self, _request: Request) -> JSONResponse:
        state, scheduler = self.state, self.state.scheduler
        return JSONResponse(
            {
                "runs": len(state.runs),
                "events": sum(len(r["conf"].get("events", [])) for r in state.runs.values()),
                "attempts": len(state.attempts),
                "queued": scheduler.waiting,  # waiting to start: queued, or task scheduled
                "running": len(scheduler.running),
                "started": scheduler.started,
                "finished": scheduler.finished,
                "peak_queued": scheduler.peak_queued,
                "list_calls": state.list_calls,
                "task_list_calls": state.task_list_calls,
            }
        )

    async def configure(self, request: Request) -> JSONResponse:
        body = await request.json()
        state = self.state
        for key in ("missing_dags", "reject_conf_dags", "import_error_dags", "reject_event_ids"):
            if key in body:  # reject_event_ids: 400 for any conf holding one of these events
                setattr(state, key, set(body[key]))
        if "fail_next" in body:  # {dag_id: [{"status", "retry_after", "after_create"}]}
            state.fail_next.update({k: list(v) for k, v in body["fail_next"].items()})
        state.scheduler.configure(body)  # run_slots, run_ms, start_delay_ms, reset_peak
        if body.get("expire_tokens"):
            state.tokens.clear()
        if "hold_dags" in body:  # answer these DAGs' triggers only when released
            state.hold_dags = set(body["hold_dags"])
            if state.hold_dags:
                state.released.clear()
            else:
                state.released.set()
        return JSONResponse({"ok": True})

    async def health(self, _request: Request) -> JSONResponse:
        return JSONResponse({"status": "healthy"})


def create_app(args: argparse.Namespace) -> Starlette:
    state = StubState(args)
    api = StubApi(state)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        ticker = asyncio.create_task(state.scheduler.loop())
        try:
            yield
        finally:
            ticker.cancel()

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route("/auth/token", api.token, methods=["POST"]),
            Route("/api/v2/dags/~/dagRuns/list", api.list_runs, methods=["POST"]),
            Route(
                "/api/v2/dags/~/dagRuns/~/taskInstances/list",
                api.list_task_instances,
                methods=["POST"],
            ),
            Route("/api/v2/dags/{dag_id}/dagRuns", api.trigger, methods=["POST"]),
            Route("/api/v2/monitor/health", api.health, methods=["GET"]),
            Route("/_stub/runs", api.runs, methods=["GET"]),
            Route("/_stub/summary", api.summary, methods=["GET"]),
            Route("/_stub/configure", api.configure, methods=["POST"]),
        ],
    )


def _new_run(dag_id: str, run_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "dag_run_id": run_id,
        "dag_id": dag_id,
        "logical_date": None,
        "queued_at": iso_now(),
        "start_date": None,
        "end_date": None,
        "data_interval_start": None,
        "data_interval_end": None,
        "run_after": iso_now(),
        "last_scheduling_decision": None,
        "run_type": "manual",
        "state": "queued",
        "triggered_by": "rest_api",
        "conf": body.get("conf") or {},
        "note": body.get("note"),
        "dag_versions": [],
        "bundle_version": None,
        "dag_display_name": dag_id,
    }


def _page(body: dict[str, Any], key: str, matching: list[dict[str, Any]]) -> JSONResponse:
    """One page of a listing, as Airflow pages them (at most 100)."""
    offset = int(body.get("page_offset", 0))
    limit = min(int(body.get("page_limit", 100)), 100)
    return JSONResponse({key: matching[offset : offset + limit], "total_entries": len(matching)})


def _public(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if not k.startswith("_")}


def _failure_response(failure: dict[str, Any]) -> JSONResponse:
    headers = {}
    if failure.get("retry_after") is not None:
        headers["Retry-After"] = str(failure["retry_after"])
    return JSONResponse({"detail": "injected failure"}, failure["status"], headers=headers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--latency-ms", default="0", help="per trigger, e.g. 30-60")
    parser.add_argument("--capacity", type=int, default=0, help="concurrent triggers (0: any)")
    parser.add_argument("--run-slots", type=int, default=0, help="runs at a time (0: any)")
    parser.add_argument("--run-ms", type=float, default=0.0, help="how long a run runs")
    parser.add_argument("--start-delay-ms", type=float, default=0.0, help="least time queued")
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(args),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        backlog=4096,
    )


if __name__ == "__main__":
    main()
