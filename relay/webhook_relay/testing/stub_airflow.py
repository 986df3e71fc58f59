"""A stand-in for Airflow's REST API v2, run as a real process in tests and benchmarks.

It answers the endpoints the relay uses as Airflow 3.3 does: `POST /auth/token`
(201 + JWT-ish token, 401 on bad credentials), `POST /api/v2/dags/{dag_id}/dagRuns`
(200 queued run, 409 duplicate run id, 404 unknown DAG, 400 import errors, 401 bad/expired
token, 422 for a body that is not `logical_date` + known keys, 400 when the DAG's params
reject the conf) and `POST /api/v2/dags/~/dagRuns/list` (runs by `dag_ids` and `states`,
paged, at most 100 a page). Trigger latency and concurrency are configurable so a benchmark
can mimic a real api-server (about 70 triggers/s on this machine), and so is the scheduler:
`--run-slots` runs at a time (0: any number), each queued at least `--start-delay-ms` and
running `--run-ms`, so runs move queued -> running -> success over time as in Airflow, and
a test can change the capacity mid-run. `/_stub/*` lets a test inspect runs and inject
faults.

    python -m webhook_relay.testing.stub_airflow --port 8080 --latency-ms 30-60 --capacity 3 \
        --run-slots 4 --run-ms 1500 --start-delay-ms 300
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

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


class Scheduler:
    """Moves runs queued -> running -> success: at most `slots` running (0: unlimited),
    each queued at least `start_delay` seconds, running `run_s` seconds."""

    def __init__(self, slots: int, run_s: float, start_delay: float) -> None:
        self.slots, self.run_s, self.start_delay = slots, run_s, start_delay
        self.queued: list[dict[str, Any]] = []
        self.running: list[dict[str, Any]] = []
        self.peak_queued = 0
        self.started = 0
        self.finished = 0

    def add(self, run: dict[str, Any]) -> None:
        run["_queued_at"] = time.monotonic()
        self.queued.append(run)
        self.peak_queued = max(self.peak_queued, len(self.queued))

    def tick(self) -> None:
        now = time.monotonic()
        for run in [r for r in self.running if now - r["_started_at"] >= self.run_s]:
            self.running.remove(run)
            run.update(state="success", end_date=_now())
            self.finished += 1
        while self.queued and (not self.slots or len(self.running) < self.slots):
            run = self.queued[0]
            if now - run["_queued_at"] < self.start_delay:
                break
            self.queued.pop(0)
            run.update(state="running", start_date=_now(), _started_at=now)
            self.running.append(run)
            self.started += 1

    async def loop(self) -> None:
        while True:
            self.tick()
            await asyncio.sleep(0.01)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def create_app(args: argparse.Namespace) -> Starlette:
    state = StubState(args)

    async def token(request: Request) -> JSONResponse:
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

    async def trigger(request: Request) -> JSONResponse:
        if state.capacity is None:
            return await _trigger(request)
        async with state.capacity:
            return await _trigger(request)

    async def _trigger(request: Request) -> JSONResponse:
        if state.latency[1] > 0:
            await asyncio.sleep(random.uniform(*state.latency))
        dag_id = request.path_params["dag_id"]
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return JSONResponse({"detail": "Not authenticated"}, 401)
        if auth.removeprefix("Bearer ") not in state.tokens:
            return JSONResponse({"detail": "Token Expired"}, 401)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"detail": "Invalid JSON"}, 422)
        if not isinstance(body, dict) or "logical_date" not in body:
            return JSONResponse({"detail": [{"loc": ["body", "logical_date"]}]}, 422)
        extra = set(body) - ALLOWED_TRIGGER_KEYS
        if extra or not isinstance(body.get("conf", {}), dict):
            return JSONResponse({"detail": [{"loc": ["body", *sorted(extra)]}]}, 422)
        run_id = body.get("dag_run_id") or f"manual__{_now()}"
        attempt = {"dag_id": dag_id, "dag_run_id": run_id, "conf": body.get("conf"), "at": _now()}
        state.attempts.append(attempt)

        queued = state.fail_next.get(dag_id)
        failure = queued.pop(0) if queued else None
        if failure and not failure.get("after_create"):
            attempt["status"] = failure["status"]
            return _failure_response(failure)
        if dag_id in state.missing_dags:
            attempt["status"] = 404
            return JSONResponse({"detail": f"The Dag with ID: `{dag_id}` was not found"}, 404)
        if dag_id in state.import_error_dags:
            attempt["status"] = 400
            return JSONResponse(
                {
                    "detail": f"Dag with dag_id: '{dag_id}' has import errors and cannot be triggered"
                },
                400,
            )
        if dag_id in state.reject_conf_dags:
            attempt["status"] = 400
            return JSONResponse({"detail": "Invalid input for param customer: required"}, 400)
        refused = [
            e.get("id")
            for e in (body.get("conf") or {}).get("events", [])
            if e.get("id") in state.reject_event_ids
        ]
        if refused:
            attempt["status"] = 400
            return JSONResponse(
                {"detail": f"Invalid input for param events: event {refused[0]} is malformed"}, 400
            )
        if (dag_id, run_id) in state.runs:
            attempt["status"] = 409
            return JSONResponse(
                {
                    "detail": {
                        "reason": "Unique constraint violation",
                        "statement": "INSERT INTO dag_run ...",
                        "orig_error": f"duplicate key value ({dag_id}, {run_id})",
                    }
                },
                409,
            )
        run = {
            "dag_run_id": run_id,
            "dag_id": dag_id,
            "logical_date": None,
            "queued_at": _now(),
            "start_date": None,
            "end_date": None,
            "data_interval_start": None,
            "data_interval_end": None,
            "run_after": _now(),
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
        return JSONResponse(run, 200)

    async def list_runs(request: Request) -> JSONResponse:
        """`POST /api/v2/dags/~/dagRuns/list`: filters `dag_ids`, `states`; paged."""
        auth = request.headers.get("authorization", "").removeprefix("Bearer ")
        if auth not in state.tokens:
            return JSONResponse({"detail": "Token Expired"}, 401)
        body = await request.json()
        state.list_calls += 1
        dag_ids = set(body["dag_ids"]) if body.get("dag_ids") is not None else None
        states = set(body["states"]) if body.get("states") is not None else None
        matching = [
            _public(r)
            for r in state.runs.values()
            if (dag_ids is None or r["dag_id"] in dag_ids)
            and (states is None or r["state"] in states)
        ]
        offset = int(body.get("page_offset", 0))
        limit = min(int(body.get("page_limit", 100)), 100)
        return JSONResponse(
            {"dag_runs": matching[offset : offset + limit], "total_entries": len(matching)}
        )

    async def runs(_request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "runs": [_public(r) for r in state.runs.values()],
                "attempts": state.attempts,
                "token_requests": state.token_requests,
                "held": state.held,
            }
        )

    async def summary(_request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "runs": len(state.runs),
                "events": sum(len(r["conf"].get("events", [])) for r in state.runs.values()),
                "attempts": len(state.attempts),
                "queued": len(state.scheduler.queued),
                "running": len(state.scheduler.running),
                "started": state.scheduler.started,
                "finished": state.scheduler.finished,
                "peak_queued": state.scheduler.peak_queued,
                "list_calls": state.list_calls,
            }
        )

    async def configure(request: Request) -> JSONResponse:
        body = await request.json()
        if "missing_dags" in body:
            state.missing_dags = set(body["missing_dags"])
        if "reject_conf_dags" in body:
            state.reject_conf_dags = set(body["reject_conf_dags"])
        if "fail_next" in body:  # {dag_id: [{"status", "retry_after", "after_create"}]}
            state.fail_next.update({k: list(v) for k, v in body["fail_next"].items()})
        if "import_error_dags" in body:
            state.import_error_dags = set(body["import_error_dags"])
        if "reject_event_ids" in body:  # 400 for any conf that holds one of these events
            state.reject_event_ids = set(body["reject_event_ids"])
        for key in ("run_slots", "run_ms", "start_delay_ms"):  # the scheduler's capacity
            if key in body:
                scheduler = state.scheduler
                if key == "run_slots":
                    scheduler.slots = int(body[key])
                elif key == "run_ms":
                    scheduler.run_s = float(body[key]) / 1000
                else:
                    scheduler.start_delay = float(body[key]) / 1000
        if body.get("reset_peak"):
            state.scheduler.peak_queued = len(state.scheduler.queued)
        if body.get("expire_tokens"):
            state.tokens.clear()
        if "hold_dags" in body:  # answer these DAGs' triggers only when released
            state.hold_dags = set(body["hold_dags"])
            if state.hold_dags:
                state.released.clear()
            else:
                state.released.set()
        return JSONResponse({"ok": True})

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "healthy"})

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
            Route("/auth/token", token, methods=["POST"]),
            Route("/api/v2/dags/~/dagRuns/list", list_runs, methods=["POST"]),
            Route("/api/v2/dags/{dag_id}/dagRuns", trigger, methods=["POST"]),
            Route("/api/v2/monitor/health", health, methods=["GET"]),
            Route("/_stub/runs", runs, methods=["GET"]),
            Route("/_stub/summary", summary, methods=["GET"]),
            Route("/_stub/configure", configure, methods=["POST"]),
        ],
    )


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
