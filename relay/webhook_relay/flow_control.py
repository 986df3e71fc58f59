"""Flow control: how many runs the relay lets wait in Airflow, and what Airflow is doing.

Airflow runs a bounded number of DAG runs per second (scheduler loop, executor slots,
`parallelism`); a run requested faster than that only waits in Airflow's queue, and a
batch's events wait with it. So the relay keeps its runs *waiting to start* (being sent, or
queued in Airflow) within two bounds, and lets events join the next batch meanwhile:

- per route, at most `max_waiting_runs` (K, default 1): under load a route's batches grow
  instead of its runs;
- over all routes, a window `W` adapted by additive increase / multiplicative decrease on
  what Airflow is seen to do: every run that starts adds 1/W (about +1 per window of
  starts), and when the oldest queued run has waited longer than Airflow's own start
  latency (the least queue time seen over the last ten minutes) plus the target, Airflow is
  saturated and the window halves, at most once per target period. Measuring against the
  base latency (as LEDBAT does) keeps a slow but idle Airflow from closing the window. Errors that signal
  overload (5xx, 429, timeouts) halve it too. The rate of new run requests thus follows the
  rate at which Airflow starts runs, whatever N instances share it.

A run waits to start until its first task does: Airflow marks a DAG run `running` as soon as
`max_active_runs` allows, while its task still waits for an executor slot (measured on this
project's stack under load: 1.5 s as a queued run, then 22 to 55 s as a scheduled or queued
task). So `RunTracker` reads the states of all tracked runs in one bulk call per poll, then,
for the runs Airflow calls running that have not been seen to start, which of them have a
started task (a second bulk call); until a task starts, a run counts as queued.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
from dataclasses import dataclass, field

from webhook_relay.airflow_client import AirflowClient
from webhook_relay.store.repository import Store, TrackedRun
from webhook_relay.store.statements import QUEUED, RUNNING

log = logging.getLogger(__name__)


STUCK_TARGETS = 30
BASE_WINDOW_S = 600.0  # how long a measured start latency counts towards the base (LEDBAT: 10 min)


@dataclass
class Observation:
    """What one poll saw: runs that left the queue, and the oldest queued run's wait."""

    started: int = 0
    queued_ages: list[float] = field(default_factory=list)  # seconds each has been queued
    start_delays: list[float] = field(default_factory=list)  # queue time of runs that left
    tracked: int = 0

    @property
    def queued(self) -> int:
        return len(self.queued_ages)


class FlowWindow:
    """The AIMD window over runs waiting to start, across all routes."""

    def __init__(self, initial: float, maximum: float, queue_target_s: float) -> None:
        self.size = min(initial, maximum)
        self.maximum = maximum
        self.target = queue_target_s
        # A run queued this long waits for something else than capacity (a paused DAG, a
        # DAG at max_active_runs): it keeps its route's K but leaves the window and the
        # congestion signal, so one stuck DAG cannot stall every route.
        self.stuck_s = STUCK_TARGETS * queue_target_s
        self._delays: collections.deque[tuple[float, float]] = collections.deque()
        self._last_decrease = -math.inf
        self.limited = False  # the window, not the demand, bounded the last cycle

    def budget(self, waiting: int) -> int:
        """New runs that may be requested now, given `waiting` runs not yet started."""
        return max(0, math.floor(self.size) - waiting)

    @property
    def base_delay(self) -> float:
        """Airflow's start latency without contention: the least recent queue time."""
        return min((d for _, d in self._delays), default=0.0)

    def observe(self, seen: Observation, now: float) -> None:
        for delay in seen.start_delays:
            self._delays.append((now, delay))
        while self._delays and self._delays[0][0] < now - BASE_WINDOW_S:
            self._delays.popleft()
        base = self.base_delay
        ages = (a for a in seen.queued_ages if a <= base + self.stuck_s)
        oldest = max(ages, default=None)
        if oldest is not None and oldest > base + self.target:
            self.decrease(now, f"a run queued {oldest:.1f}s, base {base:.1f}s")
        elif seen.started and self.limited:
            self.size = min(self.maximum, self.size + seen.started / self.size)

    def decrease(self, now: float, why: str) -> None:
        """Halve, once per target period (one congestion episode, one decrease)."""
        if now - self._last_decrease < self.target:
            return
        self._last_decrease = now
        before = self.size
        self.size = max(1.0, self.size / 2)
        if self.size != before:
            log.info("flow window %.1f -> %.1f (%s)", before, self.size, why)


class RunTracker:
    """Polls Airflow for the relay's unfinished runs and records their states."""

    def __init__(self, store: Store, client: AirflowClient, state_timeout_s: float) -> None:
        self.store = store
        self.client = client
        self.state_timeout_s = state_timeout_s
        self._last_ok: float | None = None
        self._tasks_readable = True  # False while task states cannot be read (warned once)

    async def poll(self, now: float) -> Observation:
        tracked = await asyncio.to_thread(self.store.tracked_runs)
        if not tracked:
            self._last_ok = now
            return Observation()
        try:
            states = await self.client.unfinished_runs([r.dag_id for r in tracked])
        except Exception as exc:  # any failure: keep the states we knew
            await self._on_list_failure(tracked, now, exc)
            return Observation(tracked=len(tracked))
        self._last_ok = now
        await self._hold_until_a_task_starts(tracked, states)
        changes, seen = diff_states(tracked, states, now)
        await asyncio.to_thread(self.store.set_run_states, changes, now)
        return seen

    async def _hold_until_a_task_starts(
        self, tracked: list[TrackedRun], states: dict[tuple[str, str], str]
    ) -> None:
        """Report as queued the runs Airflow calls running whose tasks all still wait for an
        executor slot. If the tasks cannot be read (e.g. the relay's Airflow user may not
        read task instances), the run states alone decide, with a warning."""
        unconfirmed = [
            key
            for run in tracked
            if run.state == QUEUED and states.get(key := (run.dag_id, run.dag_run_id)) == RUNNING
        ]
        if not unconfirmed:
            return
        try:
            started = await self.client.started_runs(unconfirmed)
        except Exception as exc:
            if self._tasks_readable:  # once per outage, not at every poll
                log.warning("reading task states from Airflow failed: %s", str(exc)[:300])
            self._tasks_readable = False
            return
        if not self._tasks_readable:
            log.info("reading task states from Airflow works again")
        self._tasks_readable = True
        for key in unconfirmed:
            if key not in started:
                states[key] = QUEUED

    async def _on_list_failure(self, tracked: list[TrackedRun], now: float, exc: Exception) -> None:
        """Without run states, routes stay blocked by their queued runs; after
        `state_timeout_s` without a listing (e.g. the relay's Airflow user may not read
        runs) stop tracking, so delivery goes on at the cost of flow control."""
        log.warning("reading run states from Airflow failed: %s", str(exc)[:300])
        if self._last_ok is None:
            self._last_ok = now
        if now - self._last_ok > self.state_timeout_s:
            log.error(
                "no run states for %.0fs: no longer tracking %d runs",
                now - self._last_ok,
                len(tracked),
            )
            untrack = {r.batch_id: (r.state, None) for r in tracked}
            await asyncio.to_thread(self.store.set_run_states, untrack, now)


def diff_states(
    tracked: list[TrackedRun], unfinished: dict[tuple[str, str], str], now: float
) -> tuple[dict[str, tuple[str, str | None]], Observation]:
    """Changes to record ({batch id: (old, new)}) and what they mean for flow control. A
    tracked run missing from Airflow's list of unfinished runs has finished."""
    changes: dict[str, tuple[str, str | None]] = {}
    seen = Observation(tracked=len(tracked))
    for run in tracked:
        state = unfinished.get((run.dag_id, run.dag_run_id))
        new = state if state in (QUEUED, RUNNING) else None
        if new == QUEUED:
            since = run.since if run.state == QUEUED else now
            seen.queued_ages.append(now - since)
        if new != run.state:
            changes[run.batch_id] = (run.state, new)
            if run.state == QUEUED:
                seen.started += 1
                seen.start_delays.append(now - run.since)
    return changes, seen
