"""The background worker that delivers events to webhook subscriptions, at least once.

It drains the `deliveries` outbox: each due delivery is POSTed as a thin event, signed with
the subscription's secret, and every attempt is recorded. A 2xx ends the delivery; anything
else (an error status, a refused connection, a timeout) schedules a retry with exponential
backoff until `max_attempts`, after which the delivery is `failed`. The event id is the
`webhook-id` of every attempt, so a receiver can deduplicate. The `duplicate_rate`,
`reorder_window` and `delivery_concurrency` knobs act here: with a concurrency above 1, that
many deliveries are kept in flight and their outcomes recorded in groups, one transaction each.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import select

from sandbox.acme.models import Delivery, DeliveryAttempt, Event, WebhookSubscription
from sandbox.acme.schemas import MAX_DELIVERY_CONCURRENCY, AcmeFaults
from sandbox.acme.signing import sign
from sandbox.common.db import Database, iso, utcnow
from sandbox.common.faults import FaultState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 1.0
    max_seconds: float = 300.0
    max_attempts: int = 10

    def delay(self, attempts_so_far: int) -> float:
        """Exponential backoff with jitter: base * 2^(n-1), capped, times 0.75..1.0."""
        raw = self.base_seconds * 2 ** max(0, attempts_so_far - 1)
        return min(self.max_seconds, raw) * random.uniform(0.75, 1.0)


@dataclass(frozen=True)
class _Due:
    delivery_seq: int
    attempt_count: int
    url: str
    secret: str
    message_id: str
    body: bytes


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    error: str | None
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class DeliveryWorker:
    """A daemon thread draining the outbox; `wake()` after a commit makes it look at once."""

    def __init__(
        self,
        db: Database,
        faults: FaultState[AcmeFaults],
        policy: RetryPolicy,
        *,
        timeout_seconds: float = 10.0,
        batch_size: int = 100,
    ) -> None:
        self.db = db
        self.faults = faults
        self.policy = policy
        self.batch_size = batch_size
        self._client = httpx.Client(
            timeout=timeout_seconds,
            follow_redirects=False,
            headers={"user-agent": "AcmeERP-Webhooks/1.0 (sandbox)"},
        )
        self._posters = ThreadPoolExecutor(
            MAX_DELIVERY_CONCURRENCY, thread_name_prefix="acme-delivery-post"
        )
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="acme-delivery", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wakeup.set()
        self._thread.join(timeout=15)
        self._posters.shutdown(wait=True, cancel_futures=True)
        self._client.close()

    def wake(self) -> None:
        self._wakeup.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if self.deliver_due() >= self.batch_size:
                    continue  # a full round: more is likely due, so do not wait for a wake-up
            except Exception:
                log.exception("delivery round failed; retrying shortly")
            self._wakeup.wait(timeout=0.1)
            self._wakeup.clear()

    def deliver_due(self) -> int:
        """Send what is due now (one round); returns how many deliveries were attempted."""
        settings = self.faults.settings
        due = self._load_due()
        if settings.reorder_window > 1 and due:
            if len(due) < settings.reorder_window and not self._oldest_waited(due, settings):
                return 0
            due = due[: settings.reorder_window]
            random.shuffle(due)
        if settings.delivery_concurrency == 1:
            for item in due:
                if self._stopping.is_set():
                    break
                self._record([self._attempt_delivery(item)])
        else:
            self._deliver_concurrently(due, settings.delivery_concurrency)
        return len(due)

    def _deliver_concurrently(self, due: list[_Due], in_flight: int) -> None:
        """Keep `in_flight` POSTs going; record outcomes in groups while the next ones run."""
        slots = threading.Semaphore(in_flight)

        def attempt(item: _Due) -> tuple[_Due, _Outcome, _Outcome | None]:
            try:
                return self._attempt_delivery(item)
            finally:
                slots.release()

        running: set[Future[tuple[_Due, _Outcome, _Outcome | None]]] = set()
        for item in due:
            if self._stopping.is_set():
                break
            slots.acquire()
            running.add(self._posters.submit(attempt, item))
            finished = {future for future in running if future.done()}
            if len(finished) >= in_flight:
                running -= finished
                self._record([future.result() for future in finished])
        if running:
            self._record([future.result() for future in wait(running).done])

    def _attempt_delivery(self, item: _Due) -> tuple[_Due, _Outcome, _Outcome | None]:
        """POST once (twice when the duplicate fault fires); record nothing yet."""
        outcome = self._post(item)
        duplicate = None
        if outcome.ok and self.faults.chance(self.faults.settings.duplicate_rate):
            duplicate = self._post(item)
        return item, outcome, duplicate

    def _oldest_waited(self, due: list[_Due], settings: AcmeFaults) -> bool:
        with self.db.read() as session:
            oldest = session.get_one(Delivery, due[0].delivery_seq)
        held = (utcnow() - oldest.next_attempt_at).total_seconds() * 1000
        return held >= settings.reorder_hold_ms

    def _load_due(self) -> list[_Due]:
        with self.db.read() as session:
            rows = session.execute(
                select(Delivery, Event, WebhookSubscription)
                .join(Event, Event.seq == Delivery.event_seq)
                .join(WebhookSubscription, WebhookSubscription.id == Delivery.subscription_id)
                .where(Delivery.status == "pending", Delivery.next_attempt_at <= utcnow())
                .order_by(Delivery.next_attempt_at, Delivery.seq)
                .limit(self.batch_size)
            ).tuples()
            return [
                _Due(
                    delivery_seq=delivery.seq,
                    attempt_count=delivery.attempt_count,
                    url=subscription.url,
                    secret=subscription.secret,
                    message_id=event.id,
                    body=thin_event_body(event),
                )
                for delivery, event, subscription in rows
            ]

    def _post(self, item: _Due) -> _Outcome:
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": item.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(item.secret, item.message_id, timestamp, item.body),
        }
        started = time.perf_counter()
        try:
            response = self._client.post(item.url, content=item.body, headers=headers)
        except httpx.HTTPError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return _Outcome(None, f"{type(exc).__name__}: {exc}"[:500], elapsed)
        elapsed = (time.perf_counter() - started) * 1000
        error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        return _Outcome(response.status_code, error, elapsed)

    def _record(self, results: list[tuple[_Due, _Outcome, _Outcome | None]]) -> None:
        """Record the attempts of one chunk, and schedule retries, in one transaction."""
        now = utcnow()
        with self.db.write() as session:
            # One query for the chunk: a `get` per item would autoflush the attempts added so far.
            wanted = [item.delivery_seq for item, _, _ in results]
            deliveries = {
                d.seq: d for d in session.scalars(select(Delivery).where(Delivery.seq.in_(wanted)))
            }
            for item, outcome, duplicate in results:
                delivery = deliveries.get(item.delivery_seq)
                if delivery is None:  # wiped by a reset while in flight
                    continue
                delivery.attempt_count += 1
                session.add(_attempt(delivery, delivery.attempt_count, now, outcome, False))
                if duplicate is not None:
                    session.add(_attempt(delivery, delivery.attempt_count, now, duplicate, True))
                if delivery.status != "pending":  # cancelled meanwhile: keep the record only
                    continue
                if outcome.ok:
                    delivery.status = "delivered"
                    delivery.completed_at = now
                elif delivery.attempt_count >= self.policy.max_attempts:
                    delivery.status = "failed"
                    delivery.completed_at = now
                else:
                    delay = self.policy.delay(delivery.attempt_count)
                    delivery.next_attempt_at = now + timedelta(seconds=delay)


def thin_event_body(event: Event) -> bytes:
    """The exact bytes POSTed for an event (the same on every attempt)."""
    payload = {
        "id": event.id,
        "type": event.type,
        "object_id": event.object_id,
        "occurred_at": iso(event.occurred_at),
        "account_id": event.account_id,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def _attempt(
    delivery: Delivery, number: int, at: object, outcome: _Outcome, duplicate: bool
) -> DeliveryAttempt:
    return DeliveryAttempt(
        delivery_seq=delivery.seq,
        number=number,
        attempted_at=at,
        status_code=outcome.status_code,
        error=outcome.error,
        duration_ms=round(outcome.duration_ms, 2),
        duplicate=duplicate,
    )
