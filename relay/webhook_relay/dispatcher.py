"""Turn pending events into DAG runs: form batches, lease them, trigger, record outcomes.

Runs inside `serve` or as `webhook-relay dispatch` processes (several on PostgreSQL).
Claims never exceed free sending slots, so a lease only ticks while its batch is in flight.
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
from webhook_relay.settings import RelaySettings
from webhook_relay.store.repository import ClaimedBatch, Store

log = logging.getLogger(__name__)


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
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for work now instead of at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        log.info("dispatcher %s started", self.owner)
        poll = self.settings.dispatch_poll_ms / 1000
        while not stop.is_set():
            try:
                await self._cycle()
            except Exception:
                log.exception("dispatch cycle failed; retrying")
                await asyncio.sleep(1.0)
            self._wake.clear()
            stop_wait = asyncio.ensure_future(stop.wait())
            wake_wait = asyncio.ensure_future(self._wake.wait())
            await asyncio.wait(
                {stop_wait, wake_wait}, timeout=poll, return_when=asyncio.FIRST_COMPLETED
            )
            stop_wait.cancel()
            wake_wait.cancel()
        await self._drain()

    async def _drain(self, timeout: float = 10.0) -> None:
        if self._in_flight:
            await asyncio.wait(set(self._in_flight.values()), timeout=timeout)
        left = [bid for bid, task in self._in_flight.items() if not task.done()]
        for task in self._in_flight.values():
            task.cancel()
        await asyncio.to_thread(self.store.release, left, self.owner)
        log.info("dispatcher %s stopped", self.owner)

    async def _cycle(self) -> None:
        free = self.settings.dispatch_concurrency - len(self._in_flight)
        if free <= 0:
            return
        now = time.time()
        claimed = await asyncio.to_thread(
            self.store.claim_due_batches,
            owner=self.owner,
            now=now,
            lease_s=self.settings.lease_seconds,
            limit=free,
        )
        free -= len(claimed)
        if free > 0:
            claimed += await asyncio.to_thread(
                self.store.form_batches,
                owner=self.owner,
                now=now,
                max_events=self.settings.batch_max_events,
                max_wait_s=self.settings.batch_max_wait_ms / 1000,
                lease_s=self.settings.lease_seconds,
                limit=free,
            )
        for batch in claimed:
            task = asyncio.create_task(self._send(batch))
            self._in_flight[batch.id] = task
            task.add_done_callback(lambda _t, bid=batch.id: self._in_flight.pop(bid, None))

    async def _send(self, batch: ClaimedBatch) -> None:
        started = time.perf_counter()
        result = await self.client.trigger(batch.dag_id, batch.dag_run_id, batch.conf)
        metrics.DISPATCH_LATENCY.observe(time.perf_counter() - started)
        metrics.DISPATCH_OUTCOMES.labels(result.outcome.value).inc()
        try:
            await asyncio.to_thread(self._record, batch, result)
        except Exception:
            # The lease expires and the batch is re-sent with the same run id (409 then).
            log.exception("recording the outcome of batch %s failed", batch.id)
        else:
            self.wake()  # a slot is free

    def _record(self, batch: ClaimedBatch, result: TriggerResult) -> None:
        now = time.time()
        attempt = batch.attempts + 1
        if result.outcome in (Outcome.CREATED, Outcome.EXISTS):
            self.store.mark_dispatched(batch.id, now, None)
            metrics.BATCH_DELAY.observe(max(0.0, now - batch.created_at))
            log.info(
                "batch %s (%d events) -> %s run %s: %s",
                batch.id,
                len(batch.conf["events"]),
                batch.dag_id,
                batch.dag_run_id,
                result.detail,
            )
        elif result.outcome is Outcome.DEAD:
            self.store.mark_dead(batch.id, now, result.detail)
            log.warning("batch %s dead-lettered: %s", batch.id, result.detail)
        elif now - batch.created_at > self.settings.retry_give_up_hours * 3600:
            reason = f"gave up after {attempt} attempts: {result.detail}"
            self.store.mark_dead(batch.id, now, reason)
            log.error("batch %s dead-lettered: %s", batch.id, reason)
        else:
            delay = backoff_seconds(
                attempt,
                self.settings.retry_base_seconds,
                self.settings.retry_max_seconds,
                result.retry_after,
            )
            self.store.mark_retry(batch.id, self.owner, now + delay, result.detail)
            log.warning(
                "batch %s attempt %d failed (%s); next try in %.1fs",
                batch.id,
                attempt,
                result.detail,
                delay,
            )
