"""The stub Airflow's scheduler: runs move queued -> running -> success over time."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


class Scheduler:
    """Moves runs queued -> running -> success: at most `slots` running (0: unlimited),
    each queued at least `start_delay` seconds, running `run_s` seconds. Runs of a paused
    DAG stay queued (as in Airflow) without holding up the others."""

    def __init__(self, slots: int, run_s: float, start_delay: float) -> None:
        self.slots, self.run_s, self.start_delay = slots, run_s, start_delay
        self.queued: list[dict[str, Any]] = []
        self.running: list[dict[str, Any]] = []
        self.peak_queued = 0
        self.started = 0
        self.finished = 0
        self.paused_dags: set[str] = set()

    def add(self, run: dict[str, Any]) -> None:
        run["_queued_at"] = time.monotonic()
        self.queued.append(run)
        self.peak_queued = max(self.peak_queued, len(self.queued))

    def tick(self) -> None:
        now = time.monotonic()
        for run in [r for r in self.running if now - r["_started_at"] >= self.run_s]:
            self.running.remove(run)
            run.update(state="success", end_date=iso_now())
            self.finished += 1
        for run in [r for r in self.queued if r["dag_id"] not in self.paused_dags]:
            if self.slots and len(self.running) >= self.slots:
                break
            if now - run["_queued_at"] < self.start_delay:
                break
            self.queued.remove(run)
            run.update(state="running", start_date=iso_now(), _started_at=now)
            self.running.append(run)
            self.started += 1

    def configure(self, body: dict[str, Any]) -> None:
        """Change the capacity mid-run: `run_slots`, `run_ms`, `start_delay_ms`; pause
        DAGs (`paused_dags`); `reset_peak` starts the queued-runs peak over from now."""
        if "run_slots" in body:
            self.slots = int(body["run_slots"])
        if "run_ms" in body:
            self.run_s = float(body["run_ms"]) / 1000
        if "start_delay_ms" in body:
            self.start_delay = float(body["start_delay_ms"]) / 1000
        if "paused_dags" in body:
            self.paused_dags = set(body["paused_dags"])
        if body.get("reset_peak"):
            self.peak_queued = len(self.queued)

    async def loop(self) -> None:
        while True:
            self.tick()
            await asyncio.sleep(0.01)
