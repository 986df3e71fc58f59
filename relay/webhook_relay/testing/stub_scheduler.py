"""The stub Airflow's scheduler, with Airflow 3's two queues.

As in Airflow, a DAG run leaves the `queued` state as soon as the scheduler starts it
(`max_active_runs` allowing), while its task waits for an executor slot as a `scheduled`
task instance: a run's state says nothing about capacity, its first task's does. Measured
on this project's stack under load: 1.5 s as a queued run, then 22 to 55 s as a waiting task.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

TASK_ID = "sync"  # each stub run has one task


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


class Scheduler:
    """Moves runs queued -> running (task scheduled -> running) -> success: each run
    queued at least `start_delay` seconds, then its task waits for one of `slots` (0:
    unlimited) and runs `run_s` seconds. Runs of a paused DAG stay queued (as in Airflow)
    without holding up the others."""

    def __init__(self, slots: int, run_s: float, start_delay: float) -> None:
        self.slots, self.run_s, self.start_delay = slots, run_s, start_delay
        self.queued: list[dict[str, Any]] = []  # run state queued
        self.scheduled: list[dict[str, Any]] = []  # run running, its task waiting for a slot
        self.running: list[dict[str, Any]] = []  # its task running
        self.peak_queued = 0  # runs waiting to start: queued, or their task scheduled
        self.started = 0  # tasks started
        self.finished = 0
        self.paused_dags: set[str] = set()

    @property
    def waiting(self) -> int:
        return len(self.queued) + len(self.scheduled)

    def add(self, run: dict[str, Any]) -> None:
        run["_queued_at"] = time.monotonic()
        run["_task_state"] = None
        self.queued.append(run)
        self.peak_queued = max(self.peak_queued, self.waiting)

    def tick(self) -> None:
        now = time.monotonic()
        for run in [r for r in self.running if now - r["_started_at"] >= self.run_s]:
            self.running.remove(run)
            run.update(state="success", end_date=iso_now(), _task_state="success")
            self.finished += 1
        for run in [r for r in self.queued if r["dag_id"] not in self.paused_dags]:
            if now - run["_queued_at"] < self.start_delay:
                break
            self.queued.remove(run)
            run.update(state="running", start_date=iso_now(), _task_state="scheduled")
            self.scheduled.append(run)
        while self.scheduled and not (self.slots and len(self.running) >= self.slots):
            run = self.scheduled.pop(0)
            run.update(_task_state="running", _started_at=now)
            self.running.append(run)
            self.started += 1

    def task_instances(self, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The task instance of each run, as `taskInstances/list` shows it."""
        return [
            {
                "dag_id": r["dag_id"],
                "dag_run_id": r["dag_run_id"],
                "task_id": TASK_ID,
                "state": r["_task_state"],
            }
            for r in runs
        ]

    def configure(self, body: dict[str, Any]) -> None:
        """Change the capacity mid-run: `run_slots`, `run_ms`, `start_delay_ms`; pause
        DAGs (`paused_dags`); `reset_peak` starts the waiting-runs peak over from now."""
        if "run_slots" in body:
            self.slots = int(body["run_slots"])
        if "run_ms" in body:
            self.run_s = float(body["run_ms"]) / 1000
        if "start_delay_ms" in body:
            self.start_delay = float(body["start_delay_ms"]) / 1000
        if "paused_dags" in body:
            self.paused_dags = set(body["paused_dags"])
        if body.get("reset_peak"):
            self.peak_queued = self.waiting

    async def loop(self) -> None:
        while True:
            self.tick()
            await asyncio.sleep(0.01)
