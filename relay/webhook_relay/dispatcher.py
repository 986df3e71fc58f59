"""Turn pending events into DAG runs: form batches, lease them, trigger, record outcomes.

Runs inside `serve` or as `webhook-relay dispatch` processes (several on PostgreSQL).
Claims never exceed free sending slots, so a lease only ticks while its batch is in flight.

Two batching modes (`RELAY_BATCH_MODE`): `adaptive` (default) follows Airflow's pace (see
`webhook_relay.flow_control`): an idle route's first event is sent at once, a route has at
most K runs waiting to start, and events that arrive meanwhile join its next batch. `fixed`
forms a batch once the oldest pending event is `RELAY_BATCH_MAX_WAIT_MS` old, whatever
Airflow is doing (kept as the baseline the benchmarks compare against).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import uuid

from webhook_relay import metrics
from webhook_relay.airflow_client import AirflowClient, Outcome, TriggerResult
from webhook_relay.flow_control import FlowWindow, RunTracker
from webhook_relay.settings import RelaySettings
from webhook_relay.store.repository import ClaimedBatch, Store

log = logging.getLogger(__name__)

MIN_CYCLE_S = 0.05  # wake-ups (one per stored event) coalesce into at most 20 cycles/s


def backoff_seconds(attempt: int, base: float, cap: float, retry_after: float | None) -> float:
    """Exponential backoff with jitter (half fixed, half random), at least Retry-After."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, 3600.0))
    return delay


class Dispatcher:
    def __init__(self, settings: RelaySettings, store: Store, client: AirflowClient) -> None:
        self.settings = settings
        self.store = store
        self.client = client
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.adaptive = settings.batch_mode == "adaptive"
        self.window = FlowWindow(
            settings.flow_window_initial,
            settings.flow_window_max,
            settings.flow_queue_target_seconds,
        )
        self.tracker = RunTracker(store, client, settings.run_state_timeout_seconds)
        self._next_poll = 0.0
        self._poll_task: asyncio.Task[None] | None = None
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for work now instead of at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        log.info("dispatcher %s started (%s batching)", self.owner, self.settings.batch_mode)
        poll = self.settings.dispatch_poll_ms / 1000
        while not stop.is_set():
            started = time.monotonic()
            self._wake.clear()  # before the cycle: a wake-up during it means "look again"
            try:
                await self._cycle()
            except Exception:
                log.exception("dispatch cycle failed; retrying")
                await asyncio.sleep(1.0)
            await asyncio.sleep(max(0.0, MIN_CYCLE_S - (time.monotonic() - started)))
            stop_wait = asyncio.ensure_future(stop.wait())
            wake_wait = asyncio.ensure_future(self._wake.wait())
            await asyncio.wait(
                {stop_wait, wake_wait}, timeout=poll, return_when=asyncio.FIRST_COMPLETED
            )
            stop_wait.cancel()
            wake_wait.cancel()
        await self._drain()

    async def _drain(self, timeout: float = 10.0) -> None:
        if self._poll_task is not None:
            self._poll_task.cancel()
        if self._in_flight:
            await asyncio.wait(set(self._in_flight.values()), timeout=timeout)
        left = [bid for bid, task in self._in_flight.items() if not task.done()]
        for task in self._in_flight.values():
            task.cancel()
        await asyncio.to_thread(self.store.release, left, self.owner)
        log.info("dispatcher %s stopped", self.owner)

    async def _cycle(self) -> None:
        now = time.time()
        polling = self._poll_task is not None and not self._poll_task.done()
        if self.adaptive and now >= self._next_poll and not polling:
            self._next_poll = now + self.settings.run_poll_ms / 1000
            self._poll_task = asyncio.create_task(self._poll_runs(now))
        free = self.settings.dispatch_concurrency - len(self._in_flight)
        if free <= 0:
            return
        claimed = await asyncio.to_thread(
            self.store.claim_due_batches,
            owner=self.owner,
            now=now,
            lease_s=self.settings.lease_seconds,
            limit=free,
        )
        free -= len(claimed)
        if free > 0:
            form = self._form_adaptive if self.adaptive else self._form_fixed
            claimed += await asyncio.to_thread(form, now, free)
        for batch in claimed:
            self._start(batch)

    async def _poll_runs(self, now: float) -> None:
        """Read run states (one bulk call) beside the claims, so a slow Airflow answer does
        not hold up sending; a run that started frees its route, so look for work."""
        try:
            seen = await self.tracker.poll(now)
        except Exception:
            log.exception("tracking run states failed")
            return
        self.window.observe(seen, time.time())
        metrics.FLOW_WINDOW.set(self.window.size)
        if seen.started or len(seen.queued_ages) < seen.tracked:
            self.wake()

    def _form_fixed(self, now: float, free: int) -> list[ClaimedBatch]:
        return self.store.form_batches(
            owner=self.owner,
            now=now,
            max_events=self.settings.batch_max_events,
            max_wait_s=self.settings.batch_max_wait_ms / 1000,
            lease_s=self.settings.lease_seconds,
            limit=free,
        )

    def _form_adaptive(self, now: float, free: int) -> list[ClaimedBatch]:
        """One batch per route that may have another waiting run, oldest waiting route
        first, within the flow window; whatever is pending goes in (up to the max size)."""
        routes = self.store.pending_routes()
        if not routes:
            return []
        k = self.settings.max_waiting_runs
        stuck_s = self.window.base_delay + self.window.stuck_s
        waiting = self.store.waiting_by_route(stuck_before=now - stuck_s)
        eligible = [route for route, _ in routes if waiting.get(route, (0, 0))[0] < k]
        budget = self.window.budget(sum(counted for _, counted in waiting.values()))
        self.window.limited = budget < min(free, len(eligible))
        claimed: list[ClaimedBatch] = []
        for route in eligible[: min(free, budget)]:
            batch = self.store.claim_route_batch(
                route,
                owner=self.owner,
                now=now,
                max_events=self.settings.batch_max_events,
                lease_s=self.settings.lease_seconds,
                max_waiting=k,
            )
            if batch is not None:
                claimed.append(batch)
        return claimed

    def _start(self, batch: ClaimedBatch) -> None:
        task = asyncio.create_task(self._send(batch))
        self._in_flight[batch.id] = task
        task.add_done_callback(lambda _t, bid=batch.id: self._in_flight.pop(bid, None))

    async def _send(self, batch: ClaimedBatch) -> None:
        started = time.perf_counter()
        result = await self.client.trigger(batch.dag_id, batch.dag_run_id, batch.conf)
        metrics.DISPATCH_LATENCY.observe(time.perf_counter() - started)
        metrics.DISPATCH_OUTCOMES.labels(result.outcome.value).inc()
        if result.outcome is Outcome.RETRY and self.adaptive:
            self.window.decrease(time.time(), f"trigger failed: {result.detail[:80]}")
        try:
            children = await asyncio.to_thread(self._record, batch, result)
        except Exception:
            # The lease expires and the batch is re-sent with the same run id (409 then).
            log.exception("recording the outcome of batch %s failed", batch.id)
        else:
            for child in children:
                self._start(child)
            self.wake()  # a slot is free

    def _record(self, batch: ClaimedBatch, result: TriggerResult) -> list[ClaimedBatch]:
        """Store the outcome (only while this dispatcher holds the lease); returns the
        halves of a refused batch, to be sent next."""
        now = time.time()
        if result.outcome in (Outcome.CREATED, Outcome.EXISTS):
            done = self.store.mark_dispatched(batch.id, self.owner, now, None, track=self.adaptive)
            if done:
                metrics.BATCH_DELAY.observe(max(0.0, now - batch.created_at))
                log.info(
                    "batch %s (%d events) -> %s run %s: %s",
                    batch.id,
                    len(batch.conf["events"]),
                    batch.dag_id,
                    batch.dag_run_id,
                    result.detail,
                )
        elif result.outcome is Outcome.REFUSED:
            children = self.store.split_batch(
                batch, self.owner, now, result.detail, self.settings.lease_seconds
            )
            if children is not None:
                self._log_refusal(batch, children, result.detail)
                return children
            done = False
        elif result.outcome is Outcome.DEAD:
            done = self._dead(batch, now, result.detail)
        else:
            done = self._retry_or_give_up(batch, now, result)
        if not done:
            log.warning("batch %s: lease lost to another dispatcher, outcome dropped", batch.id)
        return []

    def _log_refusal(self, batch: ClaimedBatch, children: list[ClaimedBatch], why: str) -> None:
        if children:
            log.warning("batch %s refused, split in two (%s)", batch.id, why)
        else:
            log.warning("event of batch %s dead-lettered: %s", batch.id, why)

    def _dead(self, batch: ClaimedBatch, now: float, reason: str) -> bool:
        done = self.store.mark_dead(batch.id, self.owner, now, reason)
        if done:
            log.warning("batch %s dead-lettered: %s", batch.id, reason)
        return done

    def _retry_or_give_up(self, batch: ClaimedBatch, now: float, result: TriggerResult) -> bool:
        """Retry with backoff; transient refusals (404 while a DAG is parsed, import errors)
        for `transient_retry_seconds`, unavailability for `retry_give_up_hours`."""
        attempt = batch.attempts + 1
        age = now - batch.created_at
        limit = (
            self.settings.transient_retry_seconds
            if result.outcome is Outcome.TRANSIENT
            else self.settings.retry_give_up_hours * 3600
        )
        if age > limit:
            reason = f"gave up after {attempt} attempts in {age:.0f}s: {result.detail}"
            return self._dead(batch, now, reason)
        delay = backoff_seconds(
            attempt,
            self.settings.retry_base_seconds,
            self.settings.retry_max_seconds,
            result.retry_after,
        )
        done = self.store.mark_retry(batch.id, self.owner, now + delay, result.detail)
        if done:
            log.warning(
                "batch %s attempt %d failed (%s); next try in %.1fs",
                batch.id,
                attempt,
                result.detail,
                delay,
            )
        return done
